"""The run report: per district, what was read and where it went, and why."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from hotich.errors import IncidentError, loggable
from hotich.markdown import markdown_table
from hotich.ops.rejected import open_rejections, read_rejected_files
from hotich.pipeline import RunContext, connect, held_districts


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
    """Counts of this run per district and reason; districts that did not finish, and
    those skipped because another run held them."""
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
        rejected = rejected_files_section(
            read_rejected_files(cur, ctx.settings.sql_dir, ctx.run_id), ctx.run_id
        )
    conn.close()
    skipped = skipped_districts(ctx, district_codes, done)
    rows = [
        done.get(code, {"district": code, "extracted": skipped.get(code, "FAILED")})
        for code in district_codes
    ]
    totals = {
        k: sum(r[k] for r in done.values())
        for k in ("extracted", "loaded", "review", "quarantined")
    }
    rows.append({"district": "all", **totals})
    columns = ["district", "extracted", "loaded", "review", "quarantined"]
    table = markdown_table(columns, [[r.get(c, "") for c in columns] for r in rows])
    table += "\n\n" + markdown_table(["reason", "records"], reasons.items())
    if skipped:
        table += "\n\n" + SKIPPED_NOTE
    table = rejected.headline + table + rejected.tables
    sent = outbox_section(ctx, district_codes)
    if sent:
        table += "\n\n## Sent back to the districts\n\n" + markdown_table(
            ["district", "to fix", "fixed since last list", "outbox folder"],
            [[c, v.get("entries", ""), v.get("fixed", ""), v["folder"]] for c, v in sent.items()],
        )
    unfinished = [code for code in district_codes if code not in done and code not in skipped]
    report = {
        "run_id": ctx.run_id,
        "run_date": str(ctx.run_date),
        "totals": totals,
        "reasons": reasons,
        "unfinished": unfinished,
        "rejected_files": rejected.counts,
        "skipped": skipped,
        "outbox": sent,
        "table": table,
    }
    out = ctx.workdir("_report")
    (out / "report.md").write_text(f"# Run {ctx.run_id}\n\n{table}\n", encoding="utf-8")
    (out / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return report


def outbox_section(ctx: RunContext, district_codes: list[str]) -> dict[str, dict[str, Any]]:
    """Per district, what this run sent back (``hotich.feedback``): the counts of its fix
    list and its outbox folder (the fix list and the HTML report are there)."""
    from hotich.feedback.outbox import MANIFEST, outbox_dir

    out = {}
    for code in district_codes:
        folder = outbox_dir(ctx.settings.data_dir, code, ctx.run_id)
        if (folder / MANIFEST).exists():
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            out[code] = {"entries": manifest.get("entries"), "fixed": manifest.get("fixed"),
                         "folder": str(folder)}  # fmt: skip
    return out


# --- rejected workbook files (issue 15) -----------------------------------------------------


@dataclass(frozen=True)
class RejectedSection:
    """The run report's rejected files: the line that opens the report (empty when no
    file is rejected, open or resolved), the tables that close it, and the counts."""

    headline: str
    tables: str
    counts: dict[str, int]


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def _districts(n: int) -> str:
    return f"{n} district" if n == 1 else f"{n} districts"


def rejected_files_section(rejected: pd.DataFrame, run_id: str) -> RejectedSection:
    """Files rejected in run ``run_id``, those still open from earlier runs, and those
    this run found resolved, from :func:`hotich.ops.rejected.read_rejected_files`.

    Rejected files do not fail the run (they are the district's to fix), so the report
    opens with them: "7 files rejected in 2 districts: see below".
    """
    still = open_rejections(rejected)
    now = still[still["last_run_id"] == run_id]
    earlier = still[still["last_run_id"] != run_id]
    resolved = rejected[rejected["resolved_at"].notna()]
    counts = {
        "rejected_this_run": len(now),
        "districts_this_run": int(now["district_code"].nunique()),
        "open": len(still),
        "open_districts": int(still["district_code"].nunique()),
        "resolved_this_run": len(resolved),
    }
    if rejected.empty:
        return RejectedSection("", "", counts)
    earlier_open = f"{_files(len(earlier))} rejected in earlier runs still open"
    resolved_now = f"{_files(len(resolved))} resolved in this run"
    if len(now):
        lead = f"{_files(len(now))} rejected in {_districts(counts['districts_this_run'])}"
        more = [earlier_open] * bool(len(earlier)) + [resolved_now] * bool(len(resolved))
    elif len(earlier):
        lead = f"No file rejected in this run; {earlier_open}"
        more = [resolved_now] * bool(len(resolved))
    else:
        lead, more = f"No file rejected in this run; {resolved_now}", []
    headline = f"**{lead}: see below.**" + (f" ({'; '.join(more)}.)" if more else "") + "\n\n"
    state = still["first_run_id"].eq(run_id).map({True: "rejected", False: "rejected again"})
    state = state.where(still["last_run_id"] == run_id, "not read in this run")
    tables = ""
    if len(still):
        cells = [
            [d, loggable(f), loggable(p), s, t]
            for d, f, p, s, t in zip(still["district_code"], still["file_name"],
                                     still["detail"], still["since"], state, strict=True)
        ]  # fmt: skip
        tables += (
            "\n\n## Rejected files\n\nEach is the district's to fix, and stays listed until"
            " a corrected file of the same name is read or the file is taken out of the"
            " inbox. Nothing of these files was loaded.\n\n"
            + markdown_table(["district", "file", "problem", "since", "this run"], cells)
        )
    if len(resolved):
        cells = [
            [d, loggable(f), r, s]
            for d, f, r, s in zip(resolved["district_code"], resolved["file_name"],
                                  resolved["resolution"], resolved["since"], strict=True)
        ]  # fmt: skip
        tables += "\n\n## Rejected files resolved in this run\n\n" + markdown_table(
            ["district", "file", "resolved", "rejected since"], cells
        )
    return RejectedSection(headline, tables, counts)


# --- districts skipped because another run held them (hotich.lease) ------------------------

SKIPPED_NOTE = (
    "Skipped districts were held by another run: this run read and wrote nothing of them,"
    " so their records are read by the next run that gets the district (docs/decisions/0006)."
)


def skipped_districts(
    ctx: RunContext, district_codes: list[str], done: dict[str, Any]
) -> dict[str, str]:
    """The districts this run skipped, another run holding them, that it did not finish
    otherwise (a Clear that got the lease later): code -> ``skipped: held by run <id>
    since <time> …``. They do not make the run incomplete (docs/decisions/0006)."""
    return {
        code: held["status"]
        for code, held in held_districts(ctx, district_codes).items()
        if code not in done
    }
