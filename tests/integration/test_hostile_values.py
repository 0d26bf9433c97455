"""Hostile values are data, never code: SQL, spreadsheet formulas and markup typed into
a district's records, and in a workbook's file name, are stored verbatim and run nowhere.

Real SQLite and workbook sources, the national database on the embedded PostgreSQL, the
register simulator over HTTP on loopback.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hotich.config import District
from hotich.extract.workbook import TEMPLATE
from hotich.model import Flavor
from register_fixtures import person, register_client
from tests.integration.pipeline_kit import (
    birth,
    modern,
    query,
    run_context,
    run_district,
    write_modern_sqlite,
)

INJECTIONS = [
    "Bắc Ninh'); DROP TABLE civil.registration; --",
    'Bắc Ninh"; DELETE FROM recon.verdict; --',
    '=HYPERLINK("http://127.0.0.1/x","Bắc Ninh")',
    "<script>alert(1)</script> Bắc Ninh",
    "Bắc Ninh $$; SELECT pg_sleep(10); $$",
    "Bắc Ninh\\'; COPY recon.verdict TO PROGRAM 'id'; --",
]


@pytest.fixture(scope="module")
def register():
    people = [person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2), mother="Lê Thị Hoa")]
    with register_client(people) as client:
        yield client


def test_injection_strings_in_a_district_are_stored_verbatim(tmp_path, national, register):
    births = [birth(i + 1, name="Trần Văn Ba", mother=None) for i in range(len(INJECTIONS))]
    for row, place in zip(births, INJECTIONS, strict=True):
        row["noi_sinh"] = place
    # And one in a name: the contract's rules do not restrict a name's characters.
    births.append(birth(99, name="Robert'); DROP TABLE civil.person; --", mother=None))
    uri = write_modern_sqlite(tmp_path / "901.sqlite", births=births)
    out = run_district(
        run_context(national, tmp_path / "data", "run-1"),
        modern("901"),
        {"district_901": uri},
        register,
    )
    assert (out["extracted"], out["loaded"]) == (len(INJECTIONS) + 1, len(INJECTIONS) + 1)
    stored = query(
        national, "SELECT place FROM civil.registration WHERE source_key <> '901:birth:99'"
    )
    assert sorted(p for (p,) in stored) == sorted(INJECTIONS)
    ((name,),) = query(
        national, "SELECT full_name FROM civil.person WHERE source_key = '901:birth:99'"
    )
    assert name == "Robert'); DROP TABLE civil.person; --"
    # Every table is still there and holds what the run wrote.
    assert query(national, "SELECT count(*) FROM civil.person") == [(len(INJECTIONS) + 1,)]
    assert query(national, "SELECT count(*) FROM recon.verdict") == [(len(INJECTIONS) + 1,)]


def test_an_injection_in_a_workbook_file_name_is_stored_verbatim(tmp_path, national, register):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    name = "KhaiSinh_x'); DROP TABLE recon.workbook_file; --.csv"
    header = ",".join(TEMPLATE["KhaiSinh"])
    (inbox / name).write_text(
        header
        + "\nQ1,1,01/03/2018,Nguyễn Văn An,Nam,02/01/2018,027218000001,Bắc Ninh,Kinh,Lê Thị Hoa,,\n",
        encoding="utf-8",
    )
    district = District(code="263", name="Test 263", flavor=Flavor.WORKBOOK, inbox=inbox)
    out = run_district(run_context(national, tmp_path / "data", "run-1"), district, {}, register)
    assert out["loaded"] == 1
    assert query(national, "SELECT file_name FROM recon.workbook_file") == [(name,)]
    ((key,),) = query(national, "SELECT source_key FROM civil.registration")
    assert name in key and Path(name).name == name


def test_control_characters_and_nul_are_quarantined_and_kept_visible(tmp_path, national, register):
    """A NUL (which jsonb refuses) and a terminal escape in a name: VALUE_INVALID, the
    district loads the rest, and the quarantine keeps the characters as escapes."""
    births = [
        birth(1, name="Trần Văn\x00Ba", mother=None),
        birth(2, name="Trần Văn \x1b[31mBốn", mother=None),
        birth(3, name="Trần Văn Năm", mother=None),
    ]
    uri = write_modern_sqlite(tmp_path / "901.sqlite", births=births)
    out = run_district(
        run_context(national, tmp_path / "data", "run-1"),
        modern("901"),
        {"district_901": uri},
        register,
    )
    assert (out["extracted"], out["loaded"], out["quarantined"]) == (3, 1, 2)
    kept = dict(
        query(
            national,
            "SELECT source_key, source_record->>'ho_ten' FROM recon.quarantine ORDER BY source_key",
        )
    )
    assert kept == {"901:birth:1": "Trần Văn\\u0000Ba", "901:birth:2": "Trần Văn \x1b[31mBốn"}
    reasons = query(national, "SELECT DISTINCT reasons FROM recon.quarantine")
    assert reasons == [(["VALUE_INVALID"],)]
