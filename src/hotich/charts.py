"""Charts for the reports and the pages, rendered on the server to inline SVG.

One way to draw for the whole project: matplotlib (Agg, no display), one function per kind
of chart, each returning an ``<svg>`` element to put straight into an HTML page, with no
script and nothing fetched from the internet. Text is drawn as paths (DejaVu Sans has the
Vietnamese letters), so a page looks the same on a machine without the font. Output is
deterministic for the same input (a fixed hash salt, no date in the metadata), so a
report can be compared with the last one.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

# Muted, colour-blind-safe (Okabe-Ito), in the order series are drawn.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
WIDTH_IN, HEIGHT_IN = 7.0, 3.0

_XML_HEAD = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


def _figure(width: float = WIDTH_IN, height: float = HEIGHT_IN) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96, layout="constrained")
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _svg(fig: Any, title: str) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "hotich", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = _METADATA.sub("", _XML_HEAD.sub("", buf.getvalue(), count=1), count=1)
    # An accessible name for screen readers; the page's CSS sizes it by its class.
    label = html.escape(title, quote=True)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" class="chart" ', 1)


def line_chart(
    x: Sequence[Any],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    y_label: str = "",
    dashed: Mapping[str, Sequence[float | None]] | None = None,
) -> str:
    """Lines over a shared x axis (dates, run labels): one per entry of ``series``, and
    the entries of ``dashed`` (a target, a projection) drawn dashed; an empty ``x`` gives a
    chart saying there is nothing yet."""
    fig, ax = _figure()
    ax.set_title(title, loc="left", fontsize=10)
    if not len(x):
        ax.text(0.5, 0.5, "—", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return _svg(fig, title)
    # A line through one point has no length: a single x (a district's first run) gets a
    # marker, or the chart would show axes and nothing else.
    marker = "o" if len(x) == 1 else None
    for i, (name, values) in enumerate(series.items()):
        ax.plot(list(x), list(values), label=name, color=PALETTE[i % len(PALETTE)], lw=1.6,
                marker=marker, markersize=6)  # fmt: skip
    for i, (name, values) in enumerate((dashed or {}).items(), start=len(series)):
        ax.plot(list(x), list(values), label=name, color=PALETTE[i % len(PALETTE)], lw=1.2, ls="--")
    if y_label:
        ax.set_ylabel(y_label, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.set_ylim(bottom=0)
    fig.autofmt_xdate() if len(x) > 8 else None
    if len(series) + len(dashed or {}) > 1:
        ax.legend(fontsize=8, frameon=False)
    return _svg(fig, title)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    x_label: str = "",
    keep_order: bool = False,
) -> str:
    """Horizontal bars, largest on top (the top reasons, the backlog per district); with
    ``keep_order``, in the order given, first on top (age groups)."""
    height = max(1.4, 0.28 * len(labels) + 0.8)
    fig, ax = _figure(height=height)
    ax.set_title(title, loc="left", fontsize=10)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    order = (
        list(range(len(labels)))[::-1]
        if keep_order
        else sorted(range(len(labels)), key=lambda i: values[i])
    )
    ax.barh([labels[i] for i in order], [values[i] for i in order], color=PALETTE[0])
    for pos, i in enumerate(order):
        ax.text(values[i], pos, f" {values[i]:,.0f}", va="center", fontsize=8)
    if x_label:
        ax.set_xlabel(x_label, fontsize=9)
    ax.tick_params(labelsize=8)
    return _svg(fig, title)
