"""Each ID and each match query asked once per run, across districts (decision 0015).

A person with records in two districts used to be asked twice: once by each district's
reconcile task. The run's *answer store* in the national database
(``recon.register_ask``, ``recon.register_answer``; V010) lets the district tasks of a
run share the register's answers, whether they run in one process, in several, or on
Celery workers on other machines:

1. a task **claims** the keys it will ask (``INSERT … ON CONFLICT`` over the keys it
   COPYed in: the claim is the primary key's, so exactly one task wins each key);
2. it asks the register only for the keys it claimed, in the client's batches, a chunk
   at a time, and writes each chunk's answers (COPY) in the transaction that marks its
   keys answered;
3. for the keys another task claimed it **waits**, polling the store read-only, and reads
   their answers; a claim that stays unanswered for ``answer_wait_s`` (its task died or
   stalls) or is given back (its task failed) is taken over and asked by the waiting
   task itself; after twice that without any progress it asks what is left without
   claiming it. The wait is bounded.

An ID key is the ID; a query key is (folded name, sex, date): the register compares
folded names (docs/register-api.md), so two spellings that fold alike are one question.
The answers are personal data, kept for the run only: the run's report deletes them
(:func:`forget_run`), and the next run's plan step what a run left (:func:`purge`).
:class:`SharedRegister` is a :class:`hotich.reconcile.RegisterLookup` over any other
(the HTTP client), so reconciliation does not know it is there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from hotich.config import RegisterSettings
from hotich.load import copy_frame
from hotich.model import CITIZEN_COLUMNS
from hotich.names import keys_in
from hotich.reconcile import KEY_SEP, query_keys

log = logging.getLogger(__name__)

Kind = Literal["id", "query"]
#: NULL in the answers' COPY, so that an empty text stays an empty text.
_NULL = "\\N"
ANSWER_COLUMNS = ("run_id", "kind", "ask_key", *CITIZEN_COLUMNS)


@dataclass
class SharedStats:
    """What one district's task did through the store (counts only, for logs and XCom)."""

    ids_asked: int = 0
    """Distinct IDs this task claimed and asked the register."""
    ids_shared: int = 0
    """Distinct IDs another task asked, read from the store."""
    queries_asked: int = 0
    queries_shared: int = 0
    taken_over: int = 0
    """Keys whose claim went stale or was given back, then claimed and asked here."""
    asked_unclaimed: int = 0
    """Keys asked without a claim after waiting too long without progress."""
    read_again: int = 0
    """Keys this task asked for an earlier chunk of its district, read back from the store
    (the reconcile step asks a chunk at a time: an ID or query repeats across chunks)."""
    seconds_waited: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The counters as a plain dict (seconds rounded to milliseconds)."""
        d = asdict(self)
        d["seconds_waited"] = round(d["seconds_waited"], 3)
        return d


def _sql(sql_dir: Path, name: str) -> str:
    return (sql_dir / "register" / name).read_text(encoding="utf-8")


class SharedRegister:
    """A :class:`~hotich.reconcile.RegisterLookup` that asks ``register`` only what no
    other district task of the run asked or is asking, and shares what it asked.

    ``connect`` opens a psycopg2 connection to the national database (opened once,
    closed by :meth:`close`). Not thread-safe: one per task.
    """

    def __init__(
        self,
        register: Any,
        connect: Callable[[], Any],
        sql_dir: Path,
        run_id: str,
        district_code: str,
        settings: RegisterSettings,
    ) -> None:
        self.register = register
        self._connect = connect
        self._conn: Any = None
        self.sql_dir = sql_dir
        self.run_id = run_id
        self.district_code = district_code
        self.settings = settings
        self.stats = SharedStats()
        # The keys this task asked (keys only), to tell its own answers read back for a
        # later chunk from other districts'.
        self._asked: dict[Kind, set[str]] = {"id": set(), "query": set()}

    # --- the RegisterLookup protocol -------------------------------------------------------

    def batch_get(self, ids: Iterable[str]) -> tuple[pd.DataFrame, set[str]]:
        """Citizens by ID, as ``register.batch_get`` gives them, each ID asked once a run."""
        keys = pd.Series(list(ids), dtype=object).dropna().astype(str).drop_duplicates()
        if keys.empty:
            return pd.DataFrame(columns=list(CITIZEN_COLUMNS)), set()

        def ask(chunk: list[str]) -> pd.DataFrame:
            found, _ = self.register.batch_get(chunk)
            return found.assign(ask_key=found["so_dinh_danh"].astype(str))

        answers = self._answers("id", keys.tolist(), ask)
        answers = answers.drop_duplicates("ask_key")
        not_found = set(keys.tolist()) - set(answers["ask_key"].tolist())
        return answers[list(CITIZEN_COLUMNS)].reset_index(drop=True), not_found

    def match(self, queries: pd.DataFrame) -> pd.DataFrame:
        """Candidates of match queries, as ``register.match`` gives them, each (folded name,
        sex, date) asked once a run."""
        if queries.empty:
            return pd.DataFrame(columns=["ref", *CITIZEN_COLUMNS])
        keyed = queries.assign(ask_key=query_keys(queries))
        firsts = keyed.drop_duplicates("ask_key").set_index("ask_key")

        def ask(chunk: list[str]) -> pd.DataFrame:
            asked = firsts.loc[chunk].reset_index().assign(ref=lambda f: f["ask_key"])
            return self.register.match(asked.drop(columns="ask_key")).rename(
                columns={"ref": "ask_key"}
            )

        answers = self._answers("query", firsts.index.tolist(), ask)
        out = keyed[["ref", "ask_key"]].merge(answers, on="ask_key", how="inner", sort=False)
        return out[["ref", *CITIZEN_COLUMNS]].reset_index(drop=True)

    # --- the store -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection to the national database."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> SharedRegister:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cursor(self) -> Any:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn.cursor()

    def _params(self, kind: Kind, **more: Any) -> dict[str, Any]:
        return {"run_id": self.run_id, "kind": kind, "claimed_by": self.district_code, **more}

    def _with_keys(self, cur: Any, keys: list[str]) -> None:
        """The temporary table ``register_keys`` holding ``keys`` (COPY), until commit."""
        cur.execute(_sql(self.sql_dir, "keys.sql"))
        copy_frame(cur, "register_keys", pd.DataFrame({"ask_key": keys}), ("ask_key",))

    def _claim(self, kind: Kind, keys: list[str]) -> list[str]:
        """Claim what of ``keys`` is free, this district's own or stale; the keys claimed."""
        if not keys:
            return []
        with self._conn_tx(writes=True) as cur:
            self._with_keys(cur, keys)
            cur.execute(
                _sql(self.sql_dir, "claim.sql"),
                self._params(kind, stale_s=float(self.settings.answer_wait_s)),
            )
            return [r[0] for r in cur.fetchall()]

    @contextmanager
    def _conn_tx(self, writes: bool = False) -> Iterator[Any]:
        """A cursor in a transaction committed on leaving (rolled back on an error); one
        that ``writes`` the run's claims takes the run's store lock first (``lock.sql``)."""
        cursor = self._cursor()
        try:
            if writes:
                cursor.execute(_sql(self.sql_dir, "lock.sql"), {"run_id": self.run_id})
            yield cursor
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise
        finally:
            cursor.close()

    def _write(self, kind: Kind, keys: list[str], answers: pd.DataFrame) -> None:
        """Mark ``keys`` answered and write their answers, for the keys still this
        district's (a claim taken over meanwhile is the other task's to answer)."""
        with self._conn_tx(writes=True) as cur:
            cur.execute(_sql(self.sql_dir, "answered.sql"), self._params(kind, keys=keys))
            mine = {r[0] for r in cur.fetchall()}
            rows = answers[keys_in(answers["ask_key"], mine)]
            rows = rows.assign(run_id=self.run_id, kind=kind)
            copy_frame(cur, "recon.register_answer", rows, ANSWER_COLUMNS, null=_NULL)

    def _heartbeat(self, kind: Kind) -> None:
        with self._conn_tx(writes=True) as cur:
            cur.execute(_sql(self.sql_dir, "heartbeat.sql"), self._params(kind))

    def _release(self) -> None:
        """Give back this district's unanswered claims (its asks failed)."""
        try:
            if self._conn is not None:
                self._conn.rollback()
            with self._conn_tx(writes=True) as cur:
                cur.execute(_sql(self.sql_dir, "release.sql"), self._params("id"))
        except Exception as exc:  # noqa: BLE001 - the asks' failure is the one to raise
            log.warning("register answers: claims not given back (%s); they go stale", exc)

    def _waiting(self, kind: Kind, keys: list[str]) -> tuple[list[str], list[str]]:
        """Of the keys waited for, those answered and those free to take over (their claim
        went stale or was given back); read only (``waiting.sql``)."""
        params = self._params(kind, keys=keys, stale_s=float(self.settings.answer_wait_s))
        with self._conn_tx() as cur:
            cur.execute(_sql(self.sql_dir, "waiting.sql"), params)
            state = dict(cur.fetchall())
        answered = [k for k, s in state.items() if s == "answered"]
        takeable = [k for k in keys if state.get(k, "stale") == "stale"]
        return answered, takeable

    def _read(self, kind: Kind, keys: list[str]) -> pd.DataFrame:
        with self._conn_tx() as cur:
            cur.execute(_sql(self.sql_dir, "answers.sql"), self._params(kind, keys=keys))
            rows = cur.fetchall()
        return pd.DataFrame(rows, columns=["ask_key", *CITIZEN_COLUMNS], dtype=object)

    def _ask_and_write(
        self, kind: Kind, keys: list[str], ask: Callable[[list[str]], pd.DataFrame]
    ) -> list[pd.DataFrame]:
        """Ask the register for claimed ``keys`` a chunk at a time, writing each chunk's
        answers; on a failure give the unanswered claims back, then raise."""
        out = []
        size = self.settings.answer_chunk
        # The claims stay fresh if confirmed well within answer_wait_s; confirming after
        # every chunk rewrote every unanswered claim each time (quadratic in the claims).
        every_s, beat = self.settings.answer_wait_s / 4, time.monotonic()
        try:
            for i in range(0, len(keys), size):
                chunk = keys[i : i + size]
                answers = ask(chunk)
                self._write(kind, chunk, answers)
                out.append(answers)
                if i + size < len(keys) and time.monotonic() - beat > every_s:
                    self._heartbeat(kind)
                    beat = time.monotonic()
        except BaseException:
            self._release()
            raise
        return out

    def _answers(
        self, kind: Kind, keys: list[str], ask: Callable[[list[str]], pd.DataFrame]
    ) -> pd.DataFrame:
        """The answers (``ask_key`` + citizen columns, one row per key and citizen) for
        ``keys``: asked here for the keys this task claims, read from the store for the
        others once their task has written them."""
        frames: list[pd.DataFrame] = []
        claimed = self._claim(kind, keys)
        frames += self._ask_and_write(kind, claimed, ask)
        asked, taken, unclaimed = len(claimed), 0, 0
        pending = set(keys).difference(claimed)
        again = len(pending & self._asked[kind])
        shared = len(pending) - again
        self._asked[kind].update(claimed)
        s = self.settings
        started = last_progress = time.monotonic()
        # Bounded: every pass either makes progress or sleeps; without progress for twice
        # answer_wait_s the rest is asked unclaimed.
        max_passes = int(4 * s.answer_wait_s / s.answer_poll_s) + 4 * len(pending) + 10
        for _ in range(max_passes):
            if not pending:
                break
            done, takeable = self._waiting(kind, sorted(pending))
            if done:
                frames.append(self._read(kind, done))
                pending.difference_update(done)
                last_progress = time.monotonic()
                continue
            # Claim only what can be taken: trying every pending key each pass took the
            # store's lock and locked every row in conflict, all the while the district
            # that claimed them was writing their answers (decision 0024).
            took = self._claim(kind, takeable)
            if took:
                frames += self._ask_and_write(kind, took, ask)
                self._asked[kind].update(took)
                pending.difference_update(took)
                taken += len(took)
                last_progress = time.monotonic()
                continue
            if time.monotonic() - last_progress > 2 * s.answer_wait_s:
                break
            time.sleep(s.answer_poll_s)
        if pending:
            rest = sorted(pending)
            log.warning(
                "register answers: %d %s keys of other districts still unanswered after"
                " %.0f s; asking them here",
                len(rest),
                kind,
                time.monotonic() - started,
            )
            frames.append(ask(rest))
            self._asked[kind].update(rest)
            unclaimed = len(rest)
        waited = time.monotonic() - started
        shared -= taken + unclaimed
        st = self.stats
        if kind == "id":
            st.ids_asked += asked + taken + unclaimed
            st.ids_shared += shared
        else:
            st.queries_asked += asked + taken + unclaimed
            st.queries_shared += shared
        st.taken_over += taken
        st.asked_unclaimed += unclaimed
        st.read_again += again
        st.seconds_waited += waited if shared or taken else 0.0
        log.info(
            "register answers (%s): %d keys, %d asked here, %d read from other districts'"
            " asks, %d asked for an earlier chunk, %d taken over, %.2f s waiting",
            kind,
            len(keys),
            asked + taken + unclaimed,
            shared,
            again,
            taken,
            waited,
        )
        parts = [f for f in frames if len(f)]
        if not parts:
            return pd.DataFrame(columns=["ask_key", *CITIZEN_COLUMNS], dtype=object)
        return pd.concat(parts, ignore_index=True)[["ask_key", *CITIZEN_COLUMNS]]


def forget_run(cur: Any, sql_dir: Path, run_id: str) -> None:
    """Delete the run's register answers (its report: the run is over)."""
    cur.execute(_sql(sql_dir, "forget_run.sql"), {"run_id": run_id})


def purge(cur: Any, sql_dir: Path, current_run_id: str, older_than_minutes: int) -> None:
    """Delete what other runs left in the answer store once older than
    ``older_than_minutes`` (the run timeout: no such run can still be going)."""
    cur.execute(
        _sql(sql_dir, "purge.sql"),
        {"run_id": current_run_id, "older_than_minutes": int(older_than_minutes)},
    )


__all__ = ["KEY_SEP", "SharedRegister", "SharedStats", "forget_run", "purge", "query_keys"]
