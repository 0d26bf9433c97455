"""A day of the campaign in a generated province's district sources (``hotich_dev.synth``).

:func:`apply_day` changes ``changes`` records across the districts, in proportion to their
size, about half new and half changed, as a day of the campaign does: rows corrected in
place (modern: ``updated_at`` set to now, district time; legacy: a note added), rows added
(modern, legacy), rows of a workbook changed and the book saved again under its name, and
a new ``KhaiSinh_<day>.csv`` file of births. Used by ``benchmarks/bench_day.py`` and the
test that a day's incremental run leaves the national database as a full re-read does.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import zoneinfo
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sqlalchemy import text

from hotich import db
from hotich.config import TIMEZONE
from hotich_dev.run import read_env_file

MODERN_TABLES = {"khai_sinh": "noi_sinh", "khai_tu": "noi_chet", "ket_hon": "vo_dan_toc"}


def province_sources(province: Path) -> list[dict]:
    """The districts file's entries, each with its connection URI (``uri``) if any."""
    uris = read_env_file(province / "connections.env")
    doc = yaml.safe_load((province / "districts.yaml").read_text(encoding="utf-8"))
    out = []
    for d in doc["districts"]:
        entry = dict(d)
        if d.get("conn_id"):
            entry["uri"] = uris[f"AIRFLOW_CONN_{d['conn_id'].upper()}"]
        out.append(entry)
    return out


def district_sizes(province: Path) -> dict[str, int]:
    """Records per district code, from the generator's truth."""
    truth = pd.read_parquet(province / "truth.parquet", columns=["source_key"])
    return truth["source_key"].str.split(":", n=1).str[0].value_counts().to_dict()


def apply_day(province: Path, changes: int, seed: int = 20) -> dict[str, int]:
    """``changes`` records new or changed across the districts (half each), in proportion
    to their size; returns the records touched per district."""
    rng = np.random.default_rng(seed)
    sizes = district_sizes(province)
    total = sum(sizes.values())
    now = dt.datetime.now(dt.UTC).astimezone(zoneinfo.ZoneInfo(TIMEZONE))
    stamp = now.replace(tzinfo=None, microsecond=0)
    touched = {}
    for d in province_sources(province):
        n = round(changes * sizes.get(d["code"], 0) / total)
        if n <= 0:
            continue
        if d["flavor"] == "workbook":
            touched[d["code"]] = _day_workbook(Path(d["inbox"]), n, rng, now)
        elif d["flavor"] == "legacy":
            touched[d["code"]] = _day_legacy(d["uri"], n, rng)
        else:
            touched[d["code"]] = _day_modern(d["uri"], n, rng, stamp)
    return touched


