"""A local simulator of the national population register's HTTP API.

It implements ``include/contracts/population-api.yaml`` (docs/register-api.md) exactly (OAuth2 client credentials,
``GET /v1/citizens/{id}``, ``POST /v1/citizens:batchGet``, ``POST /v1/citizens:match``,
problem+json errors, a token-bucket quota per client) over a register held in memory,
plus fault injection switchable at runtime through ``/_admin`` endpoints that are *not*
part of the contract (tests use them to simulate 5xx, latency, outages and revocation).

The register is indexed once at startup, with sorted integer keys and ``searchsorted``
rather than per-row Python dicts, so a 1.5-million-person register fits in a few hundred
MB and a 500-ID batchGet costs a few milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import secrets
import socket
import threading
import time
import unicodedata
from collections import Counter, deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz.process import cpdist
from starlette.exceptions import HTTPException as StarletteHTTPException

from hotich.names import fold_keys
from hotich.register import (
    BATCH_GET_MAX_IDS,
    CITIZEN_COLUMNS,
    MATCH_MAX_CANDIDATES,
    MATCH_MAX_QUERIES,
)

log = logging.getLogger(__name__)

SEX_CODES: dict[str, int] = {"Nam": 0, "Nữ": 1}
_SEX_UNKNOWN = 3  # a register row whose sex is neither value never matches a query
_ID_RE = re.compile(r"[0-9]{12}")  # used with fullmatch: `$` would accept a trailing \n
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_YEAR_RE = re.compile(r"[0-9]{4}")
_EPOCH = date(1970, 1, 1)
_MAX_DL = 2  # the contract's "at most two typing slips"
_NO_DOB = np.iinfo(np.int32).min  # marks a register row without a date of birth


def fold_name(name: str) -> str:
    """One name folded as the contract defines it, by the platform's one implementation
    (``hotich.names.fold_keys``): the simulator and the client agree on it by construction."""
    return str(fold_keys([name])[0].as_py())


# --- the register and its indexes ----------------------------------------------------------


def load_register(register: pd.DataFrame | pa.Table | str | Path) -> pa.Table:
    """Read a register (Parquet path, DataFrame or Arrow table) as an Arrow table."""
    if isinstance(register, pa.Table):
        return register
    if isinstance(register, pd.DataFrame):
        return pa.Table.from_pandas(register, preserve_index=False)
    return pq.read_table(Path(register))


def _as_date32(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dates may arrive as date32, timestamps or ISO strings; the index wants date32."""
    if pa.types.is_date32(col.type):
        return col
    if pa.types.is_timestamp(col.type) or pa.types.is_date64(col.type):
        return pc.cast(col, pa.date32())
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return pc.cast(pc.utf8_slice_codeunits(col, 0, 10), pa.date32())
    if pa.types.is_null(col.type):
        return pa.chunked_array([pa.nulls(len(col), pa.date32())])
    raise ValueError(f"unsupported date column type {col.type}")


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group, position) of every position in the ranges ``[lo[g], hi[g])``, in order."""
    n = hi - lo
    group = np.repeat(np.arange(len(lo), dtype=np.int64), n)
    start = np.cumsum(n) - n
    pos = np.arange(int(n.sum()), dtype=np.int64) + np.repeat(lo - start, n)
    return group, pos


# Bytes that json.dumps escapes inside a string: control characters, '"' and '\'.
_JSON_ESCAPED = np.zeros(256, dtype=bool)
_JSON_ESCAPED[:0x20] = _JSON_ESCAPED[ord('"')] = _JSON_ESCAPED[ord("\\")] = True
_ENCODE_CHUNK = 65_536  # rows per Arrow pass (and per blob) of the encoded answers
_NO_DATE = np.iinfo(np.int64).min  # a year-only query: rule 2 does not apply


def _json_str(value: str) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _needs_escape(col: pa.Array) -> bool:
    """Whether any value of a string column holds a byte JSON must escape."""
    if len(col) == 0 or col.null_count == len(col):
        return False
    if col.buffers()[2] is None:
        return False
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[
        col.offset : col.offset + len(col) + 1
    ]
    data = np.frombuffer(col.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return bool(_JSON_ESCAPED[data].any())


class RegisterIndex:
    """The register in memory with the indexes the API needs, built once.

    * IDs: the 12-digit IDs as sorted ``int64`` keys (``searchsorted`` lookups).
    * Rule 1 of match: sorted keys of (folded-name code, sex, birth year).
    * Rule 2 of match: sorted keys of (date of birth, sex); the few people born on one
      day are then compared by Damerau-Levenshtein distance on their folded names.
    * The answers: each row's Citizen object encoded as JSON bytes once, at build time
      (an object array indexed by row), so an answer is a join of byte strings.
    """

    def __init__(self, table: pa.Table) -> None:
        missing = {"so_dinh_danh", "ho_ten", "gioi_tinh", "ngay_sinh"} - set(table.column_names)
        if missing:
            raise ValueError(f"register lacks columns {sorted(missing)}")
        t0 = time.perf_counter()
        n = table.num_rows
        self.size = n

        ids = pc.cast(table.column("so_dinh_danh"), pa.string()).combine_chunks()
        if n and not pc.all(pc.match_substring_regex(ids, r"^[0-9]{12}$")).as_py():
            raise ValueError("register holds personal IDs that are not 12 digits")
        id_int = pc.cast(ids, pa.int64()).to_numpy(zero_copy_only=False)
        order = np.argsort(id_int, kind="stable")  # stable: a duplicated ID finds its first row
        self._id_sorted = id_int[order]
        self._id_rows = order.astype(np.int64)

        # Names: fold each distinct spelling once, not each row.
        names = pc.fill_null(pc.cast(table.column("ho_ten"), pa.string()), "").combine_chunks()
        enc = names.dictionary_encode()
        folded = fold_keys(enc.dictionary).to_pylist()
        fold_codes, fold_uniques = pd.factorize(np.array(folded, dtype=object))
        self._folded_names: np.ndarray = np.asarray(fold_uniques, dtype=object)
        self._folded_to_code: dict[str, int] = {s: i for i, s in enumerate(self._folded_names)}
        raw_idx = enc.indices.to_numpy(zero_copy_only=False)
        self._name_code = fold_codes.astype(np.int64)[raw_idx]

        sex_col = pc.cast(table.column("gioi_tinh"), pa.string()).combine_chunks()
        sex_enc = pc.fill_null(sex_col, "").dictionary_encode()
        sex_map = np.array(
            [
                SEX_CODES.get(unicodedata.normalize("NFC", s).strip(), _SEX_UNKNOWN)
                for s in sex_enc.dictionary.to_pylist()
            ],
            dtype=np.int64,
        )
        self._sex = sex_map[sex_enc.indices.to_numpy(zero_copy_only=False)]
        normalized_sex = pa.array(
            [unicodedata.normalize("NFC", s).strip() for s in sex_enc.dictionary.to_pylist()],
            pa.string(),
        )

        dob = _as_date32(table.column("ngay_sinh")).combine_chunks()
        days = pc.fill_null(pc.cast(dob, pa.int32()), _NO_DOB).to_numpy(zero_copy_only=False)
        days = days.astype(np.int64)
        has_dob = days != _NO_DOB
        year = np.where(
            has_dob,
            np.where(has_dob, days, 0)
            .astype("datetime64[D]")
            .astype("datetime64[Y]")
            .astype(np.int64)
            + 1970,
            -1,
        )

        # Rule 1 key: (name, sex, year); rule 2 key: (date, sex). Rows without a date of
        # birth get keys no query can produce.
        key1 = np.where(has_dob, (self._name_code * 4 + self._sex) * 10_000 + year, -1)
        order1 = np.argsort(key1, kind="stable")
        self._k1_sorted, self._k1_rows = key1[order1], order1.astype(np.int64)
        key2 = np.where(has_dob, days * 4 + self._sex, np.iinfo(np.int64).min)
        order2 = np.argsort(key2, kind="stable")
        self._k2_sorted, self._k2_rows = key2[order2], order2.astype(np.int64)

        self._encode_answers(table, normalized_sex, sex_enc.indices)
        # Give the encoding's scratch memory back now (the Arrow pool would keep it).
        pa.default_memory_pool().release_unused()
        log.info(
            "register indexed: %d persons, %d distinct folded names, in %.1f s",
            n,
            len(self._folded_names),
            time.perf_counter() - t0,
        )

    @staticmethod
    def _answer_table(table: pa.Table, sex_values: pa.Array, sex_idx: pa.Array) -> pa.Table:
        """The Citizen columns as strings, ISO dates and nulls."""
        n = table.num_rows
        cols: dict[str, pa.Array] = {}
        for name in CITIZEN_COLUMNS:
            if name == "gioi_tinh":
                cols[name] = sex_values.take(sex_idx)
                continue
            if name not in table.column_names:
                cols[name] = pa.nulls(n, pa.string())
                continue
            col = table.column(name)
            if name in ("ngay_sinh", "ngay_chet"):
                col = _as_date32(col)
            cols[name] = pc.cast(col, pa.string()).combine_chunks()
        return pa.table(cols)

    def _encode_answers(self, table: pa.Table, sex_values: pa.Array, sex_idx: pa.Array) -> None:
        """Encode each row's Citizen once as the JSON bytes that ``json.dumps(citizen,
        ensure_ascii=False, separators=(",", ":"))`` gives, so that an answer is a join.

        Built with Arrow string kernels by chunks of rows (in two threads: the kernels
        release the GIL), so the answer columns are never all in memory at once; each
        chunk's encodings are kept as one ``bytes`` blob with the start and end of each row
        in it (no Python object per row). The rare values with a character JSON escapes
        are escaped by ``json.dumps`` before the join.
        """
        n = table.num_rows
        self._json_start = np.zeros(n, dtype=np.int64)
        self._json_end = np.zeros(n, dtype=np.int64)
        self._json_blobs: list[bytes] = []

        def encode(start: int) -> tuple[bytes, np.ndarray]:
            out = self._answer_table(
                table.slice(start, _ENCODE_CHUNK),
                sex_values,
                sex_idx.slice(start, _ENCODE_CHUNK),
            )
            pieces: list[Any] = ["{"]
            sep = ""
            for name in out.column_names:
                col = self._escaped(out.column(name).combine_chunks())
                if col.null_count == 0:
                    pieces += [f'{sep}"{name}":"', col, '"']
                else:
                    # The separator goes with the value: a null place is omitted whole.
                    frag = pc.binary_join_element_wise(f'{sep}"{name}":"', col, '"', "")
                    if name != "noi_dang_ky_khai_sinh":
                        frag = pc.fill_null(frag, f'{sep}"{name}":null')
                    pieces.append(frag)
                sep = ","
            pieces.append("}")
            arr = pc.binary_join_element_wise(*pieces, "", null_handling="skip")
            offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)
            offsets = offsets[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)
            blob = bytes(memoryview(arr.buffers()[2])[offsets[0] : offsets[-1]])
            return blob, offsets - offsets[0]

        starts = range(0, n, _ENCODE_CHUNK)
        with ThreadPoolExecutor(max_workers=2) as pool:
            for start, (blob, offsets) in zip(starts, pool.map(encode, starts), strict=True):
                self._json_blobs.append(blob)
                self._json_start[start : start + len(offsets) - 1] = offsets[:-1]
                self._json_end[start : start + len(offsets) - 1] = offsets[1:]

    @staticmethod
    def _escaped(col: pa.Array) -> pa.Array:
        """A string column with its values as the inside of their JSON strings."""
        if not _needs_escape(col):
            return col
        mask = pc.fill_null(pc.match_substring_regex(col, r'[\x00-\x1f"\\]'), False)
        escaped = [json.dumps(v, ensure_ascii=False)[1:-1] for v in col.filter(mask).to_pylist()]
        return pc.replace_with_mask(col, mask, pa.array(escaped, col.type))

    # --- lookups ----------------------------------------------------------------------

    def lookup_ids(self, ids: list[str]) -> np.ndarray:
        """Row of each well-formed ID (12 digits), or -1 when the register lacks it."""
        if not ids or not self.size:
            return np.full(len(ids), -1, dtype=np.int64)
        keys = np.fromiter(map(int, ids), dtype=np.int64, count=len(ids))
        pos = np.minimum(self._id_sorted.searchsorted(keys), self.size - 1)
        hit = self._id_sorted[pos] == keys
        return np.where(hit, self._id_rows[pos], -1)

    def citizen_json(self, rows: np.ndarray) -> list[bytes]:
        """The Citizen objects of the given rows, in that order, as JSON bytes."""
        rows = np.asarray(rows, dtype=np.int64)
        blobs = self._json_blobs
        return [
            blobs[c][s:e]
            for c, s, e in zip(
                (rows // _ENCODE_CHUNK).tolist(),
                self._json_start[rows].tolist(),
                self._json_end[rows].tolist(),
                strict=True,
            )
        ]

    def citizens(self, rows: np.ndarray) -> list[dict[str, Any]]:
        """The Citizen objects of the given rows, in that order."""
        return [json.loads(b) for b in self.citizen_json(rows)]

    def match_rows(self, ho_ten: str, sex: int, dob_days: int | None, year: int) -> np.ndarray:
        """Rows of the candidates of one query (at most ``MATCH_MAX_CANDIDATES``).

        Same sex, and (same folded name and birth year) or (same date of birth and folded
        names within true Damerau-Levenshtein distance 2); ``dob_days`` None means a
        year-only query, which uses the first rule only.
        """
        days = _NO_DATE if dob_days is None else dob_days
        _, rows = self.match_many(
            [fold_name(ho_ten)],
            np.array([sex], np.int64),
            np.array([days], np.int64),
            np.array([year], np.int64),
        )
        return rows

    def match_many(
        self, folded: list[str], sex: np.ndarray, dob_days: np.ndarray, year: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``match_rows`` of many queries at once, given folded names.

        ``dob_days`` holds ``_NO_DATE`` for a year-only query. Returns (query, row) pairs
        sorted by query then row: each query's candidates, each citizen once, capped.
        """
        nq = len(folded)
        empty = np.empty(0, dtype=np.int64)
        if nq == 0 or self.size == 0:
            return empty, empty
        codes = np.fromiter(
            (self._folded_to_code.get(f, -1) for f in folded), dtype=np.int64, count=nq
        )
        # Rule 1: (folded name, sex, birth year); a name the register lacks finds nothing.
        key1 = (codes * 4 + sex) * 10_000 + year
        lo = self._k1_sorted.searchsorted(key1, "left")
        hi = np.where(codes >= 0, self._k1_sorted.searchsorted(key1, "right"), lo)
        q1, pos1 = _expand(lo, hi)
        rows1 = self._k1_rows[pos1]
        # Rule 2: (date of birth, sex), then DL distance of the folded names.
        has_date = dob_days != _NO_DATE
        key2 = np.where(has_date, dob_days, 0) * 4 + sex
        lo = self._k2_sorted.searchsorted(key2, "left")
        hi = np.where(has_date, self._k2_sorted.searchsorted(key2, "right"), lo)
        q2, pos2 = _expand(lo, hi)
        rows2 = self._k2_rows[pos2]
        if len(rows2):
            # One distance per distinct (query, folded name) pair of the buckets.
            n_names = len(self._folded_names)
            pairs, inverse = np.unique(q2 * n_names + self._name_code[rows2], return_inverse=True)
            pq_, pcode = np.divmod(pairs, n_names)
            dist = cpdist(
                [folded[i] for i in pq_.tolist()],
                self._folded_names[pcode].tolist(),
                scorer=DamerauLevenshtein.distance,
                score_cutoff=_MAX_DL,
                dtype=np.int32,
            )
            near = dist[inverse.reshape(-1)] <= _MAX_DL
            q2, rows2 = q2[near], rows2[near]
        # Each citizen once per query, sorted by row for a stable answer; then the cap.
        key = np.unique(np.concatenate([q1, q2]) * self.size + np.concatenate([rows1, rows2]))
        q, rows = np.divmod(key, self.size)
        rank = np.arange(len(q)) - np.searchsorted(q, q, "left")
        keep = rank < MATCH_MAX_CANDIDATES
        return q[keep], rows[keep]


