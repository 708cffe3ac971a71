"""Small, dependency-free SVG charts for the HTML report: histograms, bars and lines, with axes,
ticks and a legend. Every chart is an <svg class="plot" data-plot=NAME> whose marks carry
class="mark", so a test can count what was drawn."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 44
COLOURS = ("#3b6fb6", "#d9822b", "#3a9a5b", "#b8413b", "#7a5cb8")


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi) or hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / count))
    for factor in (1, 2, 5, 10):
        if (hi - lo) / (step * factor) <= count:
            step *= factor
            break
    start = math.ceil(lo / step) * step
    return [round(start + i * step, 10) for i in range(int((hi - start) / step) + 1)]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


class _Frame:
    def __init__(self, name: str, title: str, x: tuple[float, float], y: tuple[float, float], x_label: str,
                 y_label: str):
        self.name, self.title = name, title
        self.x0, self.x1 = x
        self.y0, self.y1 = y
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        if self.y1 <= self.y0:
            self.y1 = self.y0 + 1
        self.parts: list[str] = []
        self.x_label, self.y_label = x_label, y_label

    def px(self, x: float) -> float:
        return LEFT + (x - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)

    def py(self, y: float) -> float:
        return HEIGHT - BOTTOM - (y - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)

    def render(self, legend: Sequence[str] = (), x_ticks: Sequence[tuple[float, str]] | None = None) -> str:
        axes = [f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="#444"/>',
                f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#444"/>']
        for y in _ticks(self.y0, self.y1):
            axes.append(f'<line x1="{LEFT - 4}" y1="{self.py(y):.1f}" x2="{WIDTH - RIGHT}" y2="{self.py(y):.1f}" '
                        f'stroke="#e4e4e4"/><text x="{LEFT - 6}" y="{self.py(y) + 4:.1f}" text-anchor="end">'
                        f'{_fmt(y)}</text>')
        for x, label in (x_ticks if x_ticks is not None else [(t, _fmt(t)) for t in _ticks(self.x0, self.x1)]):
            axes.append(f'<text x="{self.px(x):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                        f'{html.escape(label)}</text>')
        axes.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
                    f'{html.escape(self.x_label)}</text>')
        axes.append(f'<text x="14" y="{(TOP + HEIGHT - BOTTOM) / 2}" text-anchor="middle" '
                    f'transform="rotate(-90 14 {(TOP + HEIGHT - BOTTOM) / 2})">{html.escape(self.y_label)}</text>')
        keys = [f'<rect x="{WIDTH - RIGHT - 150}" y="{TOP + 4 + 16 * i}" width="10" height="10" '
                f'fill="{COLOURS[i % len(COLOURS)]}"/><text x="{WIDTH - RIGHT - 136}" y="{TOP + 13 + 16 * i}">'
                f'{html.escape(name)}</text>' for i, name in enumerate(legend)]
        return (f'<svg class="plot" data-plot="{html.escape(self.name)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
                f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{html.escape(self.title)}" '
                f'font-family="sans-serif" font-size="11"><text x="{LEFT}" y="16" font-size="13" '
                f'font-weight="bold">{html.escape(self.title)}</text>{"".join(axes)}{"".join(self.parts)}'
                f'{"".join(keys)}</svg>')


def histogram(name: str, title: str, series: dict[str, np.ndarray], x_label: str, bins: int = 40) -> str:
    """Overlaid histograms (as densities, so series of different sizes compare) on shared bins."""
    present = {k: np.asarray(v, dtype=np.float64)[np.isfinite(v)] for k, v in series.items() if len(v)}
    present = {k: v for k, v in present.items() if len(v)}
    if not present:
        return empty(name, title)
    lo = min(float(v.min()) for v in present.values())
    hi = max(float(v.max()) for v in present.values())
    if hi <= lo:
        hi = lo + 1e-6
    edges = np.linspace(lo, hi, bins + 1)
    densities = {k: np.histogram(v, edges, density=True)[0] for k, v in present.items()}
    frame = _Frame(name, title, (lo, hi), (0, max(float(d.max()) for d in densities.values()) * 1.05), x_label,
                   "density")
    for i, (label, density) in enumerate(densities.items()):
        colour = COLOURS[i % len(COLOURS)]
        for left, right, value in zip(edges[:-1], edges[1:], density):
            if value > 0:
                frame.parts.append(
                    f'<rect class="mark" x="{frame.px(left):.1f}" y="{frame.py(value):.1f}" '
                    f'width="{max(frame.px(right) - frame.px(left) - 0.5, 0.5):.1f}" '
                    f'height="{frame.py(0) - frame.py(value):.1f}" fill="{colour}" fill-opacity="0.5">'
                    f'<title>{html.escape(label)}: {left:.3f}..{right:.3f}</title></rect>')
    return frame.render(legend=list(densities))


def bars(name: str, title: str, labels: Sequence[str], values: Sequence[float], x_label: str, y_label: str) -> str:
    if not len(values):
        return empty(name, title)
    frame = _Frame(name, title, (0, len(values)), (0, max(values) * 1.05 or 1), x_label, y_label)
    step = max(1, len(labels) // 12)
    for i, value in enumerate(values):
        frame.parts.append(f'<rect class="mark" x="{frame.px(i + 0.1):.1f}" y="{frame.py(value):.1f}" '
                           f'width="{frame.px(i + 0.9) - frame.px(i + 0.1):.1f}" '
                           f'height="{frame.py(0) - frame.py(value):.1f}" fill="{COLOURS[0]}">'
                           f'<title>{html.escape(str(labels[i]))}: {_fmt(value)}</title></rect>')
    return frame.render(x_ticks=[(i + 0.5, str(labels[i])) for i in range(0, len(labels), step)])


def lines(name: str, title: str, x: Sequence[float], series: dict[str, Sequence[float]], x_label: str,
          y_label: str) -> str:
    values = [v for ys in series.values() for v in ys if v is not None and math.isfinite(v)]
    if not len(x) or not values:
        return empty(name, title)
    frame = _Frame(name, title, (min(x), max(x)), (min(values) - 0.02, max(values) + 0.02), x_label, y_label)
    for i, (label, ys) in enumerate(series.items()):
        points = " ".join(f"{frame.px(a):.1f},{frame.py(b):.1f}" for a, b in zip(x, ys)
                          if b is not None and math.isfinite(b))
        frame.parts.append(f'<polyline class="mark" points="{points}" fill="none" '
                           f'stroke="{COLOURS[i % len(COLOURS)]}" stroke-width="2"/>')
    return frame.render(legend=list(series))


def empty(name: str, title: str) -> str:
    return (f'<svg class="plot empty" data-plot="{html.escape(name)}" viewBox="0 0 {WIDTH} 60" width="{WIDTH}" '
            f'height="60" font-family="sans-serif" font-size="12"><text x="{LEFT}" y="30">{html.escape(title)}: '
            'nothing to plot in this dataset</text></svg>')
