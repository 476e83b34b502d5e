"""The fallback isolation (no bubblewrap): rlimits + seccomp + a per-run uid, when the runner is root.

It has no private filesystem (user code sees what any local user may read); these tests pin
what it does guarantee.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loomworks.sandbox import CodeMemoryError, CodeTimeoutError, Sandbox
from tests.sandbox.conftest import LIMITS, make_sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0 and not os.environ.get("CI"), reason="the fallback needs root")


@pytest.fixture(scope="module")
def fallback() -> Sandbox:
    box = make_sandbox(isolation="rlimits")
    assert box.check().mode == "rlimits"
    return box


def _uids_running() -> set[int]:
    uids: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if "\nState:\tZ" in status:
                continue  # killed, waiting to be reaped
            for line in status.splitlines():
                if line.startswith("Uid:"):
                    uids.add(int(line.split()[1]))
    return uids


async def test_both_languages_run(fallback: Sandbox) -> None:
    py = await fallback.run("python3", "def main(a):\n    return {'a': a * 2, 'u': 'ü'}\n", {"a": 2})
    assert py.output == {"a": 4, "u": "ü"}
    js = await fallback.run("javascript", "function main({a}) { return {a: a * 2}; }", {"a": 2})
    assert js.output == {"a": 4}


async def test_limits_identity_and_seccomp_hold(fallback: Sandbox) -> None:
    code = """
import os, resource, socket
def main():
    status = open("/proc/self/status").read()
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock = "CREATED"
    except OSError as exc:
        sock = exc.errno
    try:
        open("/etc/shadow").read()
        shadow = "READ"
    except OSError as exc:
        shadow = type(exc).__name__
    try:
        open("/usr/lib/escape", "w")
        write = "WROTE"
    except OSError as exc:
        write = type(exc).__name__
    return {"uid": os.getuid(), "seccomp": "Seccomp:\\t2" in status, "socket": sock, "shadow": shadow,
            "write": write, "as": resource.getrlimit(resource.RLIMIT_AS)[1],
            "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[1]}
"""
    out = (await fallback.run("python3", code)).output
    assert out is not None
    assert out["uid"] >= 200_000
    assert out["seccomp"] is True
    assert out["socket"] == 1
    assert out["shadow"] == "PermissionError"
    assert out["write"] == "PermissionError"
    assert out["as"] == LIMITS.memory_mb * 1024 * 1024
    assert out["nproc"] == LIMITS.max_processes


async def test_runaway_code_is_stopped_and_swept(fallback: Sandbox) -> None:
    with pytest.raises(CodeTimeoutError):
        await fallback.run("python3", "def main():\n    while True:\n        pass\n", time_limit=0.8)
    with pytest.raises(CodeMemoryError):
        await fallback.run("python3", "def main():\n    return {'n': len(bytearray(2 * 1024**3))}\n")
    # A daemon that leaves the process group would outlive the run without the per-uid sweep.
    code = """
import os, time
def main():
    if os.fork() == 0:
        os.setsid()
        os.close(1); os.close(2)
        time.sleep(30)
        os._exit(0)
    return {"uid": os.getuid()}
"""
    out = (await fallback.run("python3", code)).output
    assert out is not None
    assert out["uid"] not in _uids_running()
