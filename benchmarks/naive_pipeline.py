"""The pipeline a provincial team would write first, for ``bench_compare.py`` to race.

Written as a competent team writes a first version from the contract (README of
/work/shared/contracts, docs/ledger.md), not as a strawman, and with none of hotich's
code: read each table of a ``modern`` district whole with ``pandas.read_sql``; loop over
the records in Python, one function per rule; ask the population register about each
person on their own (``GET /v1/citizens/{id}`` for a given ID, one ``match`` query per
request for a person without one, over one keep-alive ``requests.Session``); decide the
link in Python; write the verdicts and the records row by row (``cursor.execute`` per
row, one commit per district) into its own tables ``naive.ledger`` and
``naive.registration`` of the national database.

Scope: ``modern`` districts only (PostgreSQL, MariaDB or SQLite), a first run (no
earlier claims, no watermarks), no decisions: what a first version does. The legacy and
workbook readers (TCVN3/VNI, spreadsheets) are left out on both sides of the race.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import requests
from dateutil.relativedelta import relativedelta
from rapidfuzz.distance import DamerauLevenshtein
from sqlalchemy import create_engine

CONTRACTS = Path(__file__).resolve().parents[1] / "include" / "contracts"

NAME_MAX, TEXT_MAX = 100, 255
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Whitespace a name's runs are collapsed over: Unicode spaces, not the control characters
# (U+001C-U+001F count as space in Python, and validation must still see them).
SPACE_RUN = re.compile(r"[ \t\n\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
STRIP = " \t\n\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
DATE_DMY = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})$")
DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
DATE_YEAR = re.compile(r"^(\d{4})$")
ID_RE = re.compile(r"^[0-9]{12}$")
MATCH_LIMIT = 50

QUARANTINE = {
    "REQUIRED_MISSING", "DATE_INVALID", "VALUE_INVALID", "DATE_ORDER", "MARRIAGE_AGE",
    "ID_FORMAT", "ID_PROVINCE", "ID_CENTURY_SEX", "ID_BIRTH_YEAR", "DUPLICATE_ENTRY",
}  # fmt: skip
REVIEW = {"ID_NOT_FOUND", "NAME_MISMATCH", "DOB_MISMATCH", "SEX_MISMATCH"}

# Source table -> (record type, {source column: field}).
TABLES = {
    "khai_sinh": ("birth", {
        "ma_so": "book", "so_dang_ky": "entry_no", "ngay_dang_ky": "registration_date",
        "so_dinh_danh": "subject_id", "ho_ten": "subject_name", "gioi_tinh": "subject_sex",
        "ngay_sinh": "subject_dob", "noi_sinh": "place", "dan_toc": "ethnicity",
        "quoc_tich": "nationality", "ho_ten_me": "mother_name", "ngay_sinh_me": "mother_dob",
        "ho_ten_cha": "father_name", "ngay_sinh_cha": "father_dob",
    }),
    "khai_tu": ("death", {
        "ma_so": "book", "so_dang_ky": "entry_no", "ngay_dang_ky": "registration_date",
        "so_dinh_danh": "subject_id", "ho_ten": "subject_name", "gioi_tinh": "subject_sex",
        "ngay_sinh": "subject_dob", "ngay_chet": "death_date", "noi_chet": "place",
        "nguyen_nhan": "death_cause",
    }),
    "ket_hon": ("marriage", {
        "ma_so": "book", "so_dang_ky": "entry_no", "ngay_dang_ky": "registration_date",
        "chong_ho_ten": "husband_name", "chong_ngay_sinh": "husband_dob",
        "chong_so_dinh_danh": "husband_id", "chong_dan_toc": "husband_ethnicity",
        "vo_ho_ten": "wife_name", "vo_ngay_sinh": "wife_dob", "vo_so_dinh_danh": "wife_id",
        "vo_dan_toc": "wife_ethnicity",
    }),
}  # fmt: skip
NAME_FIELDS = {"subject_name", "mother_name", "father_name", "husband_name", "wife_name"}
DATE_FIELDS = {
    "registration_date", "subject_dob", "death_date", "mother_dob", "father_dob",
    "husband_dob", "wife_dob",
}  # fmt: skip
YEAR_ALLOWED = {"mother_dob", "father_dob"}  # and a death's subject_dob


def province_codes(path: Path = CONTRACTS / "province_codes.csv") -> set[str]:
    """The 63 three-digit codes of the personal ID."""
    with path.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return {r[0].strip() for r in rows[1:] if r and r[0].strip().isdigit()}


# --- values ---------------------------------------------------------------------------------
def text_of(value: Any, name: bool = False) -> str | None:
    """A source cell as trimmed NFC text (a name's space runs made one); blank is None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    s = unicodedata.normalize("NFC", str(value))
    if name:
        s = SPACE_RUN.sub(" ", s)
    s = s.strip(STRIP)
    return s or None


@dataclass(frozen=True)
class Date:
    """A parsed date: ``state`` is missing, full, year or invalid."""

    state: str
    date: dt.date | None = None
    year: int | None = None

    @property
    def valid(self) -> bool:
        return self.state in ("full", "year")


def parse_date(value: Any) -> Date:
    """dd/mm/yyyy, yyyy-mm-dd (a time of day ignored), yyyy, or a date object."""
    if isinstance(value, dt.datetime):
        return Date("full", value.date(), value.year)
    if isinstance(value, dt.date):
        return Date("full", value, value.year)
    s = text_of(value)
    if s is None:
        return Date("missing")
    m = DATE_DMY.match(s)
    ymd = (int(m[4]), int(m[3]), int(m[1])) if m else None
    if ymd is None and (m := DATE_ISO.match(s)):
        ymd = (int(m[1]), int(m[2]), int(m[3]))
    if ymd is not None:
        try:
            d = dt.date(*ymd)
        except ValueError:
            return Date("invalid")
        return Date("full", d, d.year)
    if m := DATE_YEAR.match(s):
        return Date("year", None, int(m[1])) if int(m[1]) >= 1 else Date("invalid")
    return Date("invalid")


def before(a: Date, b: Date) -> bool:
    """``a`` lies before ``b``; a year-only date compares by its year."""
    if a.state == "year" or b.state == "year":
        return a.year < b.year  # type: ignore[operator]
    return a.date < b.date  # type: ignore[operator]


def sex_of(value: Any) -> str | None:
    s = text_of(value, name=True)
    if s is None:
        return None
    return {"nam": "Nam", "nữ": "Nữ"}.get(s.casefold())


def exact_form(name: str) -> str:
    return SPACE_RUN.sub(" ", unicodedata.normalize("NFC", name).lower()).strip()


def fold(name: str) -> str:
    """NFC, lower case, diacritics removed (NFD, combining marks dropped) with đ→d, spaces."""
    low = unicodedata.normalize("NFC", name).lower()
    bare = "".join(c for c in unicodedata.normalize("NFD", low) if not unicodedata.combining(c))
    return SPACE_RUN.sub(" ", bare.replace("đ", "d")).strip()


def one_slip(a: str, b: str) -> bool:
    return DamerauLevenshtein.distance(fold(a), fold(b)) <= 1


def century_digit(year: int, male: bool) -> int | None:
    if not 1900 <= year <= 2399:
        return None
    return 2 * ((year - 1900) // 100) + (0 if male else 1)


# --- the rules, one record at a time ----------------------------------------------------------
@dataclass
class Record:
    """One source record, its fields as text (dates parsed), and what the rules found."""

    source_key: str
    district_code: str
    record_type: str
    local_key: str
    fields: dict[str, Any]
    dates: dict[str, Date]
    codes: set[str] = field(default_factory=set)
    personal_id: str | None = None


def check_record(rec: Record, run_date: dt.date, provinces: set[str]) -> None:
    """Every quarantine rule but DUPLICATE_ENTRY, added to ``rec.codes``."""
    f, d, codes, rtype = rec.fields, rec.dates, rec.codes, rec.record_type
    for name, value in f.items():
        if isinstance(value, str) and (
            CONTROL.search(value) or len(value) > (NAME_MAX if name in NAME_FIELDS else TEXT_MAX)
        ):
            codes.add("VALUE_INVALID")
    for name, date in d.items():
        year_ok = name in YEAR_ALLOWED or (rtype == "death" and name == "subject_dob")
        if date.state == "invalid" or (date.state == "year" and not year_ok):
            codes.add("DATE_INVALID")
            d[name] = Date("invalid")
        elif date.state == "full" and date.date > run_date:  # type: ignore[operator]
            codes.add("DATE_INVALID")
            d[name] = Date("invalid")
        elif date.state == "year" and date.year > run_date.year:  # type: ignore[operator]
            codes.add("DATE_INVALID")
            d[name] = Date("invalid")
    required = ["registration_date", "book", "entry_no"]
    if rtype == "marriage":
        required += ["husband_name", "husband_dob", "wife_name", "wife_dob"]
    else:
        required += ["subject_name", "subject_sex", "subject_dob"]
        required += ["death_date"] if rtype == "death" else []
    for name in required:
        missing = d[name].state == "missing" if name in DATE_FIELDS else f.get(name) is None
        if missing:
            codes.add("REQUIRED_MISSING")
    reg = d["registration_date"]
    if rtype == "marriage":
        for who, min_age in (("husband", 20), ("wife", 18)):
            dob = d[f"{who}_dob"]
            if reg.valid and dob.valid and before(reg, dob):
                codes.add("DATE_ORDER")
            if reg.state == "full" and dob.state == "full":
                if relativedelta(reg.date, dob.date).years < min_age:
                    codes.add("MARRIAGE_AGE")
        people = [("husband_id", "husband_dob", "Nam"), ("wife_id", "wife_dob", "Nữ")]
    else:
        dob = d["subject_dob"]
        if reg.valid and dob.valid and before(reg, dob):
            codes.add("DATE_ORDER")
        if rtype == "death":
            death = d["death_date"]
            if death.valid and dob.valid and before(death, dob):
                codes.add("DATE_ORDER")
            if reg.valid and death.valid and before(reg, death):
                codes.add("DATE_ORDER")
        people = [("subject_id", "subject_dob", f["subject_sex"])]
    for id_field, dob_field, sex in people:
        pid, dob = f.get(id_field), d[dob_field]
        if pid is None:
            continue
        if not ID_RE.match(pid):
            codes.add("ID_FORMAT")
            continue
        if pid[:3] not in provinces:
            codes.add("ID_PROVINCE")
        if dob.valid and sex is not None:
            if century_digit(dob.year, sex == "Nam") != int(pid[3]):  # type: ignore[arg-type]
                codes.add("ID_CENTURY_SEX")
        if dob.valid and pid[4:6] != f"{dob.year % 100:02d}":  # type: ignore[operator]
            codes.add("ID_BIRTH_YEAR")


def mark_duplicates(records: list[Record]) -> None:
    """DUPLICATE_ENTRY for every record but the first of its (type, book, entry): the
    smallest local key, integers numerically, text keys after them."""

    def order(r: Record) -> tuple:
        k = r.local_key
        return (0, int(k), "") if k.lstrip("-").isdigit() else (1, 0, k)

    seen: set[tuple] = set()
    for r in sorted(records, key=order):
        book, entry = r.fields.get("book"), r.fields.get("entry_no")
        if book is None or entry is None:
            continue
        key = (r.record_type, book, entry)
        if key in seen:
            r.codes.add("DUPLICATE_ENTRY")
        seen.add(key)


# --- the register, one person at a time --------------------------------------------------------
class Register:
    """The population register over HTTP: one request per person, a token per session."""

    def __init__(self, uri: str) -> None:
        parts = urlsplit(uri)
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port}"
        self.client = (parts.username or "", parts.password or "")
        self.session = requests.Session()
        self.requests = 0
        self._token()

    def _token(self) -> None:
        r = self.session.post(
            f"{self.base}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": self.client[0],
                  "client_secret": self.client[1]},
            timeout=30,
        )  # fmt: skip
        r.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def _send(self, method: str, path: str, **kw: Any) -> requests.Response:
        for attempt in range(6):
            self.requests += 1
            r = self.session.request(method, f"{self.base}{path}", timeout=30, **kw)
            if r.status_code == 401 and attempt == 0:
                self._token()
            elif r.status_code in (429, 500, 502, 503):
                time.sleep(float(r.headers.get("Retry-After", 0.5 * 2**attempt)))
            else:
                return r
        r.raise_for_status()
        return r

    def get(self, pid: str) -> dict | None:
        r = self._send("GET", f"/v1/citizens/{pid}")
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()

    def match(self, name: str, sex: str, dob: Date) -> list[dict]:
        ngay_sinh = dob.date.isoformat() if dob.state == "full" else f"{dob.year:04d}"  # type: ignore[union-attr]
        body = {"queries": [{"ref": "q", "ho_ten": name, "gioi_tinh": sex, "ngay_sinh": ngay_sinh}]}
        r = self._send("POST", "/v1/citizens:match", json=body)
        r.raise_for_status()
        return r.json()["results"][0]["candidates"]


