"""One typed configuration for the whole platform.

Everything tunable lives here, read from the environment once (``Settings.from_env``),
so that tasks, the CLI and the benchmarks agree. Names of environment variables are the
contract's (``HOTICH_DISTRICTS_FILE``, ``HOTICH_PROVINCE_CODE``) or ``HOTICH_*``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hotich.model import BATCH_GET_MAX_IDS, MATCH_MAX_QUERIES, Flavor

TIMEZONE = "Asia/Ho_Chi_Minh"


def project_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the project's files are: ``include/`` (SQL, config, contracts), ``expectations/``.

    ``HOTICH_PROJECT_DIR`` when set (the compose image: ``/opt/airflow``); else the source
    tree this package is installed from in development (``pip install -e .``); else the
    working directory. ``docs/decisions/0001-layout.md`` says why the files stay there.
    """
    given = (os.environ if env is None else env).get("HOTICH_PROJECT_DIR")
    if given:
        return Path(given)
    source_tree = Path(__file__).resolve().parents[2]
    return source_tree if (source_tree / "include" / "sql").is_dir() else Path.cwd()


PROJECT_DIR = project_dir()


class ConfigError(ValueError):
    """The configuration is wrong; the message names the file and the entry."""


@dataclass(frozen=True)
class District:
    """One district-level unit of the districts file."""

    code: str
    name: str
    flavor: Flavor
    conn_id: str | None = None
    inbox: Path | None = None
    # Where the district's fix list and report are mailed (optional; hotich.feedback.mail).
    email: str | None = None

    @property
    def label(self) -> str:
        """A short label for logs and task ids: ``260 Tiên Du``."""
        return f"{self.code} {self.name}"


@dataclass(frozen=True)
class Phase:
    """A phase of the digitization campaign: the entries registered in its years."""

    name: str
    target_entries: int
    first_year: int | None = None  # None: from the oldest book
    last_year: int | None = None  # None: to the newest
    deadline: dt.date | None = None
    # The day the phase starts: from it the districts are expected to send records (a
    # district that has sent none for ``silent_district_days`` is silent); None: open from
    # the first record a district sends.
    opens: dt.date | None = None

    def is_open(self, today: dt.date) -> bool:
        """Whether districts are expected to send this phase's records on ``today``:
        opened (``opens``) and its deadline not passed."""
        return (self.opens is None or today >= self.opens) and (
            self.deadline is None or today <= self.deadline
        )

    def covers(self, year: int) -> bool:
        """Whether an entry registered in ``year`` belongs to this phase."""
        return (self.first_year is None or year >= self.first_year) and (
            self.last_year is None or year <= self.last_year
        )


@dataclass(frozen=True)
class Campaign:
    """The campaign's phases and targets (``include/config/campaign.yaml``)."""

    name: str
    phases: tuple[Phase, ...]
    # Where the province's report is mailed (``province_email``; optional).
    province_email: str | None = None
    # The daily run hotich_reconcile is late when not finished by this local time
    # (Asia/Ho_Chi_Minh) of the day it is scheduled for: a ``late_run`` incident.
    late_run_by: dt.time = dt.time(6, 0)
    # A district that sent no new or changed record for this many days while a phase is
    # open is silent: a ``silent_district`` incident (0: not watched).
    silent_district_days: int = 7