# --- runtime state: tokens, quota, faults, stats --------------------------------------------


@dataclass
class Faults:
    """Fault injection, switchable at runtime (``POST /_admin/faults``).

    ``error_rate``: share of admitted data requests answered with one of
    ``error_statuses`` (503 without Retry-After, i.e. unannounced overload).
    ``latency_ms``: added to every data request. ``outage_seconds``: from the moment it is
    set, every request (token included) is answered 503 for that long, with Retry-After
    ``outage_retry_after`` (an int, ``"auto"`` for the seconds left rounded up, or None
    for an unannounced outage).
    """

    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    latency_ms: float = 0.0
    outage_seconds: float = 0.0
    outage_retry_after: int | str | None = None


class _Problem(Exception):
    """An error answered as application/problem+json."""

    def __init__(
        self, status: int, title: str, detail: str = "", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {title}")
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}


def problem_response(
    status: int, title: str, detail: str = "", headers: dict[str, str] | None = None
) -> Response:
    """An RFC 9457 problem answer ``{status, title, detail}``."""
    body = json.dumps({"status": status, "title": title, "detail": detail}, ensure_ascii=False)
    return Response(
        content=body.encode(),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def _raw_json_response(body: bytes) -> Response:
    return Response(content=body, media_type="application/json")


def _json_response(obj: Any) -> Response:
    # Pre-encoded: FastAPI's jsonable_encoder would walk every value again.
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content=body, media_type="application/json")


