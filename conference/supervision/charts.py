"""Trend charts drawn on the server as inline SVG: no JavaScript, no CDN, readable without colour
(each rate has its own dash pattern and marker), with <title>/<desc>, aria-label, and a <title>
on every point; the page repeats the figures in a table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

from conference.i18n import gettext as _
from conference.supervision.rates import MEASURE_LABELS, MEASURES, rate_text

# Colour, dash pattern and marker per rate: distinguishable in greyscale and for colour-blind readers.
STYLES = {
    "response": ("#b42318", "", "circle"),
    "resolution": ("#175cd3", "8 4", "square"),
    "on_time": ("#067647", "2 3", "diamond"),
    "satisfaction": ("#6941c6", "10 3 2 3", "triangle"),
}
WIDTH, HEIGHT = 760, 330
LEFT, RIGHT, TOP, BOTTOM = 52, 20, 20, 96  # plot margins; the legend sits under the month labels


def _attr(value: Any) -> str:
    return quoteattr(str(value))


def _marker(shape: str, x: float, y: float, colour: str, label: str) -> str:
    title = f"<title>{escape(label)}</title>"
    if shape == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill={_attr(colour)}>{title}</rect>'
    if shape == "diamond":
        pts = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}"
        return f'<polygon points="{pts}" fill={_attr(colour)}>{title}</polygon>'
    if shape == "triangle":
        pts = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y + 4:.1f} {x - 5:.1f},{y + 4:.1f}"
        return f'<polygon points="{pts}" fill={_attr(colour)}>{title}</polygon>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill={_attr(colour)}>{title}</circle>'


def trend_svg(months: Sequence[dict[str, Any]], chart_id: str = "trend") -> Markup:
    """One line (a single <path>, broken where a month has no figure) per rate over the months of
    `views.trend` (or `rollup.trend`), y from 0% to 100%."""
    title = _("近{n}个月督办指标走势").format(n=len(months))
    if months:
        span = _("{a}至{b}").format(a=months[0]["label"], b=months[-1]["label"])
    else:
        span = ""
    desc = _("{span}每月的响应率、解决率、按期办结率和满意率（百分比）；没有数据的月份不画点。具体数字见下表。").format(span=span)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(months) - 1) if len(months) > 1 else 0.0

    def x_of(i: int) -> float:
        return LEFT + (i * step if len(months) > 1 else plot_w / 2)

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - value)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'class="chart" id={_attr(chart_id)} aria-labelledby={_attr(chart_id + "-title")} '
        f'aria-describedby={_attr(chart_id + "-desc")} aria-label={_attr(title)} '
        f'font-family="Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif" font-size="12">',
        f"<title id={_attr(chart_id + '-title')}>{escape(title)}</title>",
        f"<desc id={_attr(chart_id + '-desc')}>{escape(desc)}</desc>",
        '<g class="grid" stroke="#d0d5dd" stroke-width="1">',
    ]
    for pct in range(0, 101, 20):
        y = y_of(pct / 100)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>')
    out.append("</g>")
    out.append('<g class="y-labels" fill="#475467" text-anchor="end">')
    for pct in range(0, 101, 20):
        out.append(f'<text x="{LEFT - 6}" y="{y_of(pct / 100) + 4:.1f}">{pct}%</text>')
    out.append("</g>")
    out.append('<g class="x-labels" fill="#475467" text-anchor="middle">')
    for i, month in enumerate(months):
        first = i == 0 or month["month"].month == 1
        label = _("{m}月").format(m=month["month"].month)
        out.append(f'<text x="{x_of(i):.1f}" y="{TOP + plot_h + 18}">{escape(label)}</text>')
        if first:
            year = _("{y}年").format(y=month["month"].year)
            out.append(f'<text x="{x_of(i):.1f}" y="{TOP + plot_h + 34}">{escape(year)}</text>')
    out.append("</g>")
    for measure in MEASURES:
        colour, dash, shape = STYLES[measure]
        name = MEASURE_LABELS[measure]
        commands, markers, pen_down = [], [], False
        for i, month in enumerate(months):
            value = month["rates"][measure]
            if value is None:
                pen_down = False
                continue
            x, y = x_of(i), y_of(value)
            commands.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
            pen_down = True
            point = _("{month}{rate}：{value}（{n}/{d}）").format(
                month=month["label"], rate=name, value=rate_text(value),
                n=month["hits"][measure], d=month["totals"][measure])
            markers.append(_marker(shape, x, y, colour, point))
        dash_attr = f" stroke-dasharray={_attr(dash)}" if dash else ""
        out.append(f'<g class="series" data-rate={_attr(measure)}>')
        out.append(f'<path data-rate={_attr(measure)} d={_attr(" ".join(commands))} fill="none" stroke={_attr(colour)} '
                   f'stroke-width="2.5"{dash_attr}><title>{escape(name)}</title></path>')
        out.extend(markers)
        out.append("</g>")
    # Legend: a line sample in the series' own style and its name.
    out.append('<g class="legend" fill="#1f2328">')
    legend_y = HEIGHT - 28
    for i, measure in enumerate(MEASURES):
        colour, dash, shape = STYLES[measure]
        x = LEFT + i * 170
        dash_attr = f" stroke-dasharray={_attr(dash)}" if dash else ""
        out.append(f'<line x1="{x}" y1="{legend_y}" x2="{x + 36}" y2="{legend_y}" stroke={_attr(colour)} stroke-width="2.5"{dash_attr}/>')
        out.append(_marker(shape, x + 18, legend_y, colour, MEASURE_LABELS[measure]))
        out.append(f'<text x="{x + 44}" y="{legend_y + 4}">{escape(MEASURE_LABELS[measure])}</text>')
    out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every interpolated text is escaped above