def _day_modern(uri: str, n: int, rng: np.random.Generator, stamp: dt.datetime) -> int:
    engine = db.engine_for(uri)
    done = 0
    share = {t: n // 3 + (1 if i < n % 3 else 0) for i, t in enumerate(MODERN_TABLES)}
    with engine.begin() as c:
        for table, column in MODERN_TABLES.items():
            rows = pd.read_sql(text(f"SELECT * FROM {table}"), c)
            ints = pd.to_numeric(rows["id"], errors="coerce")
            rows = rows[ints.notna()].assign(id=ints[ints.notna()].astype("int64"))
            k = min(share[table], len(rows))
            if k == 0:
                continue
            pick = rows.iloc[rng.choice(len(rows), size=k, replace=False)]
            changed, new = pick.iloc[: k // 2], pick.iloc[k // 2 :].copy()
            # Corrections at the source: the place (or the wife's ethnicity) retyped.
            for lo in range(0, len(changed), 1000):
                ids = [int(i) for i in changed["id"].iloc[lo : lo + 1000]]
                c.execute(
                    text(f"UPDATE {table} SET {column} = COALESCE({column}, '') || ' (sửa)',"
                         f" updated_at = :now WHERE id IN ({','.join(map(str, ids))})"),
                    {"now": stamp.strftime("%Y-%m-%d %H:%M:%S")},
                )  # fmt: skip
            # New registrations of the day: entries added at the end of their books.
            top = int(rows["id"].max())
            new["id"] = np.arange(top + 1, top + 1 + len(new))
            new["so_dang_ky"] = (
                pd.to_numeric(new["so_dang_ky"], errors="coerce").fillna(0) + 100_000
            )
            new["updated_at"] = stamp.strftime("%Y-%m-%d %H:%M:%S")
            new.to_sql(table, c, if_exists="append", index=False, chunksize=1000)
            done += len(changed) + len(new)
    engine.dispose()
    return done


def _day_legacy(uri: str, n: int, rng: np.random.Generator) -> int:
    engine = db.engine_for(uri)
    with engine.begin() as c:
        rows = pd.read_sql(text("SELECT * FROM hotich"), c)
        pick = rows.iloc[rng.choice(len(rows), size=min(n, len(rows)), replace=False)]
        changed, new = pick.iloc[: len(pick) // 2], pick.iloc[len(pick) // 2 :].copy()
        for lo in range(0, len(changed), 1000):
            ids = ",".join(str(int(i)) for i in changed["ID"].iloc[lo : lo + 1000])
            c.execute(text("UPDATE hotich SET GhiChu = CONCAT(COALESCE(GhiChu, ''), ' sửa')"
                           f" WHERE ID IN ({ids})"))  # fmt: skip
        new = new.drop(columns=["ID"])
        new["SoDK"] = (
            (pd.to_numeric(new["SoDK"], errors="coerce").fillna(0) + 100_000)
            .astype(int)
            .astype(str)
        )
        new.to_sql("hotich", c, if_exists="append", index=False, chunksize=1000)
    engine.dispose()
    return len(pick)


def _day_workbook(inbox: Path, n: int, rng: np.random.Generator, now: dt.datetime) -> int:
    """Half of ``n``: rows of one existing workbook changed (its births' places retyped),
    the file saved again under its name; the other half: a new ``KhaiSinh_<day>.csv`` of
    births typed today (copies of existing rows with new entry numbers); ``now`` names it."""
    from openpyxl import load_workbook

    from hotich.extract.workbook import TEMPLATE

    books = sorted(inbox.glob("*.xlsx"), key=lambda p: p.stat().st_size)
    half, done = n // 2, 0
    typed: list[list] = []
    for path in books:  # the smallest workbooks with births, until half their rows changed
        if done >= half:
            break
        book = load_workbook(path)
        if "KhaiSinh" not in book.sheetnames:
            continue
        ws = book["KhaiSinh"]
        header = [c.value for c in ws[1]]
        place = header.index("Nơi sinh") + 1
        rows = list(range(2, ws.max_row + 1))
        pick = rng.choice(rows, size=min(half - done, len(rows)), replace=False)
        for r in pick:
            cell = ws.cell(row=int(r), column=place)
            cell.value = f"{cell.value or ''} (sửa)"
        typed.extend([list(v) for v in ws.iter_rows(min_row=2, max_row=min(ws.max_row, 2 + n),
                                                   values_only=True)])  # fmt: skip
        book.save(path)
        done += len(pick)
    if typed:
        k = n - done
        new = pd.DataFrame([typed[i % len(typed)] for i in range(k)]).iloc[
            :, : len(TEMPLATE["KhaiSinh"])
        ]
        new.columns = TEMPLATE["KhaiSinh"]
        new = new.map(lambda v: v.strftime("%d/%m/%Y") if isinstance(v, dt.datetime) else v)
        # A CSV cell is text: an ID the book held as a number gets its zeros back.
        ids = new["Số định danh"]
        new["Số định danh"] = ids.map(lambda v: str(v).zfill(12) if isinstance(v, int) else v)
        # Entries of the old books typed today: their own registration dates, new numbers.
        new["Số đăng ký"] = [str(100_000 + i) for i in range(k)]
        new.to_csv(inbox / f"KhaiSinh_ngay-{now:%Y%m%d}.csv", index=False, encoding="utf-8")
        done += k
    # Dropped during the day, not a moment ago: older than any inbox settle time.
    earlier = time.time() - 3600
    for path in inbox.iterdir():
        if path.is_file() and path.stat().st_mtime > earlier:
            os.utime(path, (earlier, earlier))
    return done
