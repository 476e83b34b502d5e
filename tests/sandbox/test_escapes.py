"""Escape attempts from inside the sandbox; each must fail safely (and the host must see nothing)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loomworks.sandbox import CodeRuntimeError, Sandbox
from tests.sandbox.conftest import LIMITS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A real TCP listener on loopback; a test asserts that nothing ever connected to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def assert_nobody_connected(server: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        server.accept()


async def py(sandbox: Sandbox, body: str, **inputs: object) -> dict[str, Any]:
    """Run `body` as the body of main(); it returns a dict."""
    code = "def main(**kw):\n" + "".join(f"    {line}\n" for line in body.strip("\n").splitlines())
    result = await sandbox.run("python3", code, inputs)
    assert result.output is not None
    return result.output


async def js(sandbox: Sandbox, body: str, **inputs: object) -> dict[str, Any]:
    result = await sandbox.run("javascript", f"async function main(kw) {{\n{body}\n}}", inputs)
    assert result.output is not None
    return result.output


TRY_OPEN = """
out = {}
for path in kw["paths"]:
    try:
        with open(path, kw.get("mode", "r")) as fh:
            out[path] = "OPENED " + (fh.read(20) if kw.get("mode", "r") == "r" else "")
    except OSError as exc:
        out[path] = type(exc).__name__
return out
"""


async def test_host_files_are_not_there(sandbox: Sandbox) -> None:
    secrets = ["/etc/shadow", "/etc/passwd", str(REPO / "pyproject.toml"), "/root/.bashrc", "/work"]
    assert (REPO / "pyproject.toml").is_file()
    out = await py(sandbox, TRY_OPEN, paths=secrets)
    assert not any(str(v).startswith("OPENED") for v in out.values()), out
    top = await py(sandbox, "import os\nreturn {'root': sorted(os.listdir('/'))}")
    environ = await py(
        sandbox, "return {'pid1': open('/proc/1/environ').read(), 'me': open('/proc/self/environ').read()}"
    )
    assert environ["pid1"] == ""  # bwrap itself got an empty environment: no server secrets to read
    assert "LOOMWORKS" not in str(environ["me"])
    assert "PATH=/usr/bin" in str(environ["me"])
    assert set(top["root"]) <= {"dev", "lib", "lib64", "proc", "sandbox", "tmp", "usr"}


async def test_writes_outside_scratch_fail(sandbox: Sandbox) -> None:
    targets = ["/escape", "/usr/lib/escape", "/sandbox/escape", "/dev/escape", "/tmp/ok"]
    out = await py(sandbox, TRY_OPEN, paths=targets, mode="w")
    assert out == {
        "/escape": "OSError",
        "/usr/lib/escape": "OSError",
        "/sandbox/escape": "OSError",
        "/dev/escape": "OSError",
        "/tmp/ok": "OPENED ",
    }
    big = await py(sandbox, "try:\n    open('/tmp/big', 'wb').write(b'x' * 100 * 2**20)\nexcept OSError as e:\n"
                   "    return {'err': e.errno}\nreturn {'err': 0}")  # fmt: skip
    assert big["err"] != 0  # file-size limit / scratch size


async def test_scratch_is_private_to_each_run(sandbox: Sandbox) -> None:
    await py(sandbox, "open('/tmp/left-behind', 'w').write('x')\nreturn {}")
    out = await py(sandbox, "import os\nreturn {'tmp': os.listdir('/tmp')}")
    assert "left-behind" not in out["tmp"]


async def test_no_network_python(sandbox: Sandbox, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    body = """
import ctypes, socket
out = {}
for family, name in ((socket.AF_INET, "inet"), (socket.AF_INET6, "inet6"), (socket.AF_NETLINK, "netlink")):
    try:
        s = socket.socket(family, socket.SOCK_STREAM if family != socket.AF_NETLINK else socket.SOCK_RAW)
        s.connect(("127.0.0.1", kw["port"]))
        out[name] = "CONNECTED"
    except OSError as exc:
        out[name] = exc.errno
