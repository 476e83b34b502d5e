"""The sandbox runs on the event loop `serve` uses (uvloop), not only on asyncio's own."""

from __future__ import annotations

import uvloop

from loomworks.sandbox import Sandbox


def test_runs_under_uvloop(sandbox: Sandbox) -> None:
    async def run() -> dict:
        result = await sandbox.run("python3", "def main(x: int) -> dict:\n    return {'y': x + 1}\n", {"x": 41})
        js = await sandbox.run("javascript", "function main({x}) { return {y: x * 2} }", {"x": 21})
        return {"python": result.output, "javascript": js.output}

    assert uvloop.run(run()) == {"python": {"y": 42}, "javascript": {"y": 42}}
