"""hotich.charts: inline SVG, deterministic, Vietnamese text drawn, no script."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from hotich.charts import bar_chart, line_chart


def test_line_chart_is_inline_svg_without_script_and_deterministic() -> None:
    days = [dt.date(2026, 11, d) for d in range(1, 11)]
    args = dict(title="Số bản ghi đã nạp", y_label="bản ghi")
    svg = line_chart(days, {"Đã nạp": list(range(10))}, dashed={"Mục tiêu": [5] * 10}, **args)
    assert svg.startswith("<svg ") and 'aria-label="Số bản ghi đã nạp"' in svg
    assert "<script" not in svg and "<metadata" not in svg and 'href="http' not in svg
    ET.fromstring(svg)  # well-formed XML, embeddable as is
    assert svg == line_chart(
        days, {"Đã nạp": list(range(10))}, dashed={"Mục tiêu": [5] * 10}, **args
    )
    assert svg != line_chart(
        days, {"Đã nạp": list(range(1, 11))}, dashed={"Mục tiêu": [5] * 10}, **args
    )


def test_empty_line_chart_and_bar_chart_render() -> None:
    assert line_chart([], {"a": []}, title="trống").startswith("<svg ")
    svg = bar_chart(
        ["DATE_INVALID", "REQUIRED_MISSING"], [3, 12], title='Lý do "hàng đầu" & <khác>'
    )
    ET.fromstring(svg)
    assert 'aria-label="Lý do &quot;hàng đầu&quot; &amp; &lt;khác&gt;"' in svg


def test_a_line_chart_of_one_point_draws_the_point() -> None:
    """A district's first run: one x. Without a marker its line has no length (nothing drawn)."""
    one = line_chart(["12-03 19:11:48"], {"DATE_INVALID": [10.0]}, title="một lần chạy")
    two = line_chart(["a", "b"], {"DATE_INVALID": [10.0, 5.0]}, title="hai lần chạy")
    # A marker is filled in the series' colour; a line only strokes it.
    assert one.lower().count("fill: #0072b2") == 1
    assert "fill: #0072b2" not in two.lower()