libc = ctypes.CDLL(None, use_errno=True)
out["raw_socket"] = libc.socket(2, 1, 0), ctypes.get_errno()
out["unix"] = socket.socket(socket.AF_UNIX).fileno() > 0
return out
"""
    out = await py(sandbox, body, port=port)
    assert out["inet"] == out["inet6"] == out["netlink"] == 1  # EPERM from seccomp
    assert out["raw_socket"] == [-1, 1]
    assert out["unix"] is True
    assert_nobody_connected(listener)


async def test_no_network_javascript(sandbox: Sandbox, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    body = """
const out = {};
const attempts = {
  connect: () => Deno.connect({hostname: "127.0.0.1", port: kw.port}),
  fetch: () => fetch(`http://127.0.0.1:${kw.port}/`),
  remote_import: () => import("https://deno.land/std/path/mod.ts"),
  npm_import: () => import("npm:left-pad"),
  websocket: () => new Promise((ok, bad) => {
    const w = new WebSocket(`ws://127.0.0.1:${kw.port}`);
    w.onerror = bad;
    w.onopen = ok;
  }),
};
for (const [name, attempt] of Object.entries(attempts)) {
  try { await attempt(); out[name] = "SUCCEEDED"; } catch (e) { out[name] = e.name || String(e); }
}
return out;
"""
    out = await js(sandbox, body, port=port)
    assert "SUCCEEDED" not in out.values(), out
    assert out["connect"] == out["fetch"] == "NotCapable"
    assert_nobody_connected(listener)


async def test_fork_bomb_is_bounded(sandbox: Sandbox) -> None:
    body = """
import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
except OSError as exc:
    return {"forks": n, "errno": exc.errno}
"""
    out = await py(sandbox, body)
    assert 0 < out["forks"] < LIMITS.max_processes
    assert out["errno"] == 11  # EAGAIN: RLIMIT_NPROC
    # The sleepers died with the run's pid namespace: the next run starts clean and fast.
    assert (await py(sandbox, "return {'ok': 1}")) == {"ok": 1}


async def test_proc_shows_only_the_sandbox(sandbox: Sandbox) -> None:
    body = """
import os
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
cmd1 = open("/proc/1/cmdline", "rb").read().split(b"\\0")[0].decode()
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
return {"pids": pids, "me": os.getpid(), "pid1": cmd1, "seccomp": status["Seccomp"].strip(),
        "nnp": status["NoNewPrivs"].strip(), "uid": os.getuid(), "caps": status["CapEff"].strip()}
"""
    out = await py(sandbox, body)
    assert out["pids"] == [1, 2]
    assert out["me"] == 2
    assert out["pid1"].endswith("bwrap")
    assert out["seccomp"] == "2"
    assert out["nnp"] == "1"
    assert out["caps"] == "0000000000000000"
    other = await py(sandbox, "import os\nreturn {'uid': os.getuid()}")
    assert out["uid"] != other["uid"]
    assert out["uid"] >= 200_000


async def test_a_run_cannot_signal_another_run(sandbox: Sandbox) -> None:
    victim = py(sandbox, "import time\ntime.sleep(1.0)\nreturn {'alive': True}")
    killer_body = """
import os, signal
hits = 0
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
for pid in range(3, 5000):
    try:
        os.kill(pid, signal.SIGKILL)
        hits += 1
    except OSError:
        pass
return {"hits": hits}
"""

    async def killer() -> dict[str, Any]:
        await asyncio.sleep(0.3)
        return await py(sandbox, killer_body)

    alive, killed = await asyncio.gather(victim, killer())
    assert alive == {"alive": True}
    assert killed == {"hits": 0}


async def test_python_process_and_syscall_escapes(sandbox: Sandbox) -> None:
    body = """
import ctypes, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
out = {"system": os.system("cat /etc/shadow")}
try:
    subprocess.run(["/bin/sh", "-c", "id"], check=True)
    out["subprocess"] = "RAN"
except OSError as exc:
    out["subprocess"] = type(exc).__name__
def call(name, *args):
    rc = getattr(libc, name)(*args)
    return [rc, ctypes.get_errno()]
