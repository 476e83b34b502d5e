"""The `chart` built-in: line, bar and pie charts drawn as SVG files of the run."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree

from loomworks.services.tools.base import ToolOutput, ToolParameterError
from tests.services.tools._setup import Setup, make_setup

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
async def setup(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Setup]:
    target = tmp_path / "tools.db"
    shutil.copy(sqlite_template, target)
    async for ready in make_setup(f"sqlite:///{target}", tmp_path):
        yield ready


async def _chart(setup: Setup, tool: str, **parameters: Any) -> tuple[ToolOutput, Any]:
    out = await setup.runtime.invoke(setup.tenant_id, "builtin", "chart", tool, parameters)
    (file,) = out.files
    assert (file["type"], file["mime_type"], file["filename"]) == ("image", "image/svg+xml", f"{tool}.svg")
    assert setup.services.files is not None
    return out, ElementTree.fromstring(await setup.services.files.read(file))


def _texts(root: Any) -> list[str]:
    return [t.text for t in root.iter(SVG + "text")]


async def test_a_line_chart_has_one_point_per_value_and_the_x_labels(setup: Setup) -> None:
    out, root = await _chart(setup, "line_chart", data="3;1.5;-2;8", x_axis="Mon;Tue;Wed;<Thu>")
    assert out.text == ""
    assert out.for_llm() == "Files: line_chart.svg"
    (line,) = root.iter(SVG + "polyline")
    points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    assert len(points) == 4
    xs, ys = [x for x, _ in points], [y for _, y in points]
    assert xs == sorted(xs)
    # SVG y grows downwards: the largest value is highest, the negative one lowest.
    assert ys.index(min(ys)) == 3
    assert ys.index(max(ys)) == 2
    assert {"Mon", "Tue", "Wed", "<Thu>"} <= set(_texts(root))  # labels are escaped, never markup
    assert {"-2", "8"} <= set(_texts(root))  # the y axis spans the data (and zero)


async def test_bar_and_pie_charts(setup: Setup) -> None:
    _, bars = await _chart(setup, "bar_chart", data="1；2；3", x_axis="a;b")  # mismatched labels are dropped
    rects = [r for r in bars.iter(SVG + "rect") if r.find(SVG + "title") is not None]
    heights = [float(r.get("height")) for r in rects]
    assert len(heights) == 3
    assert heights[0] < heights[1] < heights[2]
    assert {"1", "2", "3"} <= set(_texts(bars))
    _, pie = await _chart(setup, "pie_chart", data="1;1;2", categories="cats;dogs;fish")
    slices = list(pie.iter(SVG + "path"))
    assert len(slices) == 3
    assert [t for t in _texts(pie) if "%" in t] == ["cats (25.0%)", "dogs (25.0%)", "fish (50.0%)"]
    _, whole = await _chart(setup, "pie_chart", data="5")
    assert not list(whole.iter(SVG + "path"))
    assert len(list(whole.iter(SVG + "circle"))) == 1


@pytest.mark.parametrize(
    ("tool", "data", "message"),
    [
        ("line_chart", "1;two;3", "numbers separated by ';'"),
        ("bar_chart", ";;", "1 to 500 finite numbers"),
        ("line_chart", "1;inf", "finite numbers"),
        ("pie_chart", "1;-1", "non-negative"),
        ("line_chart", ";".join(["1"] * 501), "1 to 500"),
    ],
)
async def test_bad_data_is_a_parameter_error(setup: Setup, tool: str, data: str, message: str) -> None:
    with pytest.raises(ToolParameterError, match=f"chart/{tool}.*{message}"):
        await setup.runtime.invoke(setup.tenant_id, "builtin", "chart", tool, {"data": data})
