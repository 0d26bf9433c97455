"""Markdown tables: the one renderer of run reports, the demo's summary and benchmarks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

_RULES = {"left": "---", "right": "---:", "center": ":---:"}


def _cell(value: Any) -> str:
    """A value as a table cell: ``|`` escaped, line breaks made spaces, None empty."""
    if value is None:
        return ""
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], align: Sequence[str] | None = None
) -> str:
    """A GitHub-flavoured Markdown table of ``rows`` under ``columns``.

    ``align`` gives each column ``left`` (default), ``right`` or ``center``. Rows shorter
    than the header are padded with empty cells; longer ones raise ``ValueError``.

    >>> print(markdown_table(["code", "records"], [("ID_FORMAT", 3)], align=["left", "right"]))
    | code | records |
    | --- | ---: |
    | ID_FORMAT | 3 |
    """
    align = list(align or ["left"] * len(columns))
    if len(align) != len(columns):
        raise ValueError(f"{len(align)} alignments for {len(columns)} columns")
    lines = [
        "| " + " | ".join(_cell(c) for c in columns) + " |",
        "| " + " | ".join(_RULES[a] for a in align) + " |",
    ]
    for row in rows:
        cells = [_cell(v) for v in row]
        if len(cells) > len(columns):
            raise ValueError(f"a row of {len(cells)} cells under {len(columns)} columns")
        cells += [""] * (len(columns) - len(cells))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def measure_table(rows: Iterable[tuple[str, Any]]) -> str:
    """A two-column ``measure | value`` table, the shape of benchmark results."""
    return markdown_table(["measure", "value"], rows)
