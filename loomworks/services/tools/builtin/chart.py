"""`chart`: line, bar and pie charts from `;`-separated numbers, drawn as SVG images (Dify's tool names).

Dify draws PNGs with matplotlib; an SVG needs no plotting library, scales in every browser and is
small. The image is saved as a file of the run (`image/svg+xml`) and returned as the tool's file.
"""

from __future__ import annotations

import math
from typing import Any
from xml.sax.saxutils import escape

from loomworks.services.tools.base import ToolCall, ToolOutput, ToolParameter, ToolParameterError, i18n
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 20, 50
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
MAX_POINTS = 500


class ChartProvider(BuiltinToolProvider):
    name = "chart"
    label = i18n("ChartGenerator", "图表生成")
    description = i18n(
        "Chart Generator is a tool for generating statistical charts.", "图表生成是一个用于生成可视化图表的工具。"
    )
    tags = ["design", "productivity", "utilities"]


def _numbers(call: ToolCall) -> list[float]:
    raw = str(call.parameters.get("data") or "")
    parts = [p.strip() for p in raw.replace("；", ";").split(";") if p.strip()]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ToolParameterError(
            f"Tool {call.descriptor.key}: data must be numbers separated by ';', got {raw[:80]!r}.",
            tool=call.descriptor.key,
            params="data",
        ) from None
    if not values or len(values) > MAX_POINTS or not all(math.isfinite(v) for v in values):
        raise ToolParameterError(
            f"Tool {call.descriptor.key}: data must hold 1 to {MAX_POINTS} finite numbers.",
            tool=call.descriptor.key,
            params="data",
        )
    return values


def _labels(call: ToolCall, name: str, count: int) -> list[str]:
    raw = str(call.parameters.get(name) or "")
    labels = [p.strip() for p in raw.replace("；", ";").split(";")] if raw.strip() else []
    # As in Dify: labels that do not match the data one to one are dropped, not an error.
    return labels if len(labels) == count else [str(i + 1) for i in range(count)]


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _frame(values: list[float]) -> tuple[float, float, list[str]]:
    """The value range (always including 0) and the y axis: grid lines with their labels."""
    low, high = min(0.0, *values), max(0.0, *values)
    if high == low:
        high = low + 1
    parts: list[str] = []
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = low + (high - low) * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#333"/>')
    return low, high, parts


def _y(value: float, low: float, high: float) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    return TOP + plot_h - (value - low) / (high - low) * plot_h


def _x_labels(labels: list[str], xs: list[float]) -> list[str]:
    step = max(1, math.ceil(len(labels) / 20))  # at most ~20 labels stay readable
    return [
        f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{escape(label)}</text>'
        for i, (label, x) in enumerate(zip(labels, xs, strict=True))
        if i % step == 0
    ]


def line_svg(values: list[float], labels: list[str]) -> str:
    """A line chart: one point per value, joined, with labelled axes."""
    low, high, parts = _frame(values)
    plot_w = WIDTH - LEFT - RIGHT
    xs = [LEFT + (plot_w * (i + 0.5) / len(values)) for i in range(len(values))]
    points = " ".join(f"{x:.1f},{_y(v, low, high):.1f}" for x, v in zip(xs, values, strict=True))
    parts.append(f'<polyline fill="none" stroke="{COLORS[0]}" stroke-width="2" points="{points}"/>')
    parts += [
        f'<circle cx="{x:.1f}" cy="{_y(v, low, high):.1f}" r="3" fill="{COLORS[0]}"><title>{_fmt(v)}</title></circle>'
        for x, v in zip(xs, values, strict=True)
    ]
    return _svg(parts + _x_labels(labels, xs) + [_baseline(low, high)])


def bar_svg(values: list[float], labels: list[str]) -> str:
    """A bar chart: one bar per value from the zero line."""
    low, high, parts = _frame(values)
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / len(values)
    zero = _y(0.0, low, high)
    xs: list[float] = []
    for i, value in enumerate(values):
        x, top = LEFT + slot * i + slot * 0.15, _y(value, low, high)
        xs.append(LEFT + slot * (i + 0.5))
        parts.append(
            f'<rect x="{x:.1f}" y="{min(top, zero):.1f}" width="{slot * 0.7:.1f}" height="{abs(zero - top):.1f}" '
            f'fill="{COLORS[0]}"><title>{_fmt(value)}</title></rect>'
        )
    return _svg(parts + _x_labels(labels, xs) + [_baseline(low, high)])