@dataclass
class Person:
    role: str
    name: str
    sex: str
    dob: Date
    pid: str | None
    mother: str | None = None
    father: str | None = None
    death: Date | None = None
    reg: Date | None = None


def persons_of(rec: Record) -> list[Person]:
    f, d = rec.fields, rec.dates
    if rec.record_type == "marriage":
        return [
            Person("husband", f["husband_name"], "Nam", d["husband_dob"], f.get("husband_id"),
                   reg=d["registration_date"]),
            Person("wife", f["wife_name"], "Nữ", d["wife_dob"], f.get("wife_id"),
                   reg=d["registration_date"]),
        ]  # fmt: skip
    return [
        Person("subject", f["subject_name"], f["subject_sex"], d["subject_dob"], f.get("subject_id"),
               mother=f.get("mother_name") if rec.record_type == "birth" else None,
               father=f.get("father_name") if rec.record_type == "birth" else None,
               death=d.get("death_date"), reg=d["registration_date"])
    ]  # fmt: skip


def check_given_id(p: Person, citizen: dict | None) -> set[str]:
    """Review codes (and NAME_DIACRITICS) of a person who gives a well-formed ID."""
    if citizen is None:
        return {"ID_NOT_FOUND"}
    codes = set()
    if fold(citizen["ho_ten"]) != fold(p.name):
        codes.add("NAME_MISMATCH")
    elif exact_form(citizen["ho_ten"]) != exact_form(p.name):
        codes.add("NAME_DIACRITICS")
    theirs = dt.date.fromisoformat(citizen["ngay_sinh"])
    if (theirs.year != p.dob.year) if p.dob.state == "year" else (theirs != p.dob.date):
        codes.add("DOB_MISMATCH")
    if citizen["gioi_tinh"] != p.sex:
        codes.add("SEX_MISMATCH")
    return codes


