"""Where a benchmark's CPU goes, per process kind, per PostgreSQL statement and (with
py-spy) per function.

Three views of one run, each started around the work it measures:

- ``CpuLedger``: every second, the CPU time (user + system) of this process's descendants
  and of the machine's PostgreSQL and MariaDB servers, kept per process (its last value, so
  a process that ends keeps what it used), summed per kind: the scheduler, the api-server,
  the dag-processor, the triggerer, the executor's workers (a task's supervisor), the task
  processes, the register simulator, the databases. ``None`` of it needs root.
- ``PySpy``: ``py-spy record --subprocesses`` on one process (the scheduler, whose
  descendants are the task processes), raw collapsed stacks; ``top_functions`` sums them
  into self and inclusive seconds per function. py-spy is a bench-only dependency
  (``benchmarks/requirements.txt``); without it the CPU ledger still runs.
- ``PgActivity``: ``pg_stat_activity`` read every 0.2 s, the active backends counted per
  database kind, wait event and statement (``top``: estimated seconds each).
"""

from __future__ import annotations

import collections
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

import psutil

# A process's kind, from its command line (Airflow sets readable process titles).
# An executor's worker supervises the task it runs ("airflow worker -- LocalExecutor: <id>");
# the task itself is a process forked from it ("airflow worker -- <ti id>").
KINDS: tuple[tuple[str, str], ...] = (
    ("LocalExecutor", "executor worker (task supervisor)"),
    ("airflow supervisor:", "executor worker (task supervisor)"),
    ("airflow task supervisor", "executor worker (task supervisor)"),
    ("celery", "executor worker (task supervisor)"),
    ("airflow worker -- ", "task process"),
    ("serve-logs", "serve-logs"),
    ("forkserver", "fork server"),  # before the services: its sys.path names AIRFLOW_HOME
    ("airflow scheduler", "scheduler"),
    ("api-server", "api-server"),
    ("api_server", "api-server"),
    ("dag-processor", "dag-processor"),
    ("dag_processor", "dag-processor"),
    ("airflow triggerer", "triggerer"),
    ("population_api", "register simulator"),
    ("postgres", "PostgreSQL"),
    ("mariadb", "MariaDB"),
    ("mysqld", "MariaDB"),
    ("hotich_dev.run", "make run (dags test)"),
    ("dags test", "make run (dags test)"),
)


def kind_of(cmdline: str) -> str:
    """The kind of a process, from its command line or title; a PostgreSQL backend by the
    database it serves (its title: ``postgres: <user> <database> <client> <state>``)."""
    words = [w for w in cmdline.split()[1:] if not w.endswith(":")]  # "15/main:" too
    if (
        cmdline.startswith("postgres: ")
        and len(words) > 2
        and ("(" in words[2] or words[2] == "[local]")
    ):
        return database_kind(words[1])
    for needle, kind in KINDS:
        if needle in cmdline:
            return kind
    return "other"


def database_kind(database: str) -> str:
    """A PostgreSQL database's kind: Airflow's metadata, the national one, or a source."""
    if database.startswith("airflow"):
        return "PostgreSQL: Airflow's metadata database"
    if database.startswith(("hotich_bench_run", "civil_status")):
        return "PostgreSQL: the national database"
    return "PostgreSQL: other databases (district sources)"


class _Polling:
    """A background thread that runs ``_run`` while the block runs (``_stop`` ends it);
    ``_begin`` and ``_end`` run before it starts and after it has stopped."""

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def _begin(self) -> None:
        """Before the thread starts."""

    def _end(self) -> None:
        """After the thread has stopped."""

    def __enter__(self) -> Self:
        self._begin()
        self._thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._end()