def pie_svg(values: list[float], labels: list[str]) -> str:
    """A pie chart: one slice per (non-negative) value, with a legend."""
    total = sum(values)
    cx, cy, r = 200.0, HEIGHT / 2, 150.0
    parts: list[str] = []
    angle = -math.pi / 2
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        color = COLORS[i % len(COLORS)]
        share = value / total
        if share >= 0.9999:
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{color}"/>')
        elif share > 0:
            end = angle + share * 2 * math.pi
            x1, y1 = cx + r * math.cos(angle), cy + r * math.sin(angle)
            x2, y2 = cx + r * math.cos(end), cy + r * math.sin(end)
            large = 1 if share > 0.5 else 0
            parts.append(
                f'<path d="M{cx:.1f},{cy:.1f} L{x1:.1f},{y1:.1f} A{r},{r} 0 {large} 1 {x2:.1f},{y2:.1f} Z" '
                f'fill="{color}"><title>{escape(label)}: {_fmt(value)}</title></path>'
            )
            angle = end
        y = 40 + i * 22
        parts.append(f'<rect x="400" y="{y - 11}" width="14" height="14" fill="{color}"/>')
        parts.append(f'<text x="420" y="{y}">{escape(label)} ({share:.1%})</text>')
    return _svg(parts)


def _baseline(low: float, high: float) -> str:
    y = _y(0.0, low, high)
    return f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#333"/>'


def _svg(parts: list[str]) -> str:
    body = "\n".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="#fff"/>\n{body}\n</svg>\n'
    )


async def _image(call: ToolCall, services: ToolServices, svg: str) -> ToolOutput:
    files = services.need(call.descriptor.key, "files")
    stored: dict[str, Any] = await files.save(
        tenant_id=call.tenant_id,
        content=svg.encode(),
        mime_type="image/svg+xml",
        filename=f"{call.descriptor.name}.svg",
    )
    stored["type"] = "image"
    return ToolOutput(files=[stored])


_DATA = ToolParameter(
    "data",
    "string",
    required=True,
    label=i18n("data", "数据"),
    llm_description='data for generating chart, each number should be separated by ";"',
)


class LineChartTool(BuiltinTool):
    provider, name = "chart", "line_chart"
    label = i18n("Linear Chart", "线性图表")
    llm_description = "A tool for generating a linear chart from numbers."
    parameters = [
        _DATA,
        ToolParameter(
            "x_axis",
            "string",
            label=i18n("X Axis", "X 轴"),
            llm_description='x axis for chart, each text should be separated by ";"',
        ),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        values = _numbers(call)
        return await _image(call, services, line_svg(values, _labels(call, "x_axis", len(values))))


class BarChartTool(BuiltinTool):
    provider, name = "chart", "bar_chart"
    label = i18n("Bar Chart", "柱状图")
    llm_description = "A tool for generating a bar chart from numbers."
    parameters = LineChartTool.parameters

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        values = _numbers(call)
        return await _image(call, services, bar_svg(values, _labels(call, "x_axis", len(values))))


class PieChartTool(BuiltinTool):
    provider, name = "chart", "pie_chart"
    label = i18n("Pie Chart", "饼图")
    llm_description = "A tool for generating a pie chart from numbers."
    parameters = [
        _DATA,
        ToolParameter(
            "categories",
            "string",
            label=i18n("Categories", "分类"),
            llm_description='categories for chart, each category should be separated by ";"',
        ),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        values = _numbers(call)
        if any(v < 0 for v in values) or sum(values) <= 0:
            raise ToolParameterError(
                f"Tool {call.descriptor.key}: a pie chart needs non-negative numbers with a positive sum.",
                tool=call.descriptor.key,
                params="data",
            )
        return await _image(call, services, pie_svg(values, _labels(call, "categories", len(values))))
