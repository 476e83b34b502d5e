"""Per-run latency of the code sandbox (DESIGN §7: a sandboxed code node run ≤ 30 ms).

Run: .venv/bin/python bench/sandbox.py [--runs 200] [--isolation bwrap|rlimits]

Each run is a fresh sandbox (bubblewrap namespaces, per-run uid, rlimits, seccomp) running a
trivial `main` that adds its two inputs, measured from `Sandbox.run()` call to result, one run
at a time; then the same with 4 runs in flight to show throughput on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from loomworks.sandbox import Language, Sandbox

CODE: dict[Language, str] = {
    "python3": "def main(a: int, b: int) -> dict:\n    return {'sum': a + b}\n",
    "javascript": "function main({a, b}) { return {sum: a + b}; }",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(sandbox: Sandbox, language: Language, runs: int) -> None:
    for _ in range(5):  # warm the page cache
        await sandbox.run(language, CODE[language], {"a": 1, "b": 2})
    times: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await sandbox.run(language, CODE[language], {"a": 1, "b": 2})
        times.append((time.perf_counter() - started) * 1000)
        assert result.output == {"sum": 3}
    started = time.perf_counter()
    await asyncio.gather(*(sandbox.run(language, CODE[language], {"a": 1, "b": 2}) for _ in range(runs)))
    rate = runs / (time.perf_counter() - started)
    print(
        f"{language:<11} p50 {statistics.median(times):6.1f} ms   p99 {percentile(times, 0.99):6.1f} ms   "
        f"min {min(times):5.1f} ms   4 in flight: {rate:5.0f} runs/s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--isolation", choices=["auto", "bwrap", "rlimits"], default="auto")
    args = parser.parse_args()
    sandbox = Sandbox(isolation=args.isolation)
    status = await asyncio.to_thread(sandbox.check)
    print(f"isolation: {status.mode}; python {status.python}; deno {status.deno}; runs: {args.runs}")
    for language in CODE:
        await measure(sandbox, language, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
