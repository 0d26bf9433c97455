"""The fork server's preload (decisions 0022, 0026): loads the suites, starts no thread,
freezes what it imported and collects the youngest generation less often."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import gc
import threading
import hotich.airflow.preload
from hotich import validate
print(threading.active_count(), validate._load_suites.cache_info().currsize)
print(gc.get_freeze_count() > 100_000, gc.get_threshold())
"""


def test_preload_loads_the_suites_and_starts_no_thread() -> None:
    """Forking after a thread started is unsafe: the preload must leave one thread, and
    the suites loaded for the forked validate tasks."""
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300, check=True
    )
    threads, suites_loaded = out.stdout.splitlines()[-2].split()
    assert (threads, suites_loaded) == ("1", "1"), out.stdout + out.stderr
    # What the preload imported (Airflow, GX, pandas: hundreds of thousands of objects) is
    # frozen, and a task's new objects are collected 50,000 at a time.
    assert out.stdout.splitlines()[-1] == "True (50000, 10, 10)", out.stdout + out.stderr
