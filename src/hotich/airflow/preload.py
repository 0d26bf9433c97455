"""What the scheduler's task processes import once, ahead of their tasks.

Named in ``[scheduler] mp_forkserver_preload`` with ``[scheduler] mp_start_method =
forkserver`` (Airflow 3.3; the dev kit's ``make up`` sets both, a deployment may too): the
LocalExecutor's worker processes are then started from a fork server that has imported
these modules, and each task process, forked from a worker, starts with them loaded. A
district task otherwise spends most of its time importing: Great Expectations alone took
21 s to import under load 15 on 2 cores, pandas and pyarrow 4 s, the stages 10 s
(``benchmarks/RESULTS.md``, decision 0022).

Importing this module imports, and loads the validation suites: it opens no connection and
starts no thread (forking after a thread started is unsafe). A change to ``src/hotich`` reaches the tasks after the
scheduler restarts (``make down && make up``).
"""

from __future__ import annotations

import gc

import great_expectations  # noqa: F401 - the heaviest import of a validate task
import openpyxl  # noqa: F401 - workbook districts and fix lists
import pyarrow.parquet  # noqa: F401 - the work files

# The DAGs' tasks and, through them, the stages; send_back's feedback; and what the plugin
# (plugins/hotich_plugin.py), which Airflow loads in every task process too, imports: its
# pages and, through hotich.airflow.access, Airflow's own FastAPI app (4 s).
import hotich.airflow.access  # noqa: F401
import hotich.airflow.tasks  # noqa: F401
import hotich.feedback.stage  # noqa: F401
import hotich.ops.dashboard  # noqa: F401
import hotich.ops.gate_page  # noqa: F401
from hotich import validate

# The GX context and the suites (about 4 s of a validate task's first call): built here once,
# so that each forked validate task starts with them. Neither opens a connection nor starts
# a thread (a validate call does: GX's progress bars start tqdm's monitor thread).
validate.load_suites()

# The garbage collector, for tasks that build columns of a million Python objects (decision
# 0026): what was imported above is frozen (never traversed again, and its pages stay
# shared with the fork server instead of being copied when a collection touches them), and
# the youngest generation is collected every 50,000 new objects instead of every 700. The
# older generations keep their thresholds, and full collections their rule (a quarter more
# long-lived objects), so that memory held by cycles is still given back.
YOUNG_GENERATION_THRESHOLD = 50_000
gc.freeze()
gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])
