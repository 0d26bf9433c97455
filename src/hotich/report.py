"""The run report: per district, what was read and where it went, and why."""

from __future__ import annotations

import json
from typing import Any

from hotich.errors import IncidentError
from hotich.markdown import markdown_table
from hotich.pipeline import RunContext, connect


class RunIncomplete(IncidentError, RuntimeError):
    """Districts did not finish this run; their records are read again by the next one."""

    incident_kind = "run_incomplete"

    def __init__(self, districts: list[str]) -> None:
        super().__init__(
            "districts that did not finish this run (their records will be read again next"
            " run): " + ", ".join(districts)
        )
        self.districts = districts


def run_report(ctx: RunContext, district_codes: list[str]) -> dict[str, Any]:
    """Counts of this run per district and reason; districts that did not finish."""
    with connect(ctx) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT district_code, extracted, loaded, review, quarantined FROM recon.run_summary"
            " WHERE run_id = %s ORDER BY district_code",
            (ctx.run_id,),
        )
        done = {
            r[0]: dict(
                zip(["district", "extracted", "loaded", "review", "quarantined"], r, strict=True)
            )
            for r in cur.fetchall()
        }
        cur.execute(
            "SELECT code, count(*) FROM recon.verdict, unnest(reasons) AS code"
            " WHERE run_id = %s GROUP BY code ORDER BY code",
            (ctx.run_id,),
        )
        reasons = {code: n for code, n in cur.fetchall()}
    conn.close()
    rows = [done.get(code, {"district": code, "extracted": "FAILED"}) for code in district_codes]
    totals = {
        k: sum(r[k] for r in done.values())
        for k in ("extracted", "loaded", "review", "quarantined")
    }
    rows.append({"district": "all", **totals})
    columns = ["district", "extracted", "loaded", "review", "quarantined"]
    table = markdown_table(columns, [[r.get(c, "") for c in columns] for r in rows])
    table += "\n\n" + markdown_table(["reason", "records"], reasons.items())
    unfinished = [code for code in district_codes if code not in done]
    report = {
        "run_id": ctx.run_id,
        "run_date": str(ctx.run_date),
        "totals": totals,
        "reasons": reasons,
        "unfinished": unfinished,
        "table": table,
    }
    out = ctx.workdir("_report")
    (out / "report.md").write_text(f"# Run {ctx.run_id}\n\n{table}\n", encoding="utf-8")
    (out / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return report