def link(p: Person, rtype: str, candidates: list[dict]) -> tuple[set[str], str | None]:
    """The contract's linkage of a person without an ID: (codes, linked ID)."""
    seen, cands = set(), []
    for c in candidates:
        if c["so_dinh_danh"] not in seen:
            seen.add(c["so_dinh_danh"])
            cands.append(c)
    ranked = []
    for c in cands:
        if exact_form(c["ho_ten"]) == exact_form(p.name):
            name_level = 0
        elif fold(c["ho_ten"]) == fold(p.name):
            name_level = 1
        elif one_slip(c["ho_ten"], p.name):
            name_level = 2
        else:
            continue
        c_dob = dt.date.fromisoformat(c["ngay_sinh"])
        c_death = dt.date.fromisoformat(c["ngay_chet"]) if c.get("ngay_chet") else None
        dead = c["trang_thai"] == "da_chet"
        if p.dob.state == "year":
            date_level = 0 if c_dob.year == p.dob.year else None
        elif c_dob == p.dob.date:
            date_level = 0
        else:
            date_level = None
            try:
                if c_dob == dt.date(p.dob.date.year, p.dob.date.day, p.dob.date.month):  # type: ignore[union-attr]
                    date_level = 1
            except ValueError:
                pass
        if date_level is None:
            continue
        corroborated = False
        if rtype == "birth":
            parents = [(p.mother, c.get("ho_ten_me")), (p.father, c.get("ho_ten_cha"))]
            if any(a and b and not one_slip(a, b) for a, b in parents):
                continue
            if p.mother and c.get("ho_ten_me"):
                corroborated = True  # the father, where both give him, agreed above
        elif rtype == "death":
            if not dead:
                continue
            if c_death and p.death and p.death.date and c_death != p.death.date:
                continue
            corroborated = c_death is not None and p.death is not None and c_death == p.death.date
        if rtype in ("birth", "marriage") and dead and c_death and p.reg and c_death < p.reg.date:  # type: ignore[operator]
            continue
        fits = name_level == 0 and date_level == 0
        if corroborated and not fits:
            fits = (
                (name_level == 1 and date_level == 0)
                or (name_level == 2 and p.dob.state == "full" and c_dob == p.dob.date)
                or (name_level in (0, 1) and date_level == 1)
            )
        if fits:
            ranked.append(((0 if corroborated else 1, name_level, date_level), c, name_level))
    if len(cands) >= MATCH_LIMIT:
        return {"LINK_AMBIGUOUS"}, None
    if not ranked:
        return {"LINK_NONE"}, None
    best = min(r[0] for r in ranked)
    top = [r for r in ranked if r[0] == best]
    if len(top) > 1:
        return {"LINK_AMBIGUOUS"}, None
    codes = {"LINKED"} | ({"NAME_DIACRITICS"} if top[0][2] == 1 else set())
    return codes, top[0][1]["so_dinh_danh"]


