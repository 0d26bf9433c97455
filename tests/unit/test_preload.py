"""The fork server's preload (decision 0022): loads the suites, starts no thread."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import threading
import hotich.airflow.preload
from hotich import validate
print(threading.active_count(), validate._load_suites.cache_info().currsize)
"""


def test_preload_loads_the_suites_and_starts_no_thread() -> None:
    """Forking after a thread started is unsafe: the preload must leave one thread, and
    the suites loaded for the forked validate tasks."""
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300, check=True
    )
    threads, suites_loaded = out.stdout.split()[-2:]
    assert (threads, suites_loaded) == ("1", "1"), out.stdout + out.stderr
