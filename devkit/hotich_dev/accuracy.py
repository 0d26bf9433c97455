"""Score a ledger against ground truth: the one script the tests, the demo and the
benchmarks share.

Truth is a frame with ``source_key``, ``status``, ``reasons`` (sorted codes) and
``personal_id`` per source record (the synthetic generator writes it, computed by its
own oracle, independently of the pipeline's code).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hotich.markdown import markdown_table, measure_table
from hotich.model import ALL_CODES, code_list


@dataclass
class Score:
    """How a ledger agrees with the truth."""

    records: int
    missing: int  # in the truth, not in the ledger
    extra: int  # in the ledger, not in the truth
    status_agreement: float
    reasons_exact: float  # share of records whose reason list is exactly the truth's
    personal_id_agreement: float  # over records both call loaded
    per_code: pd.DataFrame  # code, truth, ledger, tp, precision, recall

    def table(self) -> str:
        """A Markdown table of the scores."""
        measures = measure_table(
            [
                ("records scored", self.records),
                ("missing from ledger", self.missing),
                ("not in truth", self.extra),
                ("status agreement", f"{self.status_agreement:.4%}"),
                ("reasons exactly equal", f"{self.reasons_exact:.4%}"),
                ("personal_id agreement (loaded)", f"{self.personal_id_agreement:.4%}"),
            ]
        )
        codes = markdown_table(
            ["code", "truth", "ledger", "precision", "recall"],
            (
                [r.code, r.truth, r.ledger, f"{r.precision:.4%}", f"{r.recall:.4%}"]
                for r in self.per_code.itertuples()
            ),
        )
        return f"{measures}\n\n{codes}"


def score(ledger: pd.DataFrame, truth: pd.DataFrame) -> Score:
    """Compare one verdict per source record with the truth."""
    led = ledger.set_index("source_key")
    tru = truth.set_index("source_key")
    common = tru.index.intersection(led.index)
    t, lg = tru.loc[common], led.loc[common]
    t_reasons = t["reasons"].map(code_list)
    l_reasons = lg["reasons"].map(code_list)
    status_ok = (t["status"] == lg["status"]).mean() if len(common) else 1.0
    reasons_ok = (t_reasons.map(tuple) == l_reasons.map(tuple)).mean() if len(common) else 1.0
    both_loaded = (t["status"] == "loaded") & (lg["status"] == "loaded")
    tid = t.loc[both_loaded, "personal_id"].fillna("")
    lid = lg.loc[both_loaded, "personal_id"].fillna("")
    id_ok = (tid == lid).mean() if both_loaded.any() else 1.0
    t_pairs = set((k, c) for k, codes in t_reasons.items() for c in codes)
    l_pairs = set((k, c) for k, codes in l_reasons.items() for c in codes)
    rows = []
    for code in sorted(ALL_CODES | {c for _, c in t_pairs | l_pairs}):
        tc = {k for k, c in t_pairs if c == code}
        lc = {k for k, c in l_pairs if c == code}
        if not tc and not lc:
            continue
        tp = len(tc & lc)
        rows.append(
            {
                "code": code,
                "truth": len(tc),
                "ledger": len(lc),
                "tp": tp,
                "precision": tp / len(lc) if lc else 1.0,
                "recall": tp / len(tc) if tc else 1.0,
            }
        )
    return Score(
        records=len(common),
        missing=len(tru.index.difference(led.index)),
        extra=len(led.index.difference(tru.index)),
        status_agreement=float(status_ok),
        reasons_exact=float(reasons_ok),
        personal_id_agreement=float(id_ok),
        per_code=pd.DataFrame(
            rows, columns=["code", "truth", "ledger", "tp", "precision", "recall"]
        ),
    )


def read_ledger(conn, run_id: str | None = None) -> pd.DataFrame:
    """The ledger (of one run, or all of it) from a psycopg2 connection."""
    sql = "SELECT run_id, district_code, record_type, source_key, status, reasons, personal_id, processed_at FROM recon.ledger"
    params: tuple = ()
    if run_id:
        sql += " WHERE run_id = %s"
        params = (run_id,)
    with conn.cursor() as cur:
        cur.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=cols)
