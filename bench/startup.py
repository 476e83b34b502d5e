"""Cold start to first healthy response, and idle RSS, of `loomworks serve` (DESIGN §7 budgets).

Run: .venv/bin/python bench/startup.py [--runs 5]

Each run starts a fresh server on a new data directory (so the first start also creates the
SQLite database and applies every migration), polls GET /health every 5 ms until it answers 200,
then waits 3 s idle and reads the process's resident set size from /proc. The server's CPU time up
to its first healthy answer (also from /proc; a forked migration child's included) is printed too:
on a machine shared with other work it moves far less than the wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and of its children that have been waited for (/proc stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def one_run(data_dir: Path) -> tuple[float, float, float]:
    port = free_port()
    command = [sys.executable, "-m", "loomworks.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(timeout=1) as http:
            while True:
                try:
                    if http.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.005)
        ready = time.perf_counter() - started
        cpu = cpu_seconds(process.pid)
        time.sleep(3)
        return ready, cpu, rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cold: list[float] = []
    warm: list[float] = []
    cpu_cold: list[float] = []
    cpu_warm: list[float] = []
    rss_cold: list[float] = []
    rss_warm: list[float] = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            seconds, cpu, mb = one_run(Path(tmp) / "data")
            cold.append(seconds)
            cpu_cold.append(cpu)
            rss_cold.append(mb)
            seconds, cpu, mb = one_run(Path(tmp) / "data")
            warm.append(seconds)
            cpu_warm.append(cpu)
            rss_warm.append(mb)
    print(f"command: {' '.join(sys.argv)}")  # noqa: T201
    cold_median = statistics.median(cold)
    print(f"cold start, new data dir (DB + migrations): median {cold_median:.2f} s, max {max(cold):.2f} s")  # noqa: T201
    print(f"start on existing data dir: median {statistics.median(warm):.2f} s, max {max(warm):.2f} s")  # noqa: T201
    print(  # noqa: T201
        f"server CPU to first healthy answer: new data dir median {statistics.median(cpu_cold):.2f} s, "
        f"existing median {statistics.median(cpu_warm):.2f} s"
    )
    rss = rss_cold + rss_warm
    print(f"idle RSS: median {statistics.median(rss):.1f} MB, max {max(rss):.1f} MB")  # noqa: T201
    # The first start migrates in a forked child (Alembic never loads into the server); a restart skips it.
    print(f"  after a first start: median {statistics.median(rss_cold):.1f} MB")  # noqa: T201
    print(f"  after a restart: median {statistics.median(rss_warm):.1f} MB")  # noqa: T201


if __name__ == "__main__":
    main()
