"""The one Markdown table renderer (run report, demo summary, accuracy, benchmarks)."""

from __future__ import annotations

import pytest

from hotich.markdown import markdown_table, measure_table


def test_header_rule_and_rows_with_alignment():
    table = markdown_table(["district", "loaded"], [("260", 5), ("all", 12)], ["left", "right"])
    assert table.splitlines() == [
        "| district | loaded |",
        "| --- | ---: |",
        "| 260 | 5 |",
        "| all | 12 |",
    ]


def test_cells_cannot_break_the_table():
    table = markdown_table(["note"], [["a | b\nc"], [None]])
    assert table.splitlines()[2:] == ["| a \\| b c |", "|  |"]


def test_short_rows_pad_and_long_rows_raise():
    assert markdown_table(["a", "b"], [["x"]]).splitlines()[2] == "| x |  |"
    with pytest.raises(ValueError, match="3 cells under 2 columns"):
        markdown_table(["a", "b"], [[1, 2, 3]])
    with pytest.raises(ValueError, match="1 alignments for 2 columns"):
        markdown_table(["a", "b"], [], ["right"])


def test_measure_table():
    assert measure_table([("records", "1,103,842")]).splitlines()[2] == "| records | 1,103,842 |"
