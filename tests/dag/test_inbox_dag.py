"""The inbox DAG for real (``airflow dags test hotich_inbox``): a workbook replaced in a
district's inbox while the daily run holds the district waits for the district, then is
processed once, only its changed rows, exactly as the daily run would: its ledger rows
written, its fix list in the outbox; the next daily run writes nothing for it. A file
still being written and a file open in an office suite are not read."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from urllib.parse import quote

import pandas as pd
import pytest
from openpyxl import load_workbook

from hotich import db, lease
from hotich.config import District, Flavor
from hotich.db import pg_connect
from hotich.extract.workbook import TEMPLATE
from hotich.feedback import outbox
from hotich.migrate import migrate
from hotich_dev.simulator import RegisterIndex, load_register
from register_fixtures import CLIENT_ID, CLIENT_SECRET, person, serve
from tests.conftest import REPO
from tests.integration.pipeline_kit import query, run_context, run_district, write_workbook

pytestmark = pytest.mark.slow

REGISTER = [person("027203000001", "Nguyễn Văn An", "Nam", date(2003, 1, 1))]
HEADER = TEMPLATE["KhaiSinh"]


def row(i: int, dob: str = "01/01/2003", pid: str | None = None) -> list:
    return ["Q1", i, "01/02/2003", f"Nguyễn Văn {'An' if i == 1 else i}", "Nam", dob, pid,
            "Bắc Ninh", "Kinh", "Trần Thị Bình", "1980", "Nguyễn Văn Cường"]  # fmt: skip


def _aged(path, seconds: float = 120) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_a_replaced_file_waits_for_the_district_then_is_processed_once(tmp_path, embedded_pg):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    districts = tmp_path / "districts.yaml"
    districts.write_text(f"districts:\n  - {{code: '263', name: 'Gia Bình', flavor: workbook,"
                         f" inbox: {inbox}}}\n", encoding="utf-8")  # fmt: skip
    district = District("263", "Gia Bình", Flavor.WORKBOOK, inbox=inbox)
    tag = uuid.uuid4().hex[:8]
    meta = db.ensure_database(embedded_pg, f"airflow_{tag}")
    national = db.ensure_database(embedded_pg, f"national_{tag}")
    index = RegisterIndex(load_register(pd.DataFrame(REGISTER)))
    with serve(index) as server:
        from hotich.register.client import PopulationClient

        host = server.base_url.removeprefix("http://")
        api = f"http://{CLIENT_ID}:{quote(CLIENT_SECRET, safe='')}@{host}"
        # Yesterday's daily run read a.xlsx: row 3 has an impossible date of birth.
        write_workbook(inbox / "a.xlsx", {"KhaiSinh": [HEADER, row(1, pid="027203000001"),
                                                       row(2), row(3, dob="30/02/2003")]})  # fmt: skip
        _aged(inbox / "a.xlsx")
        data = tmp_path / "data"
        with PopulationClient.from_uri(api) as register:
            run_district(run_context(national, data, "daily-1"), district, {}, register)
        # The district corrects row 3 and adds row 4; today's daily run holds the district.
        write_workbook(inbox / "a.xlsx", {"KhaiSinh": [HEADER, row(1, pid="027203000001"),
                                                       row(2), row(3), row(4, dob="31/04/2003")]})  # fmt: skip
        _aged(inbox / "a.xlsx")
        write_workbook(inbox / "b.xlsx", {"KhaiSinh": [HEADER, row(10)]})
        _aged(inbox / "b.xlsx")
        (inbox / ".~lock.b.xlsx#").write_text("open in LibreOffice")
        (inbox / "c.xlsx").write_bytes((inbox / "a.xlsx").read_bytes()[:300])  # being copied
        engine = db.engine_for(national)
        migrate(engine, REPO / "include" / "sql")
        engine.dispose()
        conn = pg_connect(national)
        with conn, conn.cursor() as cur:
            lease.take(cur, REPO / "include" / "sql", "263", "scheduled__daily-2",
                       dt.timedelta(hours=1))  # fmt: skip
        conn.close()

        waited = threading.Event()

        def daily_run_finishes() -> None:
            """Give the lease back once the inbox run has been told to wait (rescheduled)."""
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not waited.is_set():
                try:
                    if query(meta, "SELECT count(*) FROM task_reschedule")[0][0] >= 1:
                        waited.set()
                except Exception:  # noqa: BLE001 - the metadata tables are not there yet
                    pass
                time.sleep(0.5)
            c = pg_connect(national)
            with c, c.cursor() as cur:
                lease.release(cur, REPO / "include" / "sql", "263", "scheduled__daily-2")
            c.close()

        releaser = threading.Thread(target=daily_run_finishes)
        releaser.start()
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(meta),
            "AIRFLOW_CONN_CIVIL_STATUS_DB": national,
            "AIRFLOW_CONN_POPULATION_API": api,
            "HOTICH_DISTRICTS_FILE": str(districts),
            "HOTICH_DATA_DIR": str(data),
            "HOTICH_TASK_RETRIES": "0",
            "HOTICH_INBOX_SETTLE_SECONDS": "60",
            "HOTICH_LEASE_POKE_SECONDS": "2",
        }
        out = subprocess.run(
            [sys.executable, "-m", "hotich_dev.localenv", "airflow", "dags", "test", "hotich_inbox",
             "--conf", json.dumps({"district": "263"})],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        releaser.join()
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

        runs = query(national, "SELECT run_id, source_key, status FROM recon.ledger"
                     " WHERE run_id NOT IN ('daily-1') ORDER BY source_key")  # fmt: skip
        (inbox_run,) = {r[0] for r in runs}
        # Only a.xlsx's changed rows, once; b.xlsx (open) and c.xlsx (being written) unread.
        assert [(k, s) for _, k, s in runs] == [
            ("263:birth:a.xlsx#4", "loaded"),
            ("263:birth:a.xlsx#5", "quarantined"),
        ]
        assert query(national, "SELECT count(*) FROM recon.rejected_file") == [(0,)]
        # It waited for the daily run's lease (rescheduled, no worker slot held), then ran.
        assert waited.is_set()
        # The file's fix list is in the district's outbox: the new row 5's date.
        folder = outbox.outbox_dir(data, "263", inbox_run)
        fix = load_workbook(folder / outbox.fix_list_name("263"))
        rows = [[c.value for c in r] for r in fix["Khai sinh"].iter_rows(min_row=2)]
        assert [(r[3], r[4], r[8]) for r in rows] == [
            ("a.xlsx", 5, "Ngày sinh 31/04/2003 không tồn tại hoặc không đúng dạng ngày/tháng/năm")
        ]
        summary = {r[0].value: r[1].value for r in fix["Tóm tắt"].iter_rows(min_row=2)}
        # Row 4 (was row 3) was fixed, but no list went out before this one: none counted.
        assert summary["Đã sửa từ danh sách trước"] == 0 and summary["Còn phải sửa (bản ghi)"] == 1
        assert (folder / "bao-cao.html").exists()

        # The next daily run finds those rows unchanged: it writes nothing for them.
        with PopulationClient.from_uri(api) as register:
            run_district(run_context(national, data, "daily-3", inbox_settle_seconds=60),
                         district, {}, register)  # fmt: skip
        assert query(national, "SELECT count(*) FROM recon.ledger WHERE run_id = 'daily-3'") == [
            (0,)
        ]