@dataclass(frozen=True)
class RegisterSettings:
    """How the population register is called: pacing, retries, giving up (docs/register-api.md).

    The one set of register settings: ``Settings.register`` (from the environment), which
    the register client takes as it is.
    """

    conn_id: str = "population_api"
    """The Airflow connection of the register (``http://<client_id>:<secret>@host:port``)."""

    timeout_s: float = 30.0
    """Read timeout of one HTTP request."""
    connect_timeout_s: float = 5.0
    max_concurrency: int = 8
    """Batches in flight at once (and size of the connection pool)."""
    max_retries: int = 6
    """Retries of one request after 5xx, connection errors or timeouts."""
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    retry_budget_s: float = 300.0
    """Longest one request may spend waiting (Retry-After and backoff) before giving up."""
    breaker_threshold: int = 10
    """Consecutive failures (5xx, connection errors) that open the circuit."""
    breaker_cooldown_s: float = 30.0
    token_refresh_margin_s: float = 60.0
    """Refresh the token this long before it expires (at most a fifth of its lifetime)."""
    batch_size: int = BATCH_GET_MAX_IDS
    match_batch_size: int = MATCH_MAX_QUERIES
    progress_every_s: float = 30.0
    """While batches are in flight, log how many are done this often (long runs under a quota)."""
    share_answers: bool = True
    """Ask each ID and each match query once per run across districts, through the run's
    answer store in the national database (``hotich.register.shared``;
    ``HOTICH_REGISTER_SHARE_ANSWERS``, decision 0015)."""
    answer_wait_s: float = 120.0
    """How long a district waits for keys another district claimed without seeing any of
    them answered; then it takes the claims over and asks the register itself
    (``HOTICH_REGISTER_ANSWER_WAIT_S``)."""
    answer_poll_s: float = 0.5
    """How often a waiting district looks for the answers it waits for."""
    answer_chunk: int = 10_000
    """Claimed keys asked (and their answers written) this many at a time, so that waiting
    districts get the first answers early."""

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= BATCH_GET_MAX_IDS:
            raise ValueError(f"batch_size must be within 1..{BATCH_GET_MAX_IDS}")
        if not 1 <= self.match_batch_size <= MATCH_MAX_QUERIES:
            raise ValueError(f"match_batch_size must be within 1..{MATCH_MAX_QUERIES}")
        if self.max_concurrency < 1 or self.breaker_threshold < 1 or self.max_retries < 0:
            raise ValueError("max_concurrency and breaker_threshold >= 1, max_retries >= 0")
        if self.answer_wait_s <= 0 or self.answer_poll_s <= 0 or self.answer_chunk < 1:
            raise ValueError("answer_wait_s and answer_poll_s > 0, answer_chunk >= 1")


