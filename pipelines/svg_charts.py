"""Small static SVG charts (bars and lines) for the HTML report: no plotting library, no script."""

from __future__ import annotations

import math
import textwrap
from html import escape

PALETTE = ("#2f6db5", "#d9822b", "#3a9d5d", "#b53f3f", "#7a5ab5")
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 28, 40
TITLE_CHARS, TITLE_LINE = 84, 16  # characters a title line holds at the report's 13px, and its height


def title_lines(title: str) -> list[str]:
    """The title wrapped at word boundaries to lines the chart's width holds."""
    return textwrap.wrap(title, TITLE_CHARS) or [""]


def _nice_ticks(low: float, high: float, count: int = 5, integers: bool = False) -> list[float]:
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * step:
            step *= factor
            break
    if integers:
        step = max(step, 1.0)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _label(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.3g}"


def _frame(title: str, x_label: str, y_label: str, y_low: float, y_high: float, body: list[str]) -> str:
    inner_h = HEIGHT - TOP - BOTTOM
    lines = title_lines(title)
    extra = TITLE_LINE * (len(lines) - 1)  # a long title gets lines of its own above the plot, never clipped
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + extra}" width="{WIDTH}" height="{HEIGHT + extra}" '
             f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" class="title">'
             + "".join(f'<tspan x="{WIDTH / 2}" dy="{0 if i == 0 else TITLE_LINE}">{escape(line)}</tspan>'
                       for i, line in enumerate(lines)) + "</text>",
             f'<g transform="translate(0 {extra})">']
    for tick in _nice_ticks(y_low, y_high):
        y = TOP + inner_h * (1 - (tick - y_low) / (y_high - y_low))
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_label(tick)}</text>')
    parts += body
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" class="axis"/>')
    parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT - 6}" text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text transform="translate(14 {TOP + inner_h / 2}) rotate(-90)" text-anchor="middle">'
                 f'{escape(y_label)}</text></g></svg>')
    return "".join(parts)


def bar_chart(values: list[float], labels: list[str], title: str, x_label: str, y_label: str) -> str:
    """Bars in order; ``labels`` are drawn under the bars they name ('' for none)."""
    top = max(max(values, default=0), 1e-12)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    width = inner_w / max(len(values), 1)
    body = []
    for i, (value, label) in enumerate(zip(values, labels)):
        h = inner_h * value / top
        x = LEFT + i * width
        body.append(f'<rect x="{x + 0.1 * width:.2f}" y="{TOP + inner_h - h:.2f}" width="{0.8 * width:.2f}" '
                    f'height="{h:.2f}" fill="{PALETTE[0]}"><title>{escape(label or str(i))}: {value:g}</title></rect>')
        if label:
            body.append(f'<text x="{x + width / 2:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{escape(label)}</text>')
    return _frame(title, x_label, y_label, 0.0, top, body)


def line_chart(x: list[float], series: dict[str, list[float]], title: str, x_label: str, y_label: str) -> str:
    """One line per series over the shared ``x``; non-finite values leave gaps. Legend at the top right."""
    finite = [v for values in series.values() for v in values if v is not None and math.isfinite(v)]
    if not x or not finite:
        return _frame(title, x_label, y_label, 0.0, 1.0, [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" '
                                                           'text-anchor="middle">no data</text>'])
    y_low, y_high = min(finite), max(finite)
    pad = 0.05 * (y_high - y_low or 1.0)
    y_low, y_high = y_low - pad, y_high + pad
    x_low, x_high = min(x), max(x) if max(x) > min(x) else min(x) + 1
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def point(xv: float, yv: float) -> str:
        return f"{LEFT + inner_w * (xv - x_low) / (x_high - x_low):.1f},{TOP + inner_h * (1 - (yv - y_low) / (y_high - y_low)):.1f}"

    body = []
    for tick in _nice_ticks(x_low, x_high, integers=all(float(v).is_integer() for v in x)):
        px = LEFT + inner_w * (tick - x_low) / (x_high - x_low)
        body.append(f'<text x="{px:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{_label(tick)}</text>')
    for index, (name, values) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        runs, current = [], []
        for xv, yv in zip(x, values):
            if yv is None or not math.isfinite(yv):
                runs, current = runs + [current] if current else runs, []
            else:
                current.append(point(xv, yv))
        runs += [current] if current else []
        for run in runs:
            if len(run) == 1:
                cx, cy = run[0].split(",")
                body.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
            else:
                body.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2"/>')
        legend_y = TOP + 4 + 14 * index
        body.append(f'<rect x="{WIDTH - RIGHT - 130}" y="{legend_y}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{WIDTH - RIGHT - 116}" y="{legend_y + 9}" class="legend">{escape(name)}</text>')
    return _frame(title, x_label, y_label, y_low, y_high, body)
