"""A client of the national population register's lookup API (docs/register-api.md).

Written against the contract only. What it does for its callers:

* OAuth2 client credentials: one token, fetched once, refreshed shortly before it
  expires and after a 401 (one re-authentication per request; a 401 from
  ``/oauth/token`` raises ``RegisterAuthError`` at once).
* ``batch_get`` and ``match`` de-duplicate what they are asked, cut it into the
  contract's batches (500 IDs, 100 queries) and send them concurrently over one pooled
  ``requests.Session``.
* Rate limits and announced maintenance (429, or 503 with Retry-After): the whole client
  stops sending for what Retry-After says (a gate shared by all threads), or raises
  ``RegisterUnavailable`` at once when that would outlast the request's retry budget.
* Other 5xx, connection errors and timeouts: exponential backoff with jitter, at most
  ``max_retries`` times; a circuit breaker opens after ``breaker_threshold`` consecutive
  failures and then fails fast for ``breaker_cooldown_s``.

Nothing it logs holds a credential, a token, a name or a full personal ID.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import msgspec
import numpy as np
import pandas as pd
import requests
from requests.adapters import HTTPAdapter

from hotich.config import RegisterSettings
from hotich.errors import IncidentError
from hotich.register import (
    CITIZEN_COLUMNS,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_ID_PATTERN = r"[0-9]{12}"
_YEAR_RE = re.compile(r"[0-9]{4}")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SEXES = ("Nam", "Nữ")


# --- errors ------------------------------------------------------------------------------


class RegisterError(IncidentError):
    """Any failure talking to the population register."""

    incident_kind = "register_unavailable"


class RegisterAuthError(RegisterError):
    """The register refused the credentials, or a fresh token."""

    incident_kind = "register_credentials"


class RegisterUnavailable(RegisterError):
    """The register could not be reached within the retry limits or budget."""


class RegisterCircuitOpen(RegisterUnavailable):
    """The circuit breaker is open: failing fast without calling the register."""


class RegisterRequestError(RegisterError):
    """The register refused a request as malformed (400, 413, ...): a bug, not a fault."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


# --- settings and stats ------------------------------------------------------------------