@dataclass(frozen=True)
class Settings:
    """The platform's settings; build with :meth:`from_env`."""

    districts_file: Path = PROJECT_DIR / "include" / "config" / "districts.yaml"
    campaign_file: Path = PROJECT_DIR / "include" / "config" / "campaign.yaml"
    province_code: str = "027"
    province_codes_file: Path = PROJECT_DIR / "include" / "contracts" / "province_codes.csv"
    sql_dir: Path = PROJECT_DIR / "include" / "sql"
    templates_dir: Path = PROJECT_DIR / "include" / "templates"
    expectations_dir: Path = PROJECT_DIR / "expectations"
    data_dir: Path = PROJECT_DIR / "data"
    civil_status_conn_id: str = "civil_status_db"
    # An HTTP(S) webhook that receives each incident as JSON (optional; docs/reliability.md).
    alerts_conn_id: str = "hotich_alerts"
    # Incidents by email (docs/reliability.md): the SMTP connection (host, port, login; its
    # extra's from_email, disable_tls, disable_ssl) and who receives them
    # (HOTICH_ALERTS_EMAIL_TO, comma-separated; none: no email).
    smtp_conn_id: str = "hotich_smtp"
    alerts_email_to: tuple[str, ...] = ()
    # An open incident's severity rises one level once it has concerned this many runs
    # (HOTICH_INCIDENT_ESCALATE_RUNS; 0: never): a district down for three days is more
    # urgent than for one.
    incident_escalate_runs: int = 3
    # A message about an incident that a channel did not take is tried again at each next
    # incident event, this many times in all (HOTICH_INCIDENT_NOTICE_ATTEMPTS).
    incident_notice_attempts: int = 5
    # A district's register calls in a run that finished are "degraded" (an incident of low
    # severity) from this many retries, 429 answers or circuit-breaker openings
    # (HOTICH_REGISTER_DEGRADED_RETRIES, _429S, _BREAKER_OPENS; 0: not watched). A healthy
    # run of the whole province retries a handful of times (benchmarks/RESULTS.md).
    register_degraded_retries: int = 50
    register_degraded_429s: int = 20
    register_degraded_breaker_opens: int = 1
    # A quality spike (hotich.quality; an incident of medium severity): a district's
    # quarantine rate in a run over this multiple of its median over its last runs, or a
    # reason code failing a share of records it never reached in them; either at least the
    # floor (a share of records). Runs of fewer records are not judged, nor a district
    # with fewer past runs than min_history (HOTICH_QUALITY_SPIKE_*).
    quality_spike_multiple: float = 3.0
    quality_spike_floor: float = 0.05
    quality_spike_runs: int = 14
    quality_spike_min_records: int = 20
    quality_spike_min_history: int = 3
    # Records per chunk of the extract, the reconcile step and the load: their memory is
    # bounded by it, not by the district size (188k records read in 0.38 GB at 20k, 0.66 GB
    # at 50k: benchmarks/RESULTS.md; decision 0016).
    chunk_rows: int = 20_000
    # Re-read this far behind a modern district's watermark: long transactions commit
    # rows stamped slightly earlier than rows already read (docs/district-sources.md).
    watermark_lookback_minutes: int = 60
    # Workbook inbox limits (hotich.extract.workbook.WorkbookLimits): a file over one is
    # rejected whole, naming the limit. A campaign file of 2,000-20,000 rows is ~0.2-2 MB
    # (~3-30 MB unpacked); these leave ~5x room and keep the reader's memory bounded.
    workbook_max_file_bytes: int = 50 * 2**20
    workbook_max_unpacked_bytes: int = 100 * 2**20
    # Unpacked/packed size of any one member above 1 MiB (XML deflates ~10-30x; a bomb 1000x).
    workbook_max_compression_ratio: int = 150
    workbook_max_rows: int = 100_000
    workbook_max_cell_chars: int = 1_000
    register: RegisterSettings = field(default_factory=RegisterSettings)
    # Apply pending migrations at the start of a run (HOTICH_MIGRATE_ON_RUN; the dev kit's
    # local runs). Off in a deployment: migrating is the owner's step (python -m hotich.migrate).
    migrate_on_run: bool = False
    # Hours a district's work files holding personal data (its records, as extracted,
    # validated and reconciled) are kept after its load has committed, for debugging
    # (HOTICH_WORK_RETENTION_HOURS). 0, the default: deleted as soon as the load commits;
    # what a run left (a failed district's files) goes at the next run's plan step once
    # this has passed. docs/personal-data.md.
    work_retention_hours: float = 0.0
    # Days a run folder's files holding no personal data (GX result summaries, the run
    # report, the load markers: counts) are kept (HOTICH_RESULTS_RETENTION_DAYS).
    results_retention_days: float = 90.0
    # Where the run folders of work files live (HOTICH_WORK_STORAGE, decision 0018): unset,
    # the local folder <data_dir>/runs, as the LocalExecutor needs; else a URL of storage
    # every worker reaches, as Airflow's ObjectStoragePath reads it (``file:///shared/runs``,
    # ``s3://bucket/prefix``), through the Airflow connection HOTICH_WORK_STORAGE_CONN_ID
    # (unset: the filesystem's own credentials). Each task then copies the files it needs
    # into a scratch folder of its own and publishes what it wrote (hotich.airflow.workstore).
    work_storage: str | None = None
    work_storage_conn_id: str | None = None
    # A DAG run still going after this long is failed by the scheduler (dagrun_timeout):
    # none resumes forever, and the daily schedule (max_active_runs=1) is never blocked for
    # a day. The whole province (1.1 M records) took 187 s with two workers
    # (benchmarks/RESULTS.md) and 9 min 27 s under `airflow dags test`: 6 h is ~40x that.
    run_timeout_minutes: int = 360
    # A district's lease (hotich.lease, docs/decisions/0006): one run at a time processes
    # a district; a lease its run left behind (a crash) may be taken over after this long.
    # At least the run timeout, so that no live run's lease expires under it.
    lease_expiry_minutes: int = 360
    # The fix lists and reports sent back to the districts (hotich.feedback): the message
    # catalogue, the days an outbox run folder is kept (HOTICH_OUTBOX_RETENTION_DAYS), and
    # the retries of their mail (through smtp_conn_id, the incidents' connection too).
    messages_file: Path = PROJECT_DIR / "include" / "feedback" / "messages.vi.yaml"
    outbox_retention_days: float = 90.0
    smtp_retries: int = 3
    smtp_retry_delay_s: float = 5.0
    # An inbox file modified less than this long ago may still be being written: no run
    # reads it yet (HOTICH_INBOX_SETTLE_SECONDS; hotich.extract.workbook.still_written).
    # 0 here (a file open in an office suite is still passed over by its lock file); the
    # compose file sets 10 s, and the inbox watcher waits for a file to hold still anyway.
    inbox_settle_seconds: float = 0.0
    # How often the inbox watcher looks at the inboxes (HOTICH_INBOX_POLL_SECONDS).
    inbox_poll_seconds: float = 5.0

    def __post_init__(self) -> None:
        if (
            self.work_retention_hours < 0
            or self.results_retention_days < 0
            or self.outbox_retention_days < 0
        ):
            raise ConfigError(
                "HOTICH_WORK_RETENTION_HOURS, HOTICH_RESULTS_RETENTION_DAYS and"
                " HOTICH_OUTBOX_RETENTION_DAYS must not be negative"
            )

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Settings from the environment (``os.environ`` unless given)."""
        env = dict(os.environ if env is None else env)
        base = cls()
        data_dir = Path(env.get("HOTICH_DATA_DIR", base.data_dir))
        reg = base.register
        register = RegisterSettings(
            max_concurrency=int(env.get("HOTICH_REGISTER_CONCURRENCY", reg.max_concurrency)),
            retry_budget_s=float(env.get("HOTICH_REGISTER_RETRY_BUDGET_S", reg.retry_budget_s)),
            max_retries=int(env.get("HOTICH_REGISTER_MAX_RETRIES", reg.max_retries)),
            share_answers=env.get("HOTICH_REGISTER_SHARE_ANSWERS", "true").lower()
            not in ("0", "false", "no"),
            answer_wait_s=float(env.get("HOTICH_REGISTER_ANSWER_WAIT_S", reg.answer_wait_s)),
        )
        province = env.get("HOTICH_PROVINCE_CODE", base.province_code)
        if not (len(province) == 3 and province.isdigit()):
            raise ConfigError(f"HOTICH_PROVINCE_CODE must be three digits, got {province!r}")
        run_timeout = int(env.get("HOTICH_RUN_TIMEOUT_MINUTES", base.run_timeout_minutes))
        lease_expiry = int(env.get("HOTICH_LEASE_EXPIRY_MINUTES", base.lease_expiry_minutes))
        if run_timeout < 1 or lease_expiry < run_timeout:
            raise ConfigError(
                "HOTICH_RUN_TIMEOUT_MINUTES must be positive and HOTICH_LEASE_EXPIRY_MINUTES at"
                f" least as long (a live run's lease must not expire): got {run_timeout} and"
                f" {lease_expiry}"
            )
        return cls(
            districts_file=Path(env.get("HOTICH_DISTRICTS_FILE", base.districts_file)),
            campaign_file=Path(env.get("HOTICH_CAMPAIGN_FILE", base.campaign_file)),
            province_code=province,
            data_dir=data_dir,
            chunk_rows=int(env.get("HOTICH_CHUNK_ROWS", base.chunk_rows)),
            workbook_max_file_bytes=int(
                env.get("HOTICH_WORKBOOK_MAX_FILE_BYTES", base.workbook_max_file_bytes)
            ),
            workbook_max_unpacked_bytes=int(
                env.get("HOTICH_WORKBOOK_MAX_UNPACKED_BYTES", base.workbook_max_unpacked_bytes)
            ),
            workbook_max_compression_ratio=int(
                env.get(
                    "HOTICH_WORKBOOK_MAX_COMPRESSION_RATIO", base.workbook_max_compression_ratio
                )
            ),
            workbook_max_rows=int(env.get("HOTICH_WORKBOOK_MAX_ROWS", base.workbook_max_rows)),
            workbook_max_cell_chars=int(
                env.get("HOTICH_WORKBOOK_MAX_CELL_CHARS", base.workbook_max_cell_chars)
            ),
            register=register,
            migrate_on_run=env.get("HOTICH_MIGRATE_ON_RUN", "").lower() in ("1", "true", "yes"),
            work_retention_hours=_number(
                env, "HOTICH_WORK_RETENTION_HOURS", base.work_retention_hours
            ),
            results_retention_days=_number(
                env, "HOTICH_RESULTS_RETENTION_DAYS", base.results_retention_days
            ),
            work_storage=work_storage_url(env.get("HOTICH_WORK_STORAGE")),
            work_storage_conn_id=env.get("HOTICH_WORK_STORAGE_CONN_ID", "").strip() or None,
            run_timeout_minutes=run_timeout,
            lease_expiry_minutes=lease_expiry,
            outbox_retention_days=_number(
                env, "HOTICH_OUTBOX_RETENTION_DAYS", base.outbox_retention_days
            ),
            smtp_retry_delay_s=_number(env, "HOTICH_SMTP_RETRY_DELAY_S", base.smtp_retry_delay_s),
            inbox_settle_seconds=_number(
                env, "HOTICH_INBOX_SETTLE_SECONDS", base.inbox_settle_seconds
            ),
            inbox_poll_seconds=_number(env, "HOTICH_INBOX_POLL_SECONDS", base.inbox_poll_seconds),
            alerts_email_to=tuple(
                a.strip() for a in env.get("HOTICH_ALERTS_EMAIL_TO", "").split(",") if a.strip()
            ),
            incident_escalate_runs=int(
                _number(env, "HOTICH_INCIDENT_ESCALATE_RUNS", base.incident_escalate_runs)
            ),
            incident_notice_attempts=int(
                _number(env, "HOTICH_INCIDENT_NOTICE_ATTEMPTS", base.incident_notice_attempts)
            ),
            quality_spike_multiple=_number(
                env, "HOTICH_QUALITY_SPIKE_MULTIPLE", base.quality_spike_multiple
            ),
            quality_spike_floor=_number(
                env, "HOTICH_QUALITY_SPIKE_FLOOR", base.quality_spike_floor
            ),
            quality_spike_runs=int(
                _number(env, "HOTICH_QUALITY_SPIKE_RUNS", base.quality_spike_runs)
            ),
            quality_spike_min_records=int(
                _number(env, "HOTICH_QUALITY_SPIKE_MIN_RECORDS", base.quality_spike_min_records)
            ),
            quality_spike_min_history=int(
                _number(env, "HOTICH_QUALITY_SPIKE_MIN_HISTORY", base.quality_spike_min_history)
            ),
            register_degraded_retries=int(
                _number(env, "HOTICH_REGISTER_DEGRADED_RETRIES", base.register_degraded_retries)
            ),
            register_degraded_429s=int(
                _number(env, "HOTICH_REGISTER_DEGRADED_429S", base.register_degraded_429s)
            ),
            register_degraded_breaker_opens=int(
                _number(
                    env,
                    "HOTICH_REGISTER_DEGRADED_BREAKER_OPENS",
                    base.register_degraded_breaker_opens,
                )
            ),
        )


_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def work_storage_url(raw: str | None) -> str | None:
    """``HOTICH_WORK_STORAGE`` checked: None when unset or empty (the local folder), else a
    URL with a scheme (``file:///abs/path``, ``s3://bucket/prefix``); the error names it."""
    url = (raw or "").strip().rstrip("/")
    if not url:
        return None
    if not _URL_SCHEME.match(url):
        raise ConfigError(
            f"HOTICH_WORK_STORAGE must be a URL such as file:///shared/hotich/runs or"
            f" s3://bucket/prefix (unset: <HOTICH_DATA_DIR>/runs), got {url!r}"
        )
    if url.lower().startswith("file://") and not url[len("file://") :].startswith("/"):
        raise ConfigError(
            f"HOTICH_WORK_STORAGE: a file URL needs an absolute path (file:///shared/runs),"
            f" got {url!r}"
        )
    return url


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative number from the environment; the error names the variable."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if not value >= 0:  # also refuses nan
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


def _read_yaml(path: Path, what: str) -> object:
    try:
        # libyaml's safe loader when built in (~10x faster: the dashboard reads two files
        # per view), the same safe subset of YAML.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: {what} not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def load_districts(path: Path) -> list[District]:
    """Read and check the districts file; errors name the file and the entry."""
    doc = _read_yaml(path, "districts file")
    entries = (doc or {}).get("districts") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: expected a non-empty list under 'districts'")
    districts: list[District] = []
    for i, entry in enumerate(entries, start=1):
        where = f"{path}: district #{i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping, got {entry!r}")
        code = str(entry.get("code", "")).strip()
        if not code:
            raise ConfigError(f"{where}: 'code' is missing")
        where = f"{path}: district {code}"
        try:
            flavor = Flavor(str(entry.get("flavor", "")).strip())
        except ValueError as exc:
            raise ConfigError(
                f"{where}: flavor must be one of modern, legacy, workbook, got {entry.get('flavor')!r}"
            ) from exc
        conn_id, inbox = entry.get("conn_id"), entry.get("inbox")
        if flavor is Flavor.WORKBOOK and not inbox:
            raise ConfigError(f"{where}: a workbook district needs 'inbox'")
        if flavor is not Flavor.WORKBOOK and not conn_id:
            raise ConfigError(f"{where}: a {flavor} district needs 'conn_id'")
        districts.append(
            District(
                code=code,
                name=str(entry.get("name", code)),
                flavor=flavor,
                conn_id=str(conn_id) if conn_id else None,
                inbox=(path.parent / inbox).resolve() if inbox else None,
                email=str(entry["email"]).strip() if entry.get("email") else None,
            )
        )
    codes = [d.code for d in districts]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise ConfigError(f"{path}: district codes appear more than once: {', '.join(dupes)}")
    return districts