@dataclass
class _Stats:
    by_status: Counter = field(default_factory=Counter)
    by_path_status: Counter = field(default_factory=Counter)
    admitted: deque = field(default_factory=lambda: deque(maxlen=200_000))
    rate_limited: deque = field(default_factory=lambda: deque(maxlen=200_000))
    outage: deque = field(default_factory=lambda: deque(maxlen=200_000))
    tokens_issued: int = 0
    tokens_refused: int = 0
    # How many times each ID and each match query (folded name, sex, date) was asked.
    asked_ids: Counter = field(default_factory=Counter)
    asked_queries: Counter = field(default_factory=Counter)


class SimulatorState:
    """Tokens, per-client token buckets, faults and stats of one simulator app.

    Thread-safe: tests change it from their own thread while uvicorn serves.
    """

    def __init__(
        self,
        index: RegisterIndex,
        clients: dict[str, str],
        quota_rps: float | None,
        token_ttl_s: int,
        faults: Faults,
        seed: int | None,
    ) -> None:
        self.index = index
        self.clients = dict(clients)
        self.quota_rps = quota_rps
        self.token_ttl_s = int(token_ttl_s)
        self.faults = faults
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._buckets: dict[str, list[float]] = {}
        self._outage_until = 0.0
        self.stats = _Stats()
        if faults.outage_seconds:
            self._outage_until = time.monotonic() + faults.outage_seconds

    # tokens
    def issue_token(self, client_id: str, secret: str) -> str | None:
        """A new bearer token for valid credentials, else None."""
        expected = self.clients.get(client_id)
        ok = expected is not None and secrets.compare_digest(expected.encode(), secret.encode())
        with self._lock:
            if not ok:
                self.stats.tokens_refused += 1
                return None
            token = secrets.token_urlsafe(32)
            now = time.monotonic()
            # Drop expired tokens now and then so the table stays small.
            if len(self._tokens) > 10_000:
                self._tokens = {k: v for k, v in self._tokens.items() if v[1] > now}
            self._tokens[token] = (client_id, now + self.token_ttl_s)
            self.stats.tokens_issued += 1
            return token

    def client_of(self, authorization: str | None) -> str | None:
        """The client a valid, unexpired bearer token belongs to, else None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        with self._lock:
            entry = self._tokens.get(token.strip())
            if entry is None or entry[1] <= time.monotonic():
                return None
            return entry[0]

    def revoke_tokens(self) -> int:
        """Revoke every token issued so far; returns how many were live."""
        with self._lock:
            n = len(self._tokens)
            self._tokens.clear()
            return n

    # quota
    def admit(self, client_id: str) -> int | None:
        """Take one token from the client's bucket; None if admitted, else Retry-After."""
        with self._lock:
            now = time.monotonic()
            q = self.quota_rps
            if q is None:
                self.stats.admitted.append((now, client_id))
                return None
            capacity = max(q, 1.0)  # a quota under 1 rps still admits one request at a time
            bucket = self._buckets.setdefault(client_id, [capacity, now])
            bucket[0] = min(capacity, bucket[0] + (now - bucket[1]) * q)
            bucket[1] = now
            if bucket[0] >= 1.0:
                bucket[0] -= 1.0
                self.stats.admitted.append((now, client_id))
                return None
            retry_after = max(1, math.ceil((1.0 - bucket[0]) / q - 1e-9))
            self.stats.rate_limited.append((now, client_id, retry_after))
            return retry_after

    # faults
    def outage_retry_after(self) -> tuple[bool, int | None]:
        """(in an outage now, Retry-After to announce or None)."""
        with self._lock:
            now = time.monotonic()
            if now >= self._outage_until:
                return False, None
            ra = self.faults.outage_retry_after
            if ra == "auto":
                ra = max(1, math.ceil(self._outage_until - now))
            self.stats.outage.append((now, ra))
            return True, (int(ra) if ra is not None else None)

    def draw_error(self) -> int | None:
        """An injected error status for this request, or None."""
        with self._lock:
            rate = self.faults.error_rate
            if rate <= 0 or self._rng.random() >= rate:
                return None
            return self._rng.choice(self.faults.error_statuses)

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply an ``/_admin/faults`` body; keys absent are left as they are."""
        known = {
            "error_rate",
            "error_statuses",
            "latency_ms",
            "outage_seconds",
            "outage_retry_after",
            "quota_rps",
            "token_ttl_s",
            "seed",
        }
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}")
        with self._lock:
            f = self.faults
            if "error_rate" in changes:
                f.error_rate = float(changes["error_rate"] or 0.0)
            if "error_statuses" in changes:
                f.error_statuses = tuple(int(s) for s in changes["error_statuses"])
            if "latency_ms" in changes:
                f.latency_ms = float(changes["latency_ms"] or 0.0)
            if "outage_retry_after" in changes:
                f.outage_retry_after = changes["outage_retry_after"]
            if "outage_seconds" in changes:
                f.outage_seconds = float(changes["outage_seconds"] or 0.0)
                self._outage_until = time.monotonic() + f.outage_seconds
            if "quota_rps" in changes:
                q = changes["quota_rps"]
                self.quota_rps = float(q) if q is not None else None
                self._buckets.clear()  # a new quota starts with full buckets
            if "token_ttl_s" in changes:
                self.token_ttl_s = int(changes["token_ttl_s"])
            if "seed" in changes:
                self._rng = random.Random(changes["seed"])
            return self.settings()

    def settings(self) -> dict[str, Any]:
        """The current fault and quota settings."""
        d = asdict(self.faults)
        d["error_statuses"] = list(self.faults.error_statuses)
        d["outage_remaining_s"] = max(0.0, self._outage_until - time.monotonic())
        d["quota_rps"] = self.quota_rps
        d["token_ttl_s"] = self.token_ttl_s
        return d

    # stats
    def record_status(self, path: str, status: int) -> None:
        """Count one answer (called by the ASGI wrapper)."""
        with self._lock:
            self.stats.by_status[str(status)] += 1
            self.stats.by_path_status[f"{path} {status}"] += 1

    def stats_snapshot(self) -> dict[str, Any]:
        """Counts by status and the timestamps (``time.monotonic``) of admitted and
        rate-limited requests, so tests can check a client's pacing."""
        asks = self.ask_counts()  # takes the lock itself (not reentrant): before it
        with self._lock:
            s = self.stats
            return {
                "now": time.monotonic(),
                "by_status": dict(s.by_status),
                "by_path_status": dict(s.by_path_status),
                "admitted": [{"t": t, "client_id": c} for t, c in s.admitted],
                "rate_limited": [
                    {"t": t, "client_id": c, "retry_after": ra} for t, c, ra in s.rate_limited
                ],
                "outage": [{"t": t, "retry_after": ra} for t, ra in s.outage],
                "tokens_issued": s.tokens_issued,
                "tokens_refused": s.tokens_refused,
                "asks": asks,
            }

    def count_asks(
        self, ids: Iterable[str] = (), queries: Iterable[tuple[str, str, str]] = ()
    ) -> None:
        """Count one ask of each ID, and of each match query (folded name, sex, date)."""
        with self._lock:
            self.stats.asked_ids.update(ids)
            self.stats.asked_queries.update(queries)

    def ask_counts(self) -> dict[str, dict[str, int]]:
        """Per kind: distinct keys asked, asks in all, keys asked more than once (counts
        only: no ID or name leaves the simulator this way)."""
        with self._lock:
            return {
                kind: {
                    "distinct": len(c),
                    "asked": sum(c.values()),
                    "repeated": sum(1 for n in c.values() if n > 1),
                }
                for kind, c in (
                    ("ids", self.stats.asked_ids),
                    ("queries", self.stats.asked_queries),
                )
            }

    def reset_stats(self) -> None:
        """Forget all counts and timestamps."""
        with self._lock:
            self.stats = _Stats()


