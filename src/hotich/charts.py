"""Charts for the reports and the pages, rendered on the server to inline SVG.

One way to draw for the whole project: the geometry (scales, nice ticks, paths) computed
here with numpy, laid out by the Jinja templates ``include/templates/charts/line.svg.j2``
and ``bar.svg.j2`` (decision 0019), each function returning an ``<svg>`` element to put
straight into an HTML page, with no script and nothing fetched from the internet. Text is
SVG text (the page's fonts draw the Vietnamese letters; DejaVu Sans first, as before), so
a chart is a few kilobytes and drawn in about a millisecond: matplotlib took ~0.2 s per
chart and ~1 s to import. Output is deterministic for the same input, so a report can be
compared with the last one.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Muted, colour-blind-safe (Okabe-Ito), in the order series are drawn.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
WIDTH_IN, HEIGHT_IN = 7.0, 3.0
DPI = 96
FONT = "DejaVu Sans, Verdana, system-ui, sans-serif"
# Width of one character of 10 px text, for the margins (DejaVu Sans averages ~0.6 em).
CHAR_PX = 6.2


@functools.lru_cache(maxsize=4)
def _env(templates_dir: Path) -> Any:
    from jinja2 import Environment, FileSystemLoader

    return Environment(
        loader=FileSystemLoader(templates_dir / "charts"),
        autoescape=True,
        trim_blocks=True,
        keep_trailing_newline=False,
    )


def _render(name: str, templates_dir: Path | None, **context: Any) -> str:
    from markupsafe import Markup

    if templates_dir is None:
        from hotich.config import Settings

        templates_dir = Settings().templates_dir
    # An accessible name for screen readers; the page's CSS sizes it by its class.
    label = Markup(html.escape(context["title"], quote=True))
    svg = _env(templates_dir).get_template(name).render(label=label, font=FONT, **context)
    return str(svg).strip()


def nice_ticks(top: float, n: int = 5) -> np.ndarray:
    """Ticks from 0 to at least ``top`` at a step of 1, 2, 2.5 or 5 times a power of ten,
    about ``n`` of them (2.5 only from 25 up, so that counts keep whole ticks)."""
    if not math.isfinite(top) or top <= 0:
        top = 1.0
    raw = top / n
    mag = 10.0 ** math.floor(math.log10(raw))
    multiples = (1, 2, 2.5, 5, 10) if mag >= 10 else (1, 2, 5, 10)
    step = next(m * mag for m in multiples if m * mag >= raw * (1 - 1e-9))
    return np.arange(0, math.ceil(top / step - 1e-9) + 1) * step


def _tick_label(v: float, step: float) -> str:
    """``v`` with thousands separators and as many decimals as the step has."""
    text = f"{step:.6g}"
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    return f"{v:,.{decimals}f}"


def _x_positions(x: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """Numeric positions of ``x`` (dates by their day, anything else by its rank) and
    the labels of each."""
    if all(isinstance(v, dt.date) for v in x):
        pos = np.array([v.toordinal() for v in x], dtype=float)
        return pos, [v.isoformat()[:10] for v in x]
    return np.arange(len(x), dtype=float), [str(v) for v in x]


def _path(px: np.ndarray, py: np.ndarray) -> tuple[str, list[tuple[float, float]]]:
    """An SVG path through the points, broken where a value is missing (NaN); lone points
    are returned apart, to be drawn as dots."""
    ok = np.isfinite(py)
    starts = ok & ~np.concatenate(([False], ok[:-1]))
    ends = ok & ~np.concatenate((ok[1:], [False]))
    lone = starts & ends
    cmd = np.where(starts, "M", "L")
    pts = np.char.add(
        np.char.add(cmd, np.char.mod("%.1f", px)), np.char.add(",", np.char.mod("%.1f", py))
    )
    d = " ".join(pts[ok & ~lone].tolist())
    dots = [
        (round(float(a), 1), round(float(b), 1)) for a, b in zip(px[lone], py[lone], strict=True)
    ]
    return d, dots


def line_chart(
    x: Sequence[Any],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    y_label: str = "",
    dashed: Mapping[str, Sequence[float | None]] | None = None,
    templates_dir: Path | None = None,
) -> str:
    """Lines over a shared x axis (dates, run labels): one per entry of ``series``, and
    the entries of ``dashed`` (a target, a projection) drawn dashed; an empty ``x`` gives a
    chart saying there is nothing yet. The y axis starts at 0."""
    w, h = round(WIDTH_IN * DPI), round(HEIGHT_IN * DPI)
    dashed = dashed or {}
    drawn = [(k, v, False) for k, v in series.items()] + [(k, v, True) for k, v in dashed.items()]
    legend_y = 34
    top = 48 if len(drawn) > 1 else 30
    if not len(x):
        frame = {"left": 40, "right": w - 12, "top": top, "bottom": h - 28}
        return _render("line.svg.j2", templates_dir, w=w, h=h, title=title, empty=True, box=frame)
    values = np.array([[np.nan if v is None else float(v) for v in vals] for _, vals, _ in drawn],
                      dtype=float).reshape(len(drawn), len(x))  # fmt: skip
    finite = values[np.isfinite(values)]
    ticks = nice_ticks(float(finite.max()) if finite.size else 0.0)
    step = float(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    labels_y = [_tick_label(float(t), step) for t in ticks]
    left = 8 + (18 if y_label else 0) + CHAR_PX * max(len(s) for s in labels_y) + 6
    box: dict[str, float] = {"left": round(left, 1), "right": w - 14, "top": top, "bottom": h - 28}
    pos, labels_x = _x_positions(x)
    span = float(pos[-1] - pos[0]) if len(pos) > 1 and pos[-1] != pos[0] else 0.0
    plot_w = box["right"] - box["left"]
    px = (box["left"] + plot_w / 2 + 0 * pos if span == 0
          else box["left"] + (pos - pos[0]) / span * plot_w)  # fmt: skip
    plot_h = box["bottom"] - box["top"]
    ymax = float(ticks[-1])

    def y_of(v: np.ndarray) -> np.ndarray:
        return box["bottom"] - v / ymax * plot_h

    # As many x labels as fit (each label's width and a gap), evenly spread, ends included.
    fit = max(2, int(plot_w // (CHAR_PX * max(len(s) for s in labels_x) + 16)))
    idx = np.unique(np.linspace(0, len(x) - 1, min(fit, len(x))).round().astype(int))
    xticks = [{"x": round(float(px[i]), 1), "label": labels_x[i], "anchor": "middle"} for i in idx]
    if len(xticks) > 1:  # the ends' labels stay inside the chart
        xticks[0]["anchor"], xticks[-1]["anchor"] = "start", "end"
    yticks = [
        {"y": round(float(y), 1), "label": s} for y, s in zip(y_of(ticks), labels_y, strict=True)
    ]
    lines, legend = [], []
    legend_x = float(box["left"]) + 4
    for i, ((name, _, is_dashed), row) in enumerate(zip(drawn, values, strict=True)):
        color, width = PALETTE[i % len(PALETTE)], 1.2 if is_dashed else 1.8
        d, dots = _path(px, y_of(row))
        lines.append({"d": d, "dots": dots, "color": color, "width": width, "dashed": is_dashed})
        legend.append({"x": round(legend_x, 1), "name": name, "color": color, "width": width,
                       "dashed": is_dashed})  # fmt: skip
        legend_x += 25 + CHAR_PX * len(name) + 16
    return _render(
        "line.svg.j2", templates_dir, w=w, h=h, title=title, empty=False, box=box,
        y_label=y_label, yticks=yticks, xticks=xticks, lines=lines,
        legend=legend if len(drawn) > 1 else [], legend_y=legend_y,
    )  # fmt: skip


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    x_label: str = "",
    keep_order: bool = False,
    templates_dir: Path | None = None,
) -> str:
    """Horizontal bars, largest on top (the top reasons, the backlog per district); with
    ``keep_order``, in the order given, first on top (age groups)."""
    w = round(WIDTH_IN * DPI)
    vals = np.asarray(values, dtype=float).reshape(len(labels))
    order = np.arange(len(labels)) if keep_order else np.argsort(-vals, kind="stable")
    bar_h, gap, top = 18.0, 9.0, 30.0
    bottom = top + len(labels) * (bar_h + gap) + gap
    h = round(bottom + (40 if x_label else 24))
    left = 14 + CHAR_PX * max((len(str(s)) for s in labels), default=4)
    box: dict[str, float] = {
        "left": round(left, 1),
        "right": w - 14,
        "top": top,
        "bottom": round(bottom, 1),
    }
    ticks = nice_ticks(float(vals.max()) if len(vals) else 0.0)
    step = float(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    value_room = CHAR_PX * max((len(f"{v:,.0f}") for v in vals), default=1) + 8
    plot_w = box["right"] - box["left"] - value_room
    scale = plot_w / float(ticks[-1])
    xticks = [{"x": round(box["left"] + float(t) * scale, 1), "label": _tick_label(float(t), step)}
              for t in ticks]  # fmt: skip
    bars = [
        {"y": round(top + gap + k * (bar_h + gap), 1), "h": bar_h,
         "w": round(max(float(vals[i]), 0.0) * scale, 1), "label": str(labels[i]),
         "value": f"{vals[i]:,.0f}"}
        for k, i in enumerate(order.tolist())
    ]  # fmt: skip
    return _render(
        "bar.svg.j2", templates_dir, w=w, h=h, title=title, box=box, xticks=xticks, bars=bars,
        x_label=x_label, color=PALETTE[0],
    )  # fmt: skip
