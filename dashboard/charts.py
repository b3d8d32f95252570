"""Line charts as server-side SVG: they render offline, print, and need no script.

The page's Content-Security-Policy forbids inline styles, so every colour and width is an
SVG presentation attribute, never a style="..." attribute.
"""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 150, 16, 34
COLOURS = ("#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#8250df")


@dataclass
class Series:
    """One line: a name and a value (a fraction 0–1, or None for a gap) per label."""

    name: str
    values: list[float | None]


def render_rate_chart(labels: list[str], series: list[Series], title: str = "") -> Markup:
    """Return an SVG line chart of rates (0–100%) over labels, with a legend and gaps for None."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(labels) - 1)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(value: float) -> float:
        return TOP + (1 - value) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'stroke="#d0d7de" stroke-width="1"/>'
                     f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#57606a">{int(tick * 100)}%</text>')
    for i, label in enumerate(labels):
        parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 12}" text-anchor="middle" font-size="11" '
                     f'fill="#57606a">{escape(label)}</text>')
    for index, line in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        segment: list[str] = []
        for i, value in enumerate(line.values):
            if value is None:
                parts.append(_polyline(segment, colour))
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(value):.1f}")
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3" fill="{colour}">'
                         f'<title>{escape(line.name)} {escape(labels[i])}: {value * 100:.1f}%</title>'
                         f'</circle>')
        parts.append(_polyline(segment, colour))
        legend_y = TOP + 14 + index * 20
        parts.append(f'<rect x="{LEFT + plot_w + 14}" y="{legend_y - 9}" width="12" height="12" '
                     f'fill="{colour}"/><text x="{LEFT + plot_w + 32}" y="{legend_y + 1}" '
                     f'font-size="12" fill="#24292f">{escape(line.name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _polyline(points: list[str], colour: str) -> str:
    if len(points) < 2:
        return ""
    return (f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
            f'stroke-width="2"/>')