class _StatusRecorder:
    """ASGI wrapper counting answers by status (admin calls excluded)."""

    def __init__(self, app: Any, state: SimulatorState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_admin"):
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                self.state.record_status(scope["path"], message["status"])
            await send(message)

        await self.app(scope, receive, send_wrapper)


# --- request parsing -----------------------------------------------------------------------


def _is_personal_id(s: str) -> bool:
    """``_ID_RE.fullmatch(s)``, faster: twelve ASCII digits."""
    return len(s) == 12 and s.isascii() and s.isdigit()


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _Problem(400, "Bad Request", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _Problem(400, "Bad Request", "the body is not a JSON object")
    return body


def _parse_ngay_sinh(value: Any) -> tuple[int | None, int]:
    """(days since 1970-01-01 or None for a year alone, year) of a query's ngay_sinh."""
    if not isinstance(value, str):
        raise _Problem(400, "Bad Request", "ngay_sinh must be a string")
    if _YEAR_RE.fullmatch(value):
        return None, int(value)
    m = _DATE_RE.fullmatch(value)
    if m:
        try:
            d = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
        else:
            return (d - _EPOCH).days, d.year
    raise _Problem(400, "Bad Request", "ngay_sinh must be yyyy-mm-dd or yyyy")


# --- the app -------------------------------------------------------------------------------


def create_app(
    register: pd.DataFrame | pa.Table | str | Path | RegisterIndex,
    clients: dict[str, str],
    quota_rps: float | None = None,
    token_ttl_s: int = 3600,
    *,
    faults: Faults | dict[str, Any] | None = None,
    seed: int | None = None,
) -> FastAPI:
    """Build the simulator app over a register (Parquet path, DataFrame, Arrow table, or
    an already built ``RegisterIndex`` to share one between apps).

    ``clients`` maps OAuth2 client ids to secrets; ``quota_rps`` is each client's token
    bucket (None: unlimited); ``faults`` the initial fault injection; ``seed`` makes the
    injected errors reproducible. The state is at ``app.state.simulator``.
    """
    index = (
        register if isinstance(register, RegisterIndex) else RegisterIndex(load_register(register))
    )
    if isinstance(faults, dict):
        faults = Faults(**faults)
    state = SimulatorState(index, clients, quota_rps, token_ttl_s, faults or Faults(), seed)

    app = FastAPI(
        title="Population register simulator",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # the contract is include/contracts/population-api.yaml, not this app's schema
    )
    app.state.simulator = state
    app.add_middleware(_StatusRecorder, state=state)

    @app.exception_handler(_Problem)
    async def _on_problem(_: Request, exc: _Problem) -> Response:
        return problem_response(exc.status, exc.title, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(_: Request, exc: StarletteHTTPException) -> Response:
        return problem_response(exc.status_code, str(exc.detail), "", exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _on_validation(_: Request, exc: RequestValidationError) -> Response:
        return problem_response(400, "Bad Request", "malformed request")

    async def guard(request: Request) -> str:
        """Outage, authentication, quota, injected faults: in that order. Returns the client."""
        down, ra = state.outage_retry_after()
        if down:
            headers = {"Retry-After": str(ra)} if ra is not None else None
            raise _Problem(503, "Service Unavailable", "the register is in maintenance", headers)
        client_id = state.client_of(request.headers.get("authorization"))
        if client_id is None:
            raise _Problem(
                401,
                "Unauthorized",
                "a valid bearer token is required",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        retry_after = state.admit(client_id)
        if retry_after is not None:
            raise _Problem(
                429,
                "Too Many Requests",
                "the client's quota is exhausted",
                {"Retry-After": str(retry_after)},
            )
        if state.faults.latency_ms > 0:
            await asyncio.sleep(state.faults.latency_ms / 1000)
        injected = state.draw_error()
        if injected is not None:
            title = "Service Unavailable" if injected == 503 else "Internal Server Error"
            raise _Problem(injected, title, "injected fault")
        return client_id

    @app.post("/oauth/token")
    async def token(request: Request) -> Response:
        down, ra = state.outage_retry_after()
        if down:
            headers = {"Retry-After": str(ra)} if ra is not None else None
            raise _Problem(503, "Service Unavailable", "the register is in maintenance", headers)
        try:
            form = await request.form()
        except Exception:  # noqa: BLE001 - any unparsable body is refused like bad credentials
            form = {}
        grant_type = form.get("grant_type")
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        # The contract only knows 200 and 401 here: every refusal is a 401.
        if (
            grant_type != "client_credentials"
            or not isinstance(client_id, str)
            or not isinstance(secret, str)
        ):
            raise _Problem(
                401, "Unauthorized", "client_credentials with client_id and client_secret required"
            )
        access = state.issue_token(client_id, secret)
        if access is None:
            raise _Problem(401, "Unauthorized", "invalid client credentials")
        resp = _json_response(
            {"access_token": access, "token_type": "Bearer", "expires_in": state.token_ttl_s}
        )
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.get("/v1/citizens/{so_dinh_danh}")
    async def get_citizen(so_dinh_danh: str, request: Request) -> Response:
        await guard(request)
        # The contract lists no 400 here: a malformed ID is simply not found.
        if not _ID_RE.fullmatch(so_dinh_danh):
            raise _Problem(404, "Not Found", "no such citizen")
        rows = index.lookup_ids([so_dinh_danh])
        if rows[0] < 0:
            raise _Problem(404, "Not Found", "no such citizen")
        return _raw_json_response(index.citizen_json(rows)[0])

    @app.post("/v1/citizens:batchGet")
    async def batch_get(request: Request) -> Response:
        await guard(request)
        body = await _json_object(request)
        ids = body.get("ids")
        if not isinstance(ids, list):
            raise _Problem(400, "Bad Request", "ids must be an array")
        if len(ids) > BATCH_GET_MAX_IDS:
            raise _Problem(413, "Content Too Large", f"at most {BATCH_GET_MAX_IDS} ids")
        if not ids:
            raise _Problem(400, "Bad Request", "ids must not be empty")
        if not all(isinstance(i, str) and _is_personal_id(i) for i in ids):
            raise _Problem(400, "Bad Request", "every id must be 12 digits")
        distinct = list(dict.fromkeys(ids))
        state.count_asks(ids=distinct)
        rows = index.lookup_ids(distinct)
        hit = rows >= 0
        found = index.citizen_json(rows[hit])
        # The IDs are 12 ASCII digits: quoting them is their JSON encoding.
        not_found = [b'"%s"' % distinct[i].encode() for i in np.flatnonzero(~hit).tolist()]
        return _raw_json_response(
            b'{"found":[' + b",".join(found) + b'],"not_found":[' + b",".join(not_found) + b"]}"
        )

    @app.post("/v1/citizens:match")
    async def match(request: Request) -> Response:
        await guard(request)
        body = await _json_object(request)
        queries = body.get("queries")
        if not isinstance(queries, list):
            raise _Problem(400, "Bad Request", "queries must be an array")
        if len(queries) > MATCH_MAX_QUERIES:
            raise _Problem(413, "Content Too Large", f"at most {MATCH_MAX_QUERIES} queries")
        if not queries:
            raise _Problem(400, "Bad Request", "queries must not be empty")
        parsed: list[tuple[str, str, int, int | None, int]] = []
        nfc = unicodedata.normalize
        for q in queries:
            if not isinstance(q, dict):
                raise _Problem(400, "Bad Request", "each query must be an object")
            ref, ho_ten, sex = q.get("ref"), q.get("ho_ten"), q.get("gioi_tinh")
            if not isinstance(ref, str) or not isinstance(ho_ten, str):
                raise _Problem(400, "Bad Request", "ref and ho_ten must be strings")
            sex_code = SEX_CODES.get(nfc("NFC", sex)) if isinstance(sex, str) else None
            if sex_code is None:
                raise _Problem(400, "Bad Request", "gioi_tinh must be Nam or Nữ")
            dob_days, year = _parse_ngay_sinh(q.get("ngay_sinh"))
            parsed.append((ref, ho_ten, sex_code, dob_days, year))
        if len({p[0] for p in parsed}) != len(parsed):
            raise _Problem(400, "Bad Request", "refs must be unique within a request")
        refs, names, sexes, days, years = zip(*parsed, strict=True)
        folded = fold_keys(names).to_pylist()
        state.count_asks(
            queries=[
                (f, str(q.get("gioi_tinh")), str(q.get("ngay_sinh")))
                for f, q in zip(folded, queries, strict=True)
            ]
        )
        q, rows = index.match_many(
            folded,
            np.array(sexes, dtype=np.int64),
            np.array([_NO_DATE if d is None else d for d in days], dtype=np.int64),
            np.array(years, dtype=np.int64),
        )
        cands = index.citizen_json(rows)
        bounds = np.searchsorted(q, np.arange(len(parsed) + 1)).tolist()
        results = [
            b'{"ref":%s,"candidates":[%s]}' % (_json_str(ref), b",".join(cands[lo:hi]))
            for ref, lo, hi in zip(refs, bounds, bounds[1:], strict=False)
        ]
        return _raw_json_response(b'{"results":[' + b",".join(results) + b"]}")

    # --- admin: not part of the contract ----------------------------------------------

    @app.post("/_admin/faults", include_in_schema=False)
    async def admin_faults(request: Request) -> Response:
        body = await _json_object(request)
        try:
            return _json_response(state.configure(body))
        except (TypeError, ValueError) as exc:
            raise _Problem(400, "Bad Request", str(exc)) from None

    @app.get("/_admin/faults", include_in_schema=False)
    async def admin_get_faults() -> Response:
        return _json_response(state.settings())

    @app.post("/_admin/revoke-tokens", include_in_schema=False)
    async def admin_revoke() -> Response:
        return _json_response({"revoked": state.revoke_tokens()})

    @app.get("/_admin/stats", include_in_schema=False)
    async def admin_stats() -> Response:
        return _json_response(state.stats_snapshot())

    @app.get("/_admin/asks", include_in_schema=False)
    async def admin_asks() -> Response:
        return _json_response(state.ask_counts())

    @app.post("/_admin/reset-stats", include_in_schema=False)
    async def admin_reset_stats() -> Response:
        state.reset_stats()
        return _json_response({"reset": True})

    return app


# --- running it in a background thread (tests, benchmarks) ---------------------------------


class BackgroundServer:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a daemon thread.

    Use as a context manager; ``base_url`` is ready once ``start()`` returns.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn  # local: only the server needs it

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", access_log=False, timeout_keep_alive=30
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            daemon=True,
            name=f"population-api-{self.port}",
        )

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> BackgroundServer:
        """Start serving; raise if uvicorn is not up within ``timeout_s``."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the population register simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout_s)
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
