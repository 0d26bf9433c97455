"""District leases: one district is processed by one run at a time (docs/decisions/0006).

A run takes a district's lease (``recon.district_lease``) before it reads the district,
and gives it back in the transaction that commits the district (``load.load_batch``), or
at its report when the district failed. Another run that wants the district meanwhile
gets :class:`DistrictHeld`, naming the holder: it skips the district, and the district's
records are read by whichever run next gets the lease, since nothing of them was
committed by the skipping run. A lease whose run vanished (a crash) may be taken over
once it expires (``HOTICH_LEASE_EXPIRY_MINUTES``); a run whose lease was taken over
commits nothing of the district.

Any DAG that reads or writes a district's records (the daily run, an inbox run, a
re-reconciliation) takes the same lease, so none of them needs an Airflow pool. The SQL
is in ``include/sql/lease/``. Nothing here knows Airflow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotich.config import TIMEZONE
from hotich.errors import IncidentError

# take.sql then holder.sql can miss a lease released between the two: try again, a few times.
_TAKE_ATTEMPTS = 3


@dataclass(frozen=True)
class Lease:
    """Who holds a district, since when, until when."""

    district_code: str
    run_id: str
    taken_at: dt.datetime
    expires_at: dt.datetime


def local_time(when: dt.datetime) -> str:
    """A lease time as operators read it: ``2026-11-25 01:00:03 +07``."""
    return when.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M:%S %z")[:-2]


class DistrictHeld(IncidentError, RuntimeError):
    """Another run holds the district's lease: this run skips the district.

    ``lost``: this run held the lease but it expired and another run took it over (its
    load then commits nothing).
    """

    incident_kind = "district_held"

    def __init__(self, district_code: str, holder: Lease | None, *, lost: bool = False) -> None:
        self.district_code = district_code
        self.holder = holder
        self.lost = lost
        super().__init__(f"district {district_code}: {self.status}")

    @property
    def status(self) -> str:
        """One line for the run report: ``skipped: held by run <id> since <time>``."""
        if self.holder is None:
            if self.lost:
                return (
                    "skipped: this run no longer holds the district's lease (its load already"
                    " committed, or the lease was given back); nothing committed now"
                )
            return "skipped: held by another run (it changed hands while looking)"
        since = f"held by run {self.holder.run_id} since {local_time(self.holder.taken_at)}"
        if self.lost:
            return f"skipped: this run's lease expired and is now {since}; nothing committed"
        return f"skipped: {since} (lease expires {local_time(self.holder.expires_at)})"

    def as_dict(self) -> dict[str, Any]:
        """What the run report needs, as JSON-ready values."""
        h = self.holder
        return {
            "district_code": self.district_code,
            "status": self.status,
            "holder_run_id": h.run_id if h else None,
            "taken_at": h.taken_at.isoformat() if h else None,
            "expires_at": h.expires_at.isoformat() if h else None,
            "lost": self.lost,
        }


def _sql(sql_dir: Path, name: str) -> str:
    return (sql_dir / "lease" / f"{name}.sql").read_text(encoding="utf-8")


def take(cur, sql_dir: Path, district_code: str, run_id: str, expiry: dt.timedelta) -> Lease:
    """Take (or renew) ``run_id``'s lease of the district on a psycopg2 cursor; raise
    :class:`DistrictHeld` when another run holds an unexpired one.

    The caller commits: until then the lease row stays locked, and others wait.
    """
    params = {"district_code": district_code, "run_id": run_id}
    for _ in range(_TAKE_ATTEMPTS):
        cur.execute(_sql(sql_dir, "take"), {**params, "expiry_s": expiry.total_seconds()})
        row = cur.fetchone()
        if row:
            return Lease(district_code, *row)
        cur.execute(_sql(sql_dir, "holder"), params)
        row = cur.fetchone()
        if row:
            raise DistrictHeld(district_code, Lease(district_code, *row))
    raise DistrictHeld(district_code, None)


def release(cur, sql_dir: Path, district_code: str, run_id: str) -> None:
    """Give back ``run_id``'s lease of the district in the caller's transaction; raise
    :class:`DistrictHeld` (``lost``) when the run no longer holds it, so that the caller
    rolls back instead of committing what another run is processing."""
    params = {"district_code": district_code, "run_id": run_id}
    cur.execute(_sql(sql_dir, "release"), params)
    if cur.fetchone() is None:
        cur.execute(_sql(sql_dir, "holder"), params)
        row = cur.fetchone()
        raise DistrictHeld(district_code, Lease(district_code, *row) if row else None, lost=True)


def held(cur, sql_dir: Path) -> frozenset[tuple[str, str]]:
    """The ``(run_id, district_code)`` of every unexpired lease: districts some run is
    working on now. A database not yet migrated has none."""
    cur.execute("SELECT to_regclass('recon.district_lease') IS NOT NULL")
    row = cur.fetchone()
    if not (row and row[0]):
        return frozenset()
    cur.execute(_sql(sql_dir, "held"))
    return frozenset((run_id, code) for run_id, code in cur.fetchall())


def release_run(cur, sql_dir: Path, run_id: str) -> list[str]:
    """Give back every lease ``run_id`` still holds; the districts released, sorted."""
    cur.execute(_sql(sql_dir, "release_run"), {"run_id": run_id})
    return sorted(r[0] for r in cur.fetchall())