def load_campaign(path: Path) -> Campaign:
    """Read and check the campaign file; errors name the file and the phase."""
    doc = _read_yaml(path, "campaign file")
    body = doc.get("campaign") if isinstance(doc, dict) else None
    entries = body.get("phases") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: expected a non-empty list under 'campaign: phases'")
    phases = []
    for i, entry in enumerate(entries, start=1):
        where = f"{path}: phase #{i}"
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ConfigError(f"{where}: expected a mapping with a 'name', got {entry!r}")
        where = f"{path}: phase {entry['name']!r}"
        try:
            phase = Phase(
                name=str(entry["name"]),
                target_entries=int(entry["target_entries"]),
                first_year=None if entry.get("first_year") is None else int(entry["first_year"]),
                last_year=None if entry.get("last_year") is None else int(entry["last_year"]),
                deadline=_date_or_none(entry.get("deadline")),
                opens=_date_or_none(entry.get("opens")),
            )
        except KeyError as exc:
            raise ConfigError(f"{where}: {exc.args[0]!r} is missing") from exc
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        if phase.target_entries <= 0:
            raise ConfigError(f"{where}: target_entries must be positive")
        first, last = phase.first_year, phase.last_year
        if first is not None and last is not None and first > last:
            raise ConfigError(f"{where}: first_year is after last_year")
        phases.append(phase)
    assert isinstance(body, dict)  # entries came from it
    email = body.get("province_email")
    try:
        late = dt.time.fromisoformat(str(body.get("late_run_by") or "06:00"))
        silent = int(body.get("silent_district_days", 7))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: late_run_by (HH:MM) or silent_district_days: {exc}") from exc
    if silent < 0:
        raise ConfigError(f"{path}: silent_district_days must be 0 (not watched) or more")
    return Campaign(
        name=str(body.get("name") or "campaign"),
        phases=tuple(phases),
        province_email=str(email).strip() if email else None,
        late_run_by=late,
        silent_district_days=silent,
    )


def _date_or_none(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"deadline must be a date (YYYY-MM-DD), got {value!r}") from exc