class CpuLedger(_Polling):
    """CPU seconds per process kind while the block runs (polled every ``interval_s``):
    this process's descendants, those of ``roots`` (services started apart, such as
    ``make up``'s), and the database servers; and each kind's largest resident set seen
    (:meth:`peak_rss_per_kind`)."""

    def __init__(self, roots: tuple[int, ...] = (), interval_s: float = 1.0) -> None:
        self.roots, self.interval_s = roots, interval_s
        self._seen: dict[int, tuple[str, float, float]] = {}  # pid -> kind, create, cpu
        self._start: dict[int, float] = {}
        self._peak_rss: dict[str, int] = {}  # kind -> bytes
        super().__init__("cpu-ledger")

    def _processes(self) -> list[psutil.Process]:
        procs = psutil.Process().children(recursive=True)
        for pid in self.roots:
            try:
                root = psutil.Process(pid)
                procs += [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        own = {p.pid for p in procs}
        for p in psutil.process_iter(["name"]):
            if p.info["name"] in ("postgres", "mariadbd", "mysqld") and p.pid not in own:
                procs.append(p)
        return procs

    def _sample(self, first: bool = False) -> None:
        for p in self._processes():
            try:
                with p.oneshot():
                    cpu = sum(p.cpu_times()[:2])
                    created = p.create_time()
                    title = " ".join(p.cmdline()) or p.name()
                    rss = p.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            prev = self._seen.get(p.pid)
            if prev is not None and prev[1] != created:  # a reused pid: a new process
                self._start.pop(p.pid, None)
            if first:
                self._start[p.pid] = cpu
            # The latest title: a forked child carries its parent's until it sets its own.
            kind = kind_of(title)
            self._seen[p.pid] = (kind, created, cpu)
            self._peak_rss[kind] = max(self._peak_rss.get(kind, 0), rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _begin(self) -> None:
        self._sample(first=True)

    def _end(self) -> None:
        self._sample()

    def peak_rss_per_kind(self) -> dict[str, int]:
        """The largest resident set (bytes) one process of each kind had at a poll, largest
        first. Pages a forked task shares with its fork server count in it: an upper bound
        of what the task itself holds."""
        return dict(sorted(self._peak_rss.items(), key=lambda kv: -kv[1]))

    def per_kind(self) -> dict[str, float]:
        """CPU seconds used during the block, per process kind, largest first."""
        sums: collections.defaultdict[str, float] = collections.defaultdict(float)
        for pid, (kind, _created, cpu) in self._seen.items():
            sums[kind] += cpu - self._start.get(pid, 0.0)
        return dict(_largest(sums))


class PySpy:
    """``py-spy record --subprocesses`` on ``pid`` while the block runs (raw stacks)."""

    def __init__(self, pid: int, out: Path, rate: int = 10) -> None:
        self.pid, self.out, self.rate = pid, out, rate
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> str | None:
        """The py-spy executable, or None."""
        return shutil.which("py-spy") or shutil.which(
            "py-spy", path=str(Path(sys.executable).parent)
        )

    def __enter__(self) -> PySpy:
        exe = self.available()
        if exe is None:
            raise SystemExit(
                "py-spy is not installed: uv pip install -r benchmarks/requirements.txt"
            )
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(  # noqa: S603 - our own tool, fixed arguments
            [exe, "record", "--subprocesses", "--nonblocking", "--rate", str(self.rate),
             "--format", "raw", "--output", str(self.out), "--pid", str(self.pid)],
            stdout=subprocess.DEVNULL, stderr=open(self.out.with_suffix(".log"), "wb"),  # noqa: SIM115
        )  # fmt: skip
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# The frames every task's stack passes through (the executor, the supervisor, the operator):
# left out of the inclusive list, which would otherwise open with them.
PLUMBING = (
    "multiprocessing/", "airflow/sdk/execution_time/", "airflow/executors/", "contextlib",
    "standard/operators/python.py", "airflow/sdk/bases/", "<module>", "threading.py",
)  # fmt: skip


# py-spy's frame for a process: ``process 12:"its command line"`` (which may hold ``;``).
PROCESS_FRAME = re.compile(r'process \d+:"[^"]*";?')


def top_functions(raw: Path, rate: int, n: int = 25) -> tuple[list[tuple[str, float]], ...]:
    """A py-spy raw file's (function, seconds) by inclusive time (the plumbing left out),
    by self time, and the samples' seconds per process (its command line's kind).

    A raw line is ``process N:"cmdline";frame;...;frame count``, outermost first; each frame
    ``function (file:line)``. Inclusive time counts a function once per stack."""
    self_s: collections.defaultdict[str, float] = collections.defaultdict(float)
    incl_s: collections.defaultdict[str, float] = collections.defaultdict(float)
    per_process: collections.defaultdict[str, float] = collections.defaultdict(float)
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        seconds = int(count) / rate
        processes = PROCESS_FRAME.findall(stack)  # a frame per process, outermost first
        per_process[kind_of(processes[-1]) if processes else "other"] += seconds
        frames = [_short(f) for f in PROCESS_FRAME.sub("", stack).split(";") if f]
        if not frames:
            continue
        self_s[frames[-1]] += seconds
        for f in set(frames):
            if not any(p in f for p in PLUMBING):
                incl_s[f] += seconds
    return _largest(incl_s, n), _largest(self_s, n), _largest(per_process)


def _largest(seconds: dict[str, float], n: int | None = None) -> list[tuple[str, float]]:
    """(key, seconds), largest first; the first ``n`` of them."""
    return sorted(seconds.items(), key=lambda kv: -kv[1])[:n]


def _short(frame: str) -> str:
    """``function (path/to/site-packages/pkg/mod.py:12)`` -> ``function (pkg/mod.py)``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/devkit/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})" if path else name


def statement_label(query: str, width: int = 90) -> str:
    """A query's label: its text without comments, whitespace collapsed, the first
    ``width`` characters (a multi-statement file is labelled by its first statement)."""
    text = " ".join(line.split("--", 1)[0] for line in query.splitlines())
    return " ".join(text.split())[:width] or "(empty)"


class PgActivity(_Polling):
    """What PostgreSQL's backends are busy with while the block runs: ``pg_stat_activity``
    read every ``interval_s`` on each server, the active backends counted per database kind
    (``database_kind``'s: metadata, national, district sources), statement and wait event. A
    count times the interval is an estimate of the seconds spent, a backend that waits on a
    lock or on I/O included (its wait event says so)."""

    QUERY = (
        "SELECT datname, coalesce(wait_event_type || ':' || wait_event, 'CPU'), query"
        "  FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()"
        "   AND backend_type = 'client backend'"
    )

    def __init__(self, uris: tuple[str, ...], interval_s: float = 0.2) -> None:
        self.uris, self.interval_s = uris, interval_s
        self.samples: collections.Counter[tuple[str, str, str]] = collections.Counter()
        super().__init__("pg-activity")

    def _run(self) -> None:
        import psycopg2

        conns = [psycopg2.connect(uri) for uri in self.uris]
        for c in conns:
            c.autocommit = True
        try:
            while not self._stop.wait(self.interval_s):
                for c in conns:
                    with c.cursor() as cur:
                        cur.execute(self.QUERY)
                        for datname, wait, query in cur.fetchall():
                            kind = database_kind(datname or "")
                            self.samples[(kind, wait, statement_label(query))] += 1
        finally:
            for c in conns:
                c.close()

    def top(self, n: int = 20) -> list[tuple[str, float]]:
        """(``kind | wait | statement``, estimated seconds), largest first."""
        seconds = {" | ".join(k): c * self.interval_s for k, c in self.samples.items()}
        return _largest(seconds, n)
