"""The process ``make run`` starts for its DAG run (``docs/decisions/0015``).

``python -m hotich_dev.dagrun dags test hotich_reconcile --use-executor ...`` is Airflow's
own command line, with two things done first:

- the modules every task needs (pandas, pyarrow, SQLAlchemy, Great Expectations, the
  pipeline's stages) are imported once here. The LocalExecutor forks its workers from
  this process and each task process is forked from a worker (Linux), so a task starts
  with them already imported instead of importing them again (seconds per task);
- every process forked from here (the executor's workers, their task processes) is
  killed when the process that forked it dies (``PR_SET_PDEATHSIG``): when ``make run``
  kills this process, no task goes on to commit a district's load after its run was
  marked failed.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys

# What the tasks of hotich_reconcile import; imported before the executor forks.
WARM_MODULES = (
    "pandas",
    "pyarrow",
    "pyarrow.parquet",
    "sqlalchemy",
    "psycopg2",
    "requests",
    "great_expectations",
    "hotich.pipeline",
    "hotich.validate",
    "hotich.reconcile",
    "hotich.load",
    "hotich.register.client",
    "hotich.feedback.stage",
)


def _die_with_parent() -> None:
    """In a forked child: be killed when the parent (its forking thread) dies."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def warm_imports() -> None:
    """Import :data:`WARM_MODULES` (Great Expectations with its chatter silenced)."""
    from hotich.validate import _quiet_gx

    _quiet_gx()
    for name in WARM_MODULES:
        importlib.import_module(name)
    _quiet_gx()  # GX sets one of its loggers back to INFO at import
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


class _NoIdleLoopNotes(logging.Filter):
    """Drops the test loop's "No tasks to run" line, logged every second while tasks run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No tasks to run")


def main(argv: list[str]) -> int:
    """Airflow's CLI with ``argv``, after :func:`warm_imports`, children dying with it."""
    if sys.platform.startswith("linux"):
        os.register_at_fork(after_in_child=_die_with_parent)
    warm_imports()
    logging.getLogger("airflow.sdk.definitions.dag").addFilter(_NoIdleLoopNotes())
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", *argv]
    airflow_main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