# --- the run ------------------------------------------------------------------------------
def read_district(code: str, uri: str) -> list[Record]:
    """Every record of a modern district, read whole with ``pandas.read_sql``."""
    engine = create_engine(_sqlalchemy_uri(uri))
    records = []
    try:
        for table, (rtype, mapping) in TABLES.items():
            frame = pd.read_sql(f"SELECT * FROM {table} ORDER BY id", engine)
            for row in frame.to_dict("records"):
                fields = {}
                dates = {}
                for col, name in mapping.items():
                    value = row.get(col)
                    if name in DATE_FIELDS:
                        dates[name] = parse_date(value)
                    elif name == "subject_sex":
                        fields[name] = sex_of(value)
                    else:
                        fields[name] = text_of(value, name=name in NAME_FIELDS)
                for name in DATE_FIELDS:
                    dates.setdefault(name, Date("missing"))
                local = text_of(row["id"]) or ""
                records.append(Record(f"{code}:{rtype}:{local}", code, rtype, local, fields, dates))
    finally:
        engine.dispose()
    return records


def _sqlalchemy_uri(uri: str) -> str:
    for scheme in ("postgres://", "postgresql://"):
        if uri.startswith(scheme):
            return "postgresql+psycopg2://" + uri[len(scheme) :]
    if uri.startswith("mysql://"):
        return "mysql+pymysql://" + uri[len("mysql://") :]
    return uri


