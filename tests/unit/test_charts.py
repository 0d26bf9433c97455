"""hotich.charts: inline SVG from templates, deterministic, Vietnamese text, no script;
axes, ticks, legend and lines where the figures put them."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import numpy as np

from hotich.charts import bar_chart, line_chart, nice_ticks

NS = {"s": "http://www.w3.org/2000/svg"}


def _texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iterfind(".//s:text", NS)]


def test_line_chart_is_inline_svg_without_script_and_deterministic() -> None:
    days = [dt.date(2026, 11, d) for d in range(1, 11)]
    args = dict(title="Số bản ghi đã nạp", y_label="bản ghi")
    svg = line_chart(days, {"Đã nạp": list(range(10))}, dashed={"Mục tiêu": [5] * 10}, **args)
    assert svg.startswith("<svg ") and 'aria-label="Số bản ghi đã nạp"' in svg
    assert 'class="chart"' in svg and 'role="img"' in svg
    assert "<script" not in svg and "<metadata" not in svg and 'href="http' not in svg
    ET.fromstring(svg)  # well-formed XML, embeddable as is
    assert svg == line_chart(
        days, {"Đã nạp": list(range(10))}, dashed={"Mục tiêu": [5] * 10}, **args
    )
    assert svg != line_chart(
        days, {"Đã nạp": list(range(1, 11))}, dashed={"Mục tiêu": [5] * 10}, **args
    )


def test_line_chart_draws_axes_labels_legend_and_lines() -> None:
    days = [dt.date(2026, 11, 1) + dt.timedelta(days=i) for i in range(30)]
    svg = line_chart(
        days,
        {"Đã nạp": [1000.0 * i for i in range(30)], "Chờ rà soát": [None] * 10 + [5.0] * 20},
        dashed={"Mục tiêu": [30_000.0] * 30},
        title="Tiến độ / progress",
        y_label="bản ghi",
    )
    texts = _texts(svg)
    # Title, y label, the legend's three names (Vietnamese as given), the first and last day.
    for want in ("Tiến độ / progress", "bản ghi", "Đã nạp", "Chờ rà soát", "Mục tiêu"):
        assert want in texts
    assert "2026-11-01" in texts and "2026-11-30" in texts
    # The y axis from 0 past the largest value, in nice steps with thousands separators.
    assert "0" in texts and "30,000" in texts
    share = line_chart(["a", "b"], {"x": [0.1, 0.42]}, title="t")
    assert {"0.0", "0.1", "0.5"} <= set(_texts(share))
    paths = ET.fromstring(svg).findall(".//s:path", NS)
    assert len(paths) == 3 and paths[2].get("stroke-dasharray")  # the target dashed
    assert not paths[0].get("stroke-dasharray")
    # A missing value is a gap: the second line starts where its values start.
    d = paths[1].get("d") or ""
    assert d.count("M") == 1 and len(re.findall(r"[ML]", d)) == 20


def test_a_one_series_chart_has_no_legend_and_a_gap_alone_is_a_dot() -> None:
    svg = line_chart(["a", "b", "c"], {"x": [1, None, 3]}, title="t")
    root = ET.fromstring(svg)
    assert "x" not in _texts(svg)  # no legend for one line
    assert len(root.findall(".//s:circle", NS)) == 2  # two lone points around a gap


def test_nice_ticks() -> None:
    assert nice_ticks(700_000).tolist() == [0, 200_000, 400_000, 600_000, 800_000]
    assert nice_ticks(3).tolist() == [0, 1, 2, 3]
    assert nice_ticks(12).tolist() == [0, 5, 10, 15]  # counts keep whole ticks
    assert nice_ticks(1234).tolist() == [0, 250, 500, 750, 1000, 1250]
    assert np.allclose(nice_ticks(0.42), [0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert np.allclose(nice_ticks(0), [0, 0.2, 0.4, 0.6, 0.8, 1.0])  # nothing yet: 0 to 1


def test_empty_line_chart_and_bar_chart_render() -> None:
    assert line_chart([], {"a": []}, title="trống").startswith("<svg ")
    svg = bar_chart(
        ["DATE_INVALID", "REQUIRED_MISSING"], [3, 12], title='Lý do "hàng đầu" & <khác>'
    )
    ET.fromstring(svg)
    assert 'aria-label="Lý do &quot;hàng đầu&quot; &amp; &lt;khác&gt;"' in svg
    # Largest on top, each bar with its value, its width in proportion.
    rects = ET.fromstring(svg).findall(".//s:rect", NS)
    assert [float(r.get("y") or 0) for r in rects] == sorted(float(r.get("y") or 0) for r in rects)
    widths = [float(r.get("width") or 0) for r in rects]
    assert widths[0] > widths[1] and abs(widths[0] / widths[1] - 4) < 0.05
    assert _texts(svg).index("REQUIRED_MISSING") < _texts(svg).index("DATE_INVALID")
    assert "12" in _texts(svg) and "3" in _texts(svg)
    kept = bar_chart(["0–30", "31–90"], [1, 9], title="tuổi", keep_order=True)
    assert _texts(kept).index("0–30") < _texts(kept).index("31–90")


def test_a_line_chart_of_one_point_draws_the_point() -> None:
    """A district's first run: one x. A line through one point has no length: a dot."""
    one = ET.fromstring(line_chart(["12-03 19:11"], {"DATE_INVALID": [10.0]}, title="một lần"))
    two = ET.fromstring(line_chart(["a", "b"], {"DATE_INVALID": [10.0, 5.0]}, title="hai lần"))
    assert len(one.findall(".//s:circle", NS)) == 1
    assert len(two.findall(".//s:circle", NS)) == 0
