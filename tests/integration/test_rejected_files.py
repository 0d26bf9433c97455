"""Rejected workbook files on a real national database (issue 15): listed by the run
report (a line at its top) and the campaign dashboard (over HTTP on loopback) until the
district resolves them, by a corrected file of the same name or by taking the file out
of the inbox; the resolution is saved by the load, in its transaction.

Two hand-made workbook districts, run twice by the real pipeline stages.
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from hotich import db
from hotich.config import District, Settings
from hotich.extract.workbook import DISTRICT_ACTION_VI, TEMPLATE
from hotich.migrate import migrate
from hotich.model import Flavor
from hotich.ops.dashboard import create_app
from hotich.report import run_report
from hotich_dev.simulator import BackgroundServer
from register_fixtures import person, register_client
from tests.integration.pipeline_kit import query, run_context, run_district, write_workbook

KS = TEMPLATE["KhaiSinh"]
ROW = ["Q1", 1, dt.datetime(2018, 3, 1), "Nguyễn Văn An", "Nam", "02/01/2018", "027218000001",
       "Bắc Ninh", "Kinh", "Lê Thị Hoa", None, None]  # fmt: skip


@pytest.fixture(scope="module")
def register():
    people = [person("027218000001", "Nguyễn Văn An", "Nam", date(2018, 1, 2), mother="Lê Thị Hoa")]
    with register_client(people) as client:
        yield client


def districts_yaml(tmp_path: Path, inboxes: dict[str, Path]) -> Settings:
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(
        "campaign:\n  name: Test campaign\n  phases:\n    - {name: all, target_entries: 10}\n",
        encoding="utf-8",
    )
    lines = [f'  - {{code: "{c}", name: "Thử {c}", flavor: workbook, inbox: {p}}}\n'
             for c, p in inboxes.items()]  # fmt: skip
    districts = tmp_path / "districts.yaml"
    districts.write_text("districts:\n" + "".join(lines), encoding="utf-8")
    return Settings(data_dir=tmp_path / "data", campaign_file=campaign, districts_file=districts)


def rejected_rows(national: str) -> dict[tuple[str, str], tuple]:
    rows = query(
        national,
        "SELECT district_code, file_name, run_id, last_run_id, resolved_by_run, resolution,"
        " resolved_at IS NOT NULL FROM recon.rejected_file ORDER BY rejected_at",
    )
    # The latest row of each name (an older version replaced keeps its own row).
    return {(d, f): tuple(rest) for d, f, *rest in rows}


def test_rejected_files_are_listed_until_corrected_or_removed(tmp_path, national, register):
    a, b = tmp_path / "inbox_903", tmp_path / "inbox_904"
    a.mkdir(), b.mkdir()
    write_workbook(a / "good.xlsx", {"KhaiSinh": [KS, ROW]})
    write_workbook(a / "headers.xlsx", {"KhaiSinh": [KS[:-1] + ["Cha"], ROW]})
    for name in ("old.xls", "macro.xlsm", "calc.ods"):
        (a / name).write_bytes(b"not read")
    write_workbook(a / "notemplate.xlsx", {"Sheet1": [KS, ROW]})
    for name in ("~$other.xlsx", ".~lock.other.xlsx#", ".DS_Store"):
        (a / name).write_bytes(b"lock")
    (b / "broken.xlsx").write_bytes(b"this is not a workbook")
    (b / "scan.pdf").write_bytes(b"%PDF-1.4")
    d903 = District(code="903", name="Thử 903", flavor=Flavor.WORKBOOK, inbox=a)
    d904 = District(code="904", name="Thử 904", flavor=Flavor.WORKBOOK, inbox=b)
    settings = districts_yaml(tmp_path, {"903": a, "904": b})

    ctx1 = run_context(national, tmp_path / "data", "run-1")
    out = {d.code: run_district(ctx1, d, {}, register) for d in (d903, d904)}
    assert (out["903"]["rejected_files"], out["903"]["loaded"], out["904"]["rejected_files"]) == (
        5,
        1,
        2,
    )
    report = run_report(ctx1, ["903", "904"])
    assert report["unfinished"] == []  # rejected files do not fail the run
    assert report["rejected_files"] == {"rejected_this_run": 7, "districts_this_run": 2, "open": 7,
                                        "open_districts": 2, "resolved_this_run": 0}  # fmt: skip
    md = (tmp_path / "data" / "runs" / "run-1" / "_report" / "report.md").read_text(
        encoding="utf-8"
    )
    assert md.startswith("# Run run-1\n\n**7 files rejected in 2 districts: see below.**\n\n")
    assert report["table"].startswith("**7 files rejected in 2 districts")  # the task logs it
    section = md.split("## Rejected files")[1]
    lines = {line.split(" | ")[1]: line for line in section.splitlines() if line.startswith("| 90")}
    assert set(lines) == {"headers.xlsx", "old.xls", "macro.xlsm", "calc.ods", "notemplate.xlsx",
                          "broken.xlsx", "scan.pdf"}  # fmt: skip
    assert (
        "format .xls (Excel 97-2003) is not read; save it as .xlsx (Excel Workbook)"
        in lines["old.xls"]
    )
    assert "format .xlsm (Excel macro-enabled) is not read" in lines["macro.xlsm"]
    assert "format .ods (OpenDocument) is not read" in lines["calc.ods"]
    assert (
        "no template sheet (KhaiSinh, KhaiTu, KetHon); its sheets: 'Sheet1'"
        in lines["notemplate.xlsx"]
    )
    assert all(line.endswith(" | rejected |") for line in lines.values())
    assert (
        "~$other" not in md and ".~lock" not in md and "DS_Store" not in md
    )  # ignored, on purpose

    with BackgroundServer(create_app(lambda: national, lambda: settings)) as server:
        first = requests.get(f"{server.base_url}/api/progress", timeout=30).json()
        page = requests.get(f"{server.base_url}/", timeout=30).text
        assert {d["district_code"]: d["rejected_files"] for d in first["districts"]} == {
            "903": 5,
            "904": 2,
        }
        assert len(first["rejected_files"]) == 7
        files = {f["file_name"]: f for f in first["rejected_files"]}
        assert files["old.xls"] == {
            "district_code": "903", "file_name": "old.xls", "problem_kind": "format",
            "problem": "format .xls (Excel 97-2003) is not read; save it as .xlsx (Excel Workbook)",
            "since": files["old.xls"]["since"], "district_action_vi": DISTRICT_ACTION_VI["format"],
        }  # fmt: skip
        assert "7 rejected workbook files in 2 districts" in page and "calc.ods" in page
        assert DISTRICT_ACTION_VI["no_template_sheet"] in page
        assert "Nguyễn Văn An" not in page and "027218000001" not in page

        # The district corrects headers.xlsx under the same name, takes old.xls out, and
        # replaces broken.xlsx with another broken file; the rest stays.
        write_workbook(a / "headers.xlsx", {"KhaiSinh": [KS, ROW[:1] + [2] + ROW[2:]]})
        (a / "old.xls").unlink()
        (b / "broken.xlsx").write_bytes(b"still not a workbook")
        ctx2 = run_context(national, tmp_path / "data", "run-2")
        out = {d.code: run_district(ctx2, d, {}, register) for d in (d903, d904)}
        assert (
            out["903"]["rejected_files"],
            out["903"]["extracted"],
            out["904"]["rejected_files"],
        ) == (3, 1, 2)
        second = requests.get(f"{server.base_url}/api/progress", timeout=30).json()
        assert sorted((f["district_code"], f["file_name"]) for f in second["rejected_files"]) == [
            ("903", "calc.ods"), ("903", "macro.xlsm"), ("903", "notemplate.xlsx"),
            ("904", "broken.xlsx"), ("904", "scan.pdf")]  # fmt: skip
        assert {d["district_code"]: d["rejected_files"] for d in second["districts"]} == {
            "903": 3,
            "904": 2,
        }

    got = rejected_rows(national)
    assert got[("903", "headers.xlsx")] == ("run-1", "run-1", "run-2", "corrected", True)
    assert got[("903", "old.xls")] == ("run-1", "run-1", "run-2", "removed", True)
    assert got[("903", "calc.ods")] == ("run-1", "run-2", None, None, False)  # rejected again
    assert got[("904", "broken.xlsx")] == ("run-2", "run-2", None, None, False)  # the new one
    (replaced,) = query(national, "SELECT resolution, resolved_by_run FROM recon.rejected_file"
                        " WHERE file_name = 'broken.xlsx' AND run_id = 'run-1'")  # fmt: skip
    assert replaced == ("replaced", "run-2")

    report = run_report(ctx2, ["903", "904"])
    assert report["rejected_files"] == {"rejected_this_run": 5, "districts_this_run": 2, "open": 5,
                                        "open_districts": 2, "resolved_this_run": 3}  # fmt: skip
    md = (tmp_path / "data" / "runs" / "run-2" / "_report" / "report.md").read_text(
        encoding="utf-8"
    )
    assert md.startswith("# Run run-2\n\n**5 files rejected in 2 districts: see below.** (3 files"
                         " resolved in this run.)\n\n")  # fmt: skip
    open_part, resolved_part = md.split("## Rejected files resolved in this run")
    assert "| 903 | calc.ods |" in open_part and open_part.count(" | rejected again |") == 4
    assert "| 904 | broken.xlsx |" in open_part and open_part.count(" | rejected |") == 1
    assert "headers.xlsx" not in open_part and "old.xls" not in open_part
    assert "| 903 | headers.xlsx | corrected |" in resolved_part
    assert "| 903 | old.xls | removed |" in resolved_part
    assert "| 904 | broken.xlsx | replaced |" in resolved_part


def test_a_file_brought_back_after_it_was_resolved_is_open_again(tmp_path, national, register):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "old.xls").write_bytes(b"not read")
    district = District(code="905", name="Thử 905", flavor=Flavor.WORKBOOK, inbox=inbox)
    run_district(run_context(national, tmp_path / "data", "run-1"), district, {}, register)
    (inbox / "old.xls").rename(tmp_path / "old.xls")
    run_district(run_context(national, tmp_path / "data", "run-2"), district, {}, register)
    assert rejected_rows(national)[("905", "old.xls")] == (
        "run-1",
        "run-1",
        "run-2",
        "removed",
        True,
    )
    (tmp_path / "old.xls").rename(inbox / "old.xls")
    run_district(run_context(national, tmp_path / "data", "run-3"), district, {}, register)
    assert rejected_rows(national)[("905", "old.xls")] == ("run-3", "run-3", None, None, False)


def test_v003_is_idempotent_and_resolves_what_the_rows_before_it_say(embedded_pg):
    """On a database of V001 with rejections saved the old way: V003 backfills."""
    from tests.integration.pipeline_kit import national_database

    sql_dir = Settings().sql_dir
    with national_database(embedded_pg) as uri:
        engine = db.engine_for(uri)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql((sql_dir / "V001__schema.sql").read_text(encoding="utf-8"))
                conn.execute(text(
                    "INSERT INTO recon.rejected_file (district_code, file_name, content_hash, problem,"
                    " run_id, rejected_at) VALUES"
                    " ('263', 'a.xlsx', 'h1', 'a.xlsx: x', 'r1', '2026-11-01'),"
                    " ('263', 'a.xlsx', 'h2', 'a.xlsx: y', 'r2', '2026-11-02'),"
                    " ('263', 'b.xlsx', 'h3', 'b.xlsx: z', 'r1', '2026-11-01'),"
                    " ('263', 'c.xlsx', 'h4', 'c.xlsx: cannot be read as an .xlsx workbook: invalid"
                    " literal for int() with base 10: ''Nguyễn Văn An''', 'r1', '2026-11-01'),"
                    " ('263', 'd.xlsx', 'h6', 'd.xlsx: sheet KhaiSinh: headers differ from the template"
                    " (missing ''Số quyển''; unexpected ''Q1'', ''Nguyễn Văn An'')', 'r1', '2026-11-01')"))  # fmt: skip
                conn.execute(text(
                    "INSERT INTO recon.workbook_file (district_code, file_name, content_hash,"
                    " rows_read, run_id, read_at) VALUES ('263', 'b.xlsx', 'h5', 3, 'r3', '2026-11-03')"))  # fmt: skip
            applied = migrate(engine, sql_dir)
            assert "V003__rejected_file_resolved.sql" in applied
            with engine.begin() as conn:  # by hand, twice: harmless
                conn.exec_driver_sql((sql_dir / "V003__rejected_file_resolved.sql").read_text())
            problems = dict(query(uri, "SELECT file_name, problem FROM recon.rejected_file"))
            rows = query(uri, "SELECT file_name, content_hash, last_run_id, resolution, resolved_by_run"
                              " FROM recon.rejected_file ORDER BY 1, 2")  # fmt: skip
        finally:
            engine.dispose()
    assert rows == [
        ("a.xlsx", "h1", "r1", "replaced", "r2"),
        ("a.xlsx", "h2", "r2", None, None),
        ("b.xlsx", "h3", "r1", "corrected", "r3"),
        ("c.xlsx", "h4", "r1", None, None),
        ("d.xlsx", "h6", "r1", None, None),
    ]
    # What the old texts quoted of the cells is cut; the rest stays.
    assert problems["c.xlsx"] == (
        "c.xlsx: cannot be read as an .xlsx workbook: detail not shown (recorded before V003)"
    )
    assert problems["d.xlsx"] == (
        "d.xlsx: sheet KhaiSinh: headers differ from the template (missing 'Số quyển';"
        " unexpected cells, not shown (recorded before V003))"
    )
    assert problems["b.xlsx"] == "b.xlsx: z"