@dataclass
class ClientStats:
    """Counters of one client, for logs and task metadata (``as_dict()``)."""

    requests: int = 0
    """HTTP requests sent, token requests included."""
    retries: int = 0
    rate_limited: int = 0
    """429 answers."""
    server_errors: int = 0
    """5xx answers."""
    connection_errors: int = 0
    """Connection errors and timeouts."""
    reauths: int = 0
    """401s on data requests that led to a new token."""
    token_fetches: int = 0
    seconds_waited: float = 0.0
    """Time spent waiting on Retry-After and backoff, summed over threads."""
    breaker_opens: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The counters as a plain dict (seconds rounded to milliseconds)."""
        d = asdict(self)
        d["seconds_waited"] = round(d["seconds_waited"], 3)
        return d


# --- shared pacing -----------------------------------------------------------------------


class _Gate:
    """A time before which no thread may send anything (set by Retry-After)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0

    def close_for(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def remaining(self) -> float:
        with self._lock:
            return self._until - time.monotonic()


class _Breaker:
    """Consecutive-failure circuit breaker with a single half-open trial request."""

    def __init__(self, threshold: int, cooldown_s: float, on_open: Callable[[], None]) -> None:
        self._threshold, self._cooldown = threshold, cooldown_s
        self._on_open = on_open
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    def before(self) -> bool:
        """Raise when open; returns True when this request is the half-open trial."""
        with self._lock:
            if self._opened_at is None:
                return False
            left = self._opened_at + self._cooldown - time.monotonic()
            if left > 0 or self._trial:
                raise RegisterCircuitOpen(
                    f"circuit open after {self._failures} consecutive failures"
                    + (f"; retry in {left:.0f} s" if left > 0 else "")
                )
            self._trial = True
            return True

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            reopen = self._trial or (self._opened_at is None and self._failures >= self._threshold)
            self._trial = False
            if reopen:
                self._opened_at = time.monotonic()
        if reopen:
            self._on_open()

    def release(self) -> None:
        """A trial that ended neither way (429, 401) lets the next request try."""
        with self._lock:
            self._trial = False


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None if absent or garbled."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _body(resp: requests.Response) -> Any:
    """A JSON answer's body, decoded by msgspec: at scale 1.0 ``json.loads`` of the match
    answers took 9.1 s of the tasks' sampled time, msgspec 4.0 s (benchmarks/RESULTS.md,
    2026-12-06). Raises ValueError (``msgspec.DecodeError``) on a body that is not JSON."""
    return msgspec.json.decode(resp.content)


def _problem_text(resp: requests.Response) -> str:
    # The problem's title/detail never echo personal data in the contract's API, but cap it.
    try:
        body = _body(resp)
        text = f"{body.get('title', '')}: {body.get('detail', '')}"
    except (ValueError, AttributeError):
        text = resp.reason or ""
    return text[:200]


# --- query normalization -----------------------------------------------------------------


def _ngay_sinh_text(value: Any) -> str | None:
    """A date of birth as the contract wants it: 'yyyy-mm-dd', or 'yyyy' for a year alone."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, datetime | date):  # pd.Timestamp is a datetime
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if isinstance(value, int | np.integer) or (
        isinstance(value, float | np.floating) and float(value).is_integer()
    ):
        return f"{int(value):04d}"
    if isinstance(value, str):
        s = value.strip()
        if _YEAR_RE.fullmatch(s) or _DATE_RE.fullmatch(s):
            return s
        if _DATE_RE.fullmatch(s[:10]) and s[10:11] in (" ", "T"):  # a timestamp's text
            return s[:10]
    return None


def _map_distinct(values: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """``fn`` applied once per distinct non-missing value (such columns repeat a lot)."""
    obj = values.astype(object)
    mapping = {v: fn(v) for v in pd.unique(obj) if not _is_missing(v)}
    out = obj.map(mapping)
    return out.where(out.notna(), None)


def _ngay_sinh_series(values: pd.Series) -> pd.Series:
    """``_ngay_sinh_text`` over a column: vectorized for datetimes, per distinct value else."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype(object).where(values.notna(), None)
    return _map_distinct(values, _ngay_sinh_text)


def _is_missing(v: Any) -> bool:
    return v is None or (not isinstance(v, str) and bool(pd.isna(v)))


def _sex_text(v: Any) -> str | None:
    return unicodedata.normalize("NFC", v).strip() if isinstance(v, str) else None


def _citizen_frame(
    records: list[dict[str, Any]], extra: dict[str, Sequence[Any]] | None = None
) -> pd.DataFrame:
    """Citizen dicts as a frame of the contract's columns, values as the API gives them:
    text, dates as ISO 'yyyy-mm-dd' strings, None where null (object columns)."""
    df = pd.DataFrame(records, columns=list(CITIZEN_COLUMNS), dtype=object)
    df = df.where(df.notna(), None)  # optional properties may be absent: None, not NaN
    if extra:
        for i, (name, values) in enumerate(extra.items()):
            df.insert(i, name, values)
    return df


# --- the client --------------------------------------------------------------------------


@dataclass
class _Attempts:
    """What one logical request has been through: failures so far, a token renewed."""

    failures: int = 0
    reauthenticated: bool = False


class PopulationClient:
    """A thread-safe client of the population register's lookup API."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        settings: RegisterSettings | None = None,
    ) -> None:
        """A client of the register at ``base_url`` (e.g. ``http://127.0.0.1:8800``)."""
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.settings = settings or RegisterSettings()
        self.stats = ClientStats()
        self._stats_lock = threading.Lock()
        self._gate = _Gate()
        self._breaker = _Breaker(
            self.settings.breaker_threshold,
            self.settings.breaker_cooldown_s,
            self._on_breaker_open,
        )
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._token_refresh_at = 0.0
        self._session = requests.Session()
        adapter = HTTPAdapter(
            pool_connections=1,
            pool_maxsize=self.settings.max_concurrency,
            pool_block=True,  # never more connections than workers
            max_retries=0,  # retries are ours: urllib3's would skip POST and ignore the gate
        )
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"Accept": "application/json", "User-Agent": "hotich/0.1"})

    # --- construction ---------------------------------------------------------------

    @classmethod
    def from_uri(cls, uri: str, settings: RegisterSettings | None = None) -> PopulationClient:
        """A client from an Airflow-style HTTP connection URI.

        ``http://client_id:secret@127.0.0.1:8800`` (login and password URL-encoded as in
        any Airflow connection URI). Query parameters named like ``RegisterSettings``
        fields (``?timeout_s=10&max_concurrency=4``), or an ``__extra__`` JSON object of
        them, override ``settings``; other parameters are ignored.
        """
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http(s)://client_id:secret@host:port URI")
        if not parts.username or parts.password is None:
            raise ValueError("the URI lacks the client id and secret (login and password)")
        netloc = parts.netloc.rpartition("@")[2]
        base_url = f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"
        overrides: dict[str, Any] = {}
        for key, value in parse_qsl(parts.query):
            if key == "__extra__":
                overrides.update(json.loads(value))
            else:
                overrides[key] = value
        types = {f.name: f.type for f in fields(RegisterSettings)}
        known: dict[str, Any] = {}
        for key, value in overrides.items():
            if key in types:
                if types[key] in ("bool", bool):
                    known[key] = str(value).lower() in ("1", "true", "yes")
                else:
                    known[key] = int(value) if types[key] in ("int", int) else float(value)
        base = settings or RegisterSettings()
        return cls(
            base_url, unquote(parts.username), unquote(parts.password), replace(base, **known)
        )

    def __repr__(self) -> str:
        return f"PopulationClient({self.base_url!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def __enter__(self) -> PopulationClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- public API -----------------------------------------------------------------

    def get(self, so_dinh_danh: str) -> dict[str, Any] | None:
        """One citizen as the contract's dict, or None when the register lacks the ID."""
        if not re.fullmatch(_ID_PATTERN, so_dinh_danh):
            return None
        resp = self._request("GET", f"/v1/citizens/{so_dinh_danh}", accept=(404,))
        return None if resp.status_code == 404 else _body(resp)

    def batch_get(self, ids: Iterable[str]) -> tuple[pd.DataFrame, set[str]]:
        """Look IDs up in batches of 500, sent concurrently.

        Returns the citizens found (one row each, the contract's Citizen columns as the API
        gives them: dates ISO 'yyyy-mm-dd' strings, None where null) and the IDs the
        register does not know. IDs are de-duplicated;
        missing values are skipped; an ID that is not 12 digits cannot be in the register
        and is put in ``not_found`` without being sent.
        """
        distinct = pd.Series(list(ids), dtype=object).dropna().astype(str).drop_duplicates()
        wellformed = distinct.str.fullmatch(_ID_PATTERN).fillna(False).astype(bool)
        malformed = set(distinct[~wellformed])
        good = distinct[wellformed].tolist()
        if malformed:
            log.warning("batch_get: %d malformed IDs not sent (not found)", len(malformed))
        size = self.settings.batch_size
        batches = [good[i : i + size] for i in range(0, len(good), size)]
        t0 = time.monotonic()
        answers = self._run_concurrently(self._batch_get_one, batches, "batch_get")
        found: list[dict[str, Any]] = []
        not_found = set(malformed)
        for found_part, missing_part in answers:
            found.extend(found_part)
            not_found.update(missing_part)
        log.info(
            "batch_get: %d distinct IDs in %d batches: %d found, %d not found, %.2f s",
            len(distinct),
            len(batches),
            len(found),
            len(not_found),
            time.monotonic() - t0,
        )
        return _citizen_frame(found), not_found

    def match(self, queries: pd.DataFrame) -> pd.DataFrame:
        """Candidates for persons without an ID, in batches of 100, sent concurrently.

        ``queries`` has columns ``ref, ho_ten, gioi_tinh, ngay_sinh`` (a date, a
        timestamp, an ISO 'yyyy-mm-dd' text, or a year alone as 'yyyy' or an integer).
        Identical queries (same name, sex and date) are asked once and the answer fanned
        out to every ref. Returns ``['ref', *CITIZEN_COLUMNS]`` with one row per (ref,
        candidate); a ref without candidates has no row; a ref with
        ``MATCH_MAX_CANDIDATES`` rows may have been cut by the register.
        Raises ``ValueError`` for a query the contract cannot express (missing name, sex
        other than Nam/Nữ, unreadable date).
        """
        missing_cols = {"ref", "ho_ten", "gioi_tinh", "ngay_sinh"} - set(queries.columns)
        if missing_cols:
            raise ValueError(f"queries lack columns {sorted(missing_cols)}")
        if queries.empty:
            return _citizen_frame([], {"ref": []})
        keys = pd.DataFrame(
            {
                "ho_ten": _map_distinct(queries["ho_ten"], str),
                "gioi_tinh": _map_distinct(queries["gioi_tinh"], _sex_text),
                "ngay_sinh": _ngay_sinh_series(queries["ngay_sinh"]),
            }
        )
        bad = keys["ho_ten"].isna() | ~keys["gioi_tinh"].isin(_SEXES) | keys["ngay_sinh"].isna()
        if bad.any():
            raise ValueError(
                f"{int(bad.sum())} match queries lack a name, a sex Nam/Nữ or a readable date"
            )
        # One question per distinct (name, sex, date); our own refs keep a batch's refs unique.
        keys["qid"] = keys.groupby(["ho_ten", "gioi_tinh", "ngay_sinh"], sort=False).ngroup()
        distinct = keys.drop_duplicates("qid")
        payload = [
            {"ref": str(q), "ho_ten": n, "gioi_tinh": s, "ngay_sinh": d}
            for q, n, s, d in zip(
                distinct["qid"].tolist(),
                distinct["ho_ten"].tolist(),
                distinct["gioi_tinh"].tolist(),
                distinct["ngay_sinh"].tolist(),
                strict=True,
            )
        ]
        size = self.settings.match_batch_size
        batches = [payload[i : i + size] for i in range(0, len(payload), size)]
        t0 = time.monotonic()
        answers = self._run_concurrently(self._match_one, batches, "match")
        qids: list[int] = []
        records: list[dict[str, Any]] = []
        for part in answers:
            for qid, cands in part:
                qids.extend([qid] * len(cands))
                records.extend(cands)
        cands_df = _citizen_frame(records, {"qid": qids})
        fan = pd.DataFrame({"ref": queries["ref"].to_numpy(), "qid": keys["qid"].to_numpy()})
        out = fan.merge(cands_df, on="qid", how="inner", sort=False)
        out = out.drop(columns="qid").reset_index(drop=True)
        log.info(
            "match: %d queries (%d distinct) in %d batches: %d candidate rows, %.2f s",
            len(queries),
            len(payload),
            len(batches),
            len(out),
            time.monotonic() - t0,
        )
        return out[["ref", *CITIZEN_COLUMNS]]

    # --- one batch each -------------------------------------------------------------

    def _batch_get_one(
        self, ids: list[str], cancel: threading.Event
    ) -> tuple[list[dict[str, Any]], list[str]]:
        resp = self._request("POST", "/v1/citizens:batchGet", json_body={"ids": ids}, cancel=cancel)
        body = _body(resp)
        found, not_found = body["found"], body["not_found"]
        answered = {c["so_dinh_danh"] for c in found} | set(not_found)
        if answered != set(ids):
            # The contract promises every ID exactly once: never lose one silently.
            raise RegisterError(f"batchGet answered {len(answered)} IDs for {len(set(ids))} asked")
        return found, not_found

    def _match_one(
        self, queries: list[dict[str, str]], cancel: threading.Event
    ) -> list[tuple[int, list[dict[str, Any]]]]:
        resp = self._request(
            "POST", "/v1/citizens:match", json_body={"queries": queries}, cancel=cancel
        )
        results = _body(resp)["results"]
        if [r["ref"] for r in results] != [q["ref"] for q in queries]:
            raise RegisterError("match answered other refs than asked, or out of order")
        return [(int(r["ref"]), r["candidates"]) for r in results]

    def _run_concurrently(
        self, fn: Callable[[T, threading.Event], R], batches: list[T], what: str = "batches"
    ) -> list[R]:
        """``fn`` over the batches with at most ``max_concurrency`` in flight, in order.

        Every ``progress_every_s`` it logs how many of ``what`` are done. The first
        failure cancels the batches not yet started and makes the others give up at
        their next wait, then is raised.
        """
        cancel = threading.Event()
        if len(batches) <= 1:
            return [fn(b, cancel) for b in batches]
        workers = min(self.settings.max_concurrency, len(batches))
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="population-api") as pool:
            futures: list[Future[R]] = [pool.submit(fn, b, cancel) for b in batches]
            while True:
                done, pending = wait(
                    futures, timeout=self.settings.progress_every_s, return_when=FIRST_EXCEPTION
                )
                failed = next((f for f in done if f.exception() is not None), None)
                if failed is not None:
                    cancel.set()
                    for f in futures:
                        f.cancel()
                    raise failed.exception()  # type: ignore[misc]
                if not pending:
                    return [f.result() for f in futures]
                log.info(
                    "%s: %d of %d batches done, %.0f s",
                    what,
                    len(done),
                    len(futures),
                    time.monotonic() - t0,
                )

    # --- HTTP with auth, pacing, retries ---------------------------------------------

    def _bump(self, **counts: float) -> None:
        with self._stats_lock:
            for k, v in counts.items():
                setattr(self.stats, k, getattr(self.stats, k) + v)

    def _on_breaker_open(self) -> None:
        self._bump(breaker_opens=1)
        log.warning(
            "population register: circuit opened after %d consecutive failures; failing fast for %.0f s",
            self.settings.breaker_threshold,
            self.settings.breaker_cooldown_s,
        )

    def _sleep(self, seconds: float, cancel: threading.Event | None) -> None:
        if seconds <= 0:
            return
        self._bump(seconds_waited=seconds)
        if cancel is not None:
            if cancel.wait(seconds):
                raise RegisterUnavailable("cancelled: another batch failed")
        else:
            time.sleep(seconds)

    def _wait_gate(self, deadline: float, cancel: threading.Event | None) -> None:
        """Wait while Retry-After holds the gate shut (it may be extended meanwhile)."""
        for _ in range(10_000):  # bounded: each pass sleeps until the gate's time
            left = self._gate.remaining()
            if left <= 0:
                return
            if time.monotonic() + left > deadline:
                raise RegisterUnavailable(
                    f"the register asks to wait {left:.1f} s, beyond the retry budget"
                )
            self._sleep(left, cancel)
        raise RegisterUnavailable("the register kept asking to wait")

    def _backoff(
        self, failures: int, deadline: float, cancel: threading.Event | None, why: str
    ) -> None:
        """Sleep before retry ``failures`` (exponential, jittered) or give up."""
        s = self.settings
        if failures > s.max_retries:
            raise RegisterUnavailable(f"giving up after {failures} failures ({why})")
        delay = min(s.backoff_cap_s, s.backoff_base_s * 2 ** (failures - 1))
        delay *= random.uniform(0.5, 1.0)  # jitter: threads that failed together retry apart
        if time.monotonic() + delay > deadline:
            raise RegisterUnavailable(f"retry budget spent ({why})")
        log.info("population register: %s; retry %d in %.2f s", why, failures, delay)
        self._bump(retries=1)
        self._sleep(delay, cancel)

    def _access_token(self, deadline: float, cancel: threading.Event | None) -> str:
        with self._token_lock:  # one fetch at a time; other threads then reuse its token
            if self._token is not None and time.monotonic() < self._token_refresh_at:
                return self._token
            resp = self._request(
                "POST",
                "/oauth/token",
                form={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self._secret,
                },
                authenticated=False,
                deadline=deadline,
                cancel=cancel,
            )
            body = _body(resp)
            token, ttl = body.get("access_token"), body.get("expires_in")
            if not isinstance(token, str) or not isinstance(ttl, int | float):
                raise RegisterAuthError("the token answer lacks access_token or expires_in")
            margin = min(self.settings.token_refresh_margin_s, ttl / 5)
            self._token = token
            self._token_refresh_at = time.monotonic() + ttl - margin
            self._bump(token_fetches=1)
            return token

    def _drop_token(self, token: str) -> None:
        with self._token_lock:
            if self._token == token:  # another thread may already hold a newer one
                self._token = None

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        authenticated: bool = True,
        accept: tuple[int, ...] = (),
        deadline: float | None = None,
        cancel: threading.Event | None = None,
    ) -> requests.Response:
        """Send one logical request until it succeeds or the limits are reached.

        Returns a 2xx answer or one whose status is in ``accept``; every other answer is
        retried, paced or raised by :meth:`_after_refusal`.
        """
        if deadline is None:
            deadline = time.monotonic() + self.settings.retry_budget_s
        state = _Attempts()
        for _ in range(10_000):  # bounded; the budget and max_retries end it far sooner
            if cancel is not None and cancel.is_set():
                raise RegisterUnavailable("cancelled: another batch failed")
            # Before the breaker: the token request passes the breaker on its own.
            token = self._access_token(deadline, cancel) if authenticated else None
            prepared = self._session.prepare_request(
                requests.Request(
                    method,
                    self.base_url + path,
                    json=json_body,
                    data=form,
                    headers={"Authorization": f"Bearer {token}"} if token else {},
                )
            )
            resp = self._send(prepared, path, state, deadline, cancel)
            if resp is None:
                continue
            if resp.status_code < 400 or resp.status_code in accept:
                self._breaker.success()
                return resp
            self._after_refusal(resp, path, state, token, deadline, cancel)
        raise RegisterUnavailable(f"{path}: too many attempts")

    def _send(
        self,
        prepared: requests.PreparedRequest,
        path: str,
        state: _Attempts,
        deadline: float,
        cancel: threading.Event | None,
    ) -> requests.Response | None:
        """One HTTP exchange; None after a connection error or timeout (backed off).

        The Retry-After gate is checked here, just before sending, after the token and the
        body are ready: a pause another thread began meanwhile is honoured.
        """
        s = self.settings
        self._wait_gate(deadline, cancel)
        self._breaker.before()
        self._bump(requests=1)
        try:
            return self._session.send(prepared, timeout=(s.connect_timeout_s, s.timeout_s))
        except (requests.ConnectionError, requests.Timeout) as exc:
            self._bump(connection_errors=1)
            self._breaker.failure()
            state.failures += 1
            self._backoff(state.failures, deadline, cancel, f"{path}: {type(exc).__name__}")
            return None

    def _after_refusal(
        self,
        resp: requests.Response,
        path: str,
        state: _Attempts,
        token: str | None,
        deadline: float,
        cancel: threading.Event | None,
    ) -> None:
        """Decide on a 4xx/5xx answer: return to retry (after re-authenticating, pacing or
        backing off), or raise when retrying cannot help."""
        s = self.settings
        status = resp.status_code
        retry_after = _retry_after_seconds(resp.headers.get("Retry-After"))
        if status == 401:
            self._breaker.release()
            if token is None:
                raise RegisterAuthError("the register refused the client credentials")
            if state.reauthenticated:
                raise RegisterAuthError("the register refused a freshly issued token")
            state.reauthenticated = True
            self._bump(reauths=1)
            self._drop_token(token)
            return
        if status == 429 or (status == 503 and retry_after is not None):
            self._breaker.release()  # pacing, not a failure: the register is answering
            self._bump(**({"rate_limited": 1} if status == 429 else {"server_errors": 1}))
            if retry_after is None:  # a 429 without Retry-After: back off on our own
                retry_after = min(s.backoff_cap_s, s.backoff_base_s * 2**state.failures)
            if time.monotonic() + retry_after > deadline:
                raise RegisterUnavailable(
                    f"{path}: {status}, Retry-After {retry_after:.0f} s beyond the retry budget"
                )
            log.info(
                "population register: %s %d; pausing all requests %.0f s", path, status, retry_after
            )
            self._gate.close_for(retry_after)
            self._bump(retries=1)
            return
        if status >= 500:
            self._bump(server_errors=1)
            self._breaker.failure()
            state.failures += 1
            self._backoff(state.failures, deadline, cancel, f"{path}: {status}")
            return
        self._breaker.success()  # the register answered; the request was at fault
        raise RegisterRequestError(status, f"{path}: {_problem_text(resp)}")


__all__ = [
    "ClientStats",
    "PopulationClient",
    "RegisterAuthError",
    "RegisterCircuitOpen",
    "RegisterError",
    "RegisterRequestError",
    "RegisterUnavailable",
]
