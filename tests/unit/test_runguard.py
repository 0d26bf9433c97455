"""Whose runs are left behind: a ``make run`` marker names one live process, and stops
naming it once the process is gone or its pid belongs to another process."""

from __future__ import annotations

import subprocess
import sys

from hotich_dev.runguard import owner_gone, owner_marker, process_start


def test_a_live_make_run_owns_its_runs():
    assert owner_gone(owner_marker()) is False
    assert process_start(1) is not None


def test_a_gone_make_run_and_a_reused_pid_are_told_apart():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        marker = owner_marker(child.pid)
        assert owner_gone(marker) is False
        # The same pid, started at another time: another process (a pid reused).
        assert owner_gone({**marker, "started": str(int(marker["started"]) - 1)}) is True
    finally:
        child.kill()
        child.wait()
    assert owner_gone(marker) is True


def test_a_make_run_of_another_host_is_never_judged_gone():
    assert owner_gone({"host": "another-host.invalid", "pid": 999_999_999, "started": "1"}) is False