def reconcile_record(rec: Record, register: Register) -> None:
    """Ask the register about each person of a record with no quarantine code."""
    for p in persons_of(rec):
        if p.pid is not None:
            codes, pid = check_given_id(p, register.get(p.pid)), p.pid
        else:
            codes, pid = link(p, rec.record_type, register.match(p.name, p.sex, p.dob))
        rec.codes |= codes
        if p.role == "subject":
            rec.personal_id = pid


def status_of(codes: set[str]) -> str:
    if codes & QUARANTINE:
        return "quarantined"
    if codes & REVIEW:
        return "review"
    return "loaded"


NAIVE_DDL = """
CREATE SCHEMA IF NOT EXISTS naive;
CREATE TABLE IF NOT EXISTS naive.ledger (
  run_id text, district_code text, record_type text, source_key text, status text,
  reasons text[], personal_id text, processed_at timestamptz DEFAULT now());
CREATE TABLE IF NOT EXISTS naive.registration (
  source_key text PRIMARY KEY, district_code text, record_type text, personal_id text,
  record jsonb, loaded_at timestamptz DEFAULT now());
"""


def load_district(conn, run_id: str, records: Iterable[Record]) -> int:
    """Each verdict, and each loaded record, inserted on its own; one commit."""
    n = 0
    with conn.cursor() as cur:
        for r in records:
            status = status_of(r.codes)
            pid = r.personal_id if status == "loaded" and r.record_type != "marriage" else None
            cur.execute(
                "INSERT INTO naive.ledger (run_id, district_code, record_type, source_key,"
                " status, reasons, personal_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (run_id, r.district_code, r.record_type, r.source_key, status,
                 sorted(r.codes), pid),
            )  # fmt: skip
            if status == "loaded":
                doc = {**r.fields, **{k: v.date or v.year for k, v in r.dates.items() if v.valid}}
                cur.execute(
                    "INSERT INTO naive.registration (source_key, district_code, record_type,"
                    " personal_id, record) VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (source_key) DO UPDATE SET personal_id = EXCLUDED.personal_id,"
                    " record = EXCLUDED.record, loaded_at = now()",
                    (r.source_key, r.district_code, r.record_type, pid,
                     json.dumps(doc, default=str, ensure_ascii=False)),
                )  # fmt: skip
            n += 1
    conn.commit()
    return n


def run_naive(
    districts: dict[str, str],
    register_uri: str,
    national_uri: str,
    run_id: str,
    run_date: dt.date,
) -> dict[str, Any]:
    """The whole naive run over ``districts`` (code -> source URI); counts and requests."""
    import psycopg2

    provinces = province_codes()
    register = Register(register_uri)
    conn = psycopg2.connect(national_uri)
    try:
        with conn.cursor() as cur:
            cur.execute(NAIVE_DDL)
        conn.commit()
        total = 0
        for code, uri in districts.items():
            records = read_district(code, uri)
            for r in records:
                check_record(r, run_date, provinces)
            mark_duplicates(records)
            for r in records:
                if not r.codes & QUARANTINE:
                    reconcile_record(r, register)
            total += load_district(conn, run_id, records)
    finally:
        conn.close()
    return {"records": total, "register_requests": register.requests}


def read_naive_ledger(national_uri: str, run_id: str) -> pd.DataFrame:
    """The naive run's verdicts: source_key, status, reasons, personal_id."""
    import psycopg2

    conn = psycopg2.connect(national_uri)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT source_key, status, reasons, personal_id FROM naive.ledger"
                " WHERE run_id = %s",
                (run_id,),
            )
            rows = cur.fetchall()
    finally:
        conn.close()
    return pd.DataFrame(rows, columns=["source_key", "status", "reasons", "personal_id"])
