"""What the benchmarks write: a section of ``benchmarks/RESULTS.md`` (a table of measures)
and the machine's load beside each figure. Imported by the scripts beside it."""

from __future__ import annotations

import os
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as the tables show them."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def append(title: str, intro: str, rows: list[tuple[str, str]]) -> None:
    """Append a section ``## title``, its ``intro`` and a table of ``rows`` to RESULTS.md,
    and print it."""
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    text = f"\n## {title}\n\n{intro}\n\n| measure | value |\n|---|---|\n{table}\n"
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(text)
    print(text)