out["mount"] = call("mount", b"none", b"/tmp", b"tmpfs", 0, None)
out["unshare_user"] = call("unshare", 0x10000000)
out["ptrace"] = call("ptrace", 16, 1, 0, 0)
out["chroot"] = call("chroot", b"/tmp")
out["setuid0"] = call("setuid", 0)
out["bpf"] = call("syscall", 321, 0, 0, 0)
out["perf"] = call("syscall", 298, 0, 0, 0, 0, 0)
out["keyctl"] = call("syscall", 250, 0, 0, 0)
return out
"""
    out = await py(sandbox, body)
    assert out["system"] != 0
    assert out["subprocess"] in ("FileNotFoundError", "PermissionError")
    for name in ("mount", "unshare_user", "ptrace", "chroot", "setuid0", "bpf", "perf", "keyctl"):
        assert out[name] == [-1, 1], (name, out[name])  # EPERM


async def test_pyodide_style_js_bridge_does_not_exist(sandbox: Sandbox) -> None:
    for module in ("js", "pyodide", "pyodide_js"):
        with pytest.raises(CodeRuntimeError, match="ModuleNotFoundError"):
            await sandbox.run("python3", f"import {module}\ndef main():\n    return {{}}\n")


async def test_deno_permissions_are_all_denied(sandbox: Sandbox) -> None:
    body = """
const out = {};
const attempts = {
  read: () => Deno.readTextFile("/etc/passwd"),
  read_sync: () => Deno.readTextFileSync("/usr/lib/os-release"),
  write: () => Deno.writeTextFile("/tmp/x", "x"),
  env: () => Deno.env.get("HOME"),
  env_all: () => Deno.env.toObject(),
  command: () => new Deno.Command("/bin/sh", {args: ["-c", "id"]}).output(),
  run: () => Deno.run({cmd: ["id"]}),
  ffi: () => Deno.dlopen("/usr/lib/x86_64-linux-gnu/libc.so.6", {}),
  sys: () => Deno.hostname(),
  child_process: async () => (await import("node:child_process")).execSync("id"),
  node_fs: async () => (await import("node:fs")).readFileSync("/etc/passwd"),
  permission_request: async () => {
    const s = await Deno.permissions.request({name: "read"});
    if (s.state !== "granted") throw new Error(s.state);
  },
};
for (const [name, attempt] of Object.entries(attempts)) {
  try { await attempt(); out[name] = "SUCCEEDED"; } catch (e) { out[name] = e.name || String(e); }
}
return out;
"""
    out = await js(sandbox, body)
    assert "SUCCEEDED" not in out.values(), out
    assert out["read"] == out["env"] == out["command"] == out["ffi"] == "NotCapable"


async def test_javascript_global_override_cannot_fool_the_harness(sandbox: Sandbox) -> None:
    """Dify CVE-2025-3466: user code replaced globals the harness relied on."""
    code = """
const fake = '\\n0000 {"ok":true,"result":{"forged":true}}\\n';
JSON.stringify = () => fake;
JSON.parse = () => ({forged: true});
Deno.stdout.writeSync = () => 0;
Deno.exit = () => {};
TextEncoder.prototype.encode = () => new Uint8Array();
Promise.prototype.then = function () { return this; };
Array.isArray = () => true;
Object.getPrototypeOf = () => null;
Reflect.apply = () => undefined;
String.prototype.split = () => [];
Object.defineProperty(globalThis, "Deno", {value: {}, writable: false});
function main({a}) { return {a, real: true}; }
"""
    result = await sandbox.run("javascript", code, {"a": 7})
    assert result.output == {"a": 7, "real": True}


async def test_the_python_bootstrap_is_out_of_reach(sandbox: Sandbox) -> None:
    # Replacing json/os helpers does not change how the answer is written.
    code = "import json, os\njson.dumps = lambda *a, **k: 'forged'\nos.write = None\n"
    code += "def main():\n    return {'real': True}\n"
    assert (await sandbox.run("python3", code)).output == {"real": True}
