"""The sandbox runner: one isolated process per run of user Python or JavaScript.

A run is `bwrap` (new user, pid, ipc, uts, mount, cgroup and an empty network namespace; a
read-only view of the runtime only; a size-capped tmpfs `/tmp`; die-with-parent; a clean
environment) started under a per-run unprivileged uid when the runner is root, with the seccomp
allow-list of `_seccomp.py` loaded by bwrap before the runtime's first instruction. Inside,
the Python bootstrap (or `prlimit` in front of Deno) sets the resource limits before the user
code is read from stdin; the answer comes back as one JSON line on stdout. The runner kills the
whole process group at the wall-clock limit and caps what it reads.

Where bubblewrap cannot run and the runner is root, the fallback mode keeps rlimits + seccomp
and a per-run uid, but not the private filesystem: user code can then read what any local user
can read. Where neither works, `check()` and `run()` raise `SandboxUnavailableError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from loomworks.core.config import Settings
from loomworks.sandbox import _runtime
from loomworks.sandbox._seccomp import filter_bpf
from loomworks.sandbox.errors import (
    ERRORS_BY_KIND,
    CodeMemoryError,
    CodeRuntimeError,
    CodeTimeoutError,
    OutputTooLargeError,
    SandboxError,
    SandboxUnavailableError,
)

Language = Literal["python3", "javascript"]
RunMode = Literal["main", "script"]
IsolationMode = Literal["auto", "bwrap", "rlimits"]

_UID_BASE, _UID_SPAN = 200_000, 60_000  # per-run uids; nothing on the host should own files in this range
_STDERR_CAP = 16 * 1024
_ENVELOPE = 4096  # room for the answer's own JSON around the user's result
_SIGNAL_EXIT = re.compile(rb"out of memory|Reached heap limit|allocation failed", re.IGNORECASE)


@dataclass(frozen=True)
class SandboxLimits:
    """Per-run limits; `from_settings` reads the `sandbox_*` settings."""

    timeout_seconds: float = 10.0
    memory_mb: int = 256
    max_output_kb: int = 1024
    max_input_kb: int = 4096
    max_processes: int = 64  # threads count too: Deno starts about a dozen
    max_open_files: int = 256
    max_file_mb: int = 16
    scratch_mb: int = 64

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxLimits:
        """The limits configured in `settings`."""
        return cls(
            timeout_seconds=settings.sandbox_timeout_seconds,
            memory_mb=settings.sandbox_memory_mb,
            max_output_kb=settings.sandbox_max_output_kb,
        )


@dataclass(frozen=True)
class SandboxResult:
    """A finished run: `output` is what `main` returned (None in script mode)."""

    output: dict[str, Any] | None
    stdout: str
    stderr: str
    duration_ms: float


@dataclass(frozen=True)
class SandboxStatus:
    """What `check()` found: the isolation in use and why a language may be missing."""

    mode: Literal["bwrap", "rlimits"]
    python: str
    deno: str | None
    javascript_error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple[str, ...])


class _UidPool:
    """Hands out distinct uids to concurrent runs, starting at a random point of the range."""

    def __init__(self) -> None:
        self._next = secrets.randbelow(_UID_SPAN)
        self._in_use: set[int] = set()
        self._lock = threading.Lock()

    def acquire(self) -> int:
        with self._lock:
            while True:
                uid = _UID_BASE + self._next
                self._next = (self._next + 1) % _UID_SPAN
                if uid not in self._in_use:
                    self._in_use.add(uid)
                    return uid

    def release(self, uid: int) -> None:
        with self._lock:
            self._in_use.discard(uid)


class Sandbox:
    """Runs untrusted code; safe to share between tasks of one process.

    Usage: `await Sandbox.from_settings(settings).run("python3", code, {"x": 1})`. Call
    `check()` at start-up to fail early (and to log which isolation is in use).
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        enabled: bool = True,
        python: str = "/usr/bin/python3",
        deno: str | None = None,
        python_packages: tuple[str, ...] = (),
        isolation: IsolationMode = "auto",
        max_concurrent_runs: int = 4,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self._enabled = enabled
        self._python_path = python
        self._deno_path = _runtime.find_deno(deno)
        self._packages = python_packages
        self._isolation = isolation
        self._max_concurrent = max_concurrent_runs
        self._uids = _UidPool()
        self._status: SandboxStatus | None = None
        self._failure: str | None = None
        self._check_lock = threading.Lock()
        self._python: _runtime.PythonRuntime | None = None
        self._site: dict[str, str] = {}
        self._bwrap = shutil.which("bwrap")
        self._disable_userns = False
        self._gates: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Sandbox:
        """A sandbox configured by the `sandbox_*` settings."""
        packages = tuple(p.strip() for p in settings.sandbox_python_packages.split(",") if p.strip())
        return cls(
            SandboxLimits.from_settings(settings),
            enabled=settings.sandbox_enabled,
            python=settings.sandbox_python_path,
            deno=settings.sandbox_deno_path,
            python_packages=packages,
            max_concurrent_runs=settings.sandbox_max_concurrent_runs,
        )

    # -- detection ---------------------------------------------------------------------------

    def check(self) -> SandboxStatus:
        """Detect (once) how runs are isolated, by running a probe in each candidate mode.

        Raises:
            SandboxUnavailableError: disabled, or no isolation works on this machine.
        """
        with self._check_lock:
            if self._status is not None:
                return self._status
            if self._failure is not None:
                raise SandboxUnavailableError(self._failure)
            try:
                self._status = self._detect()
            except SandboxUnavailableError as exc:
                self._failure = exc.message
                raise
            return self._status

    def _detect(self) -> SandboxStatus:
        if not self._enabled:
            raise SandboxUnavailableError("Code execution is disabled (LOOMWORKS_SANDBOX_ENABLED=false).")
        try:
            self._python = _runtime.PythonRuntime.probe(self._python_path)
            self._site = _runtime.package_dirs(self._packages)
            filter_bpf()
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            raise SandboxUnavailableError(f"The code sandbox cannot start: {exc}") from exc
        reasons: list[str] = []
        candidates: list[Literal["bwrap", "rlimits"]] = (
            ["bwrap", "rlimits"] if self._isolation == "auto" else [self._isolation]
        )
        for mode in candidates:
            reason = self._probe(mode, "python3")
            if reason is None:
                js_error = self._probe(mode, "javascript") if self._deno_path else "Deno is not installed"
                notes = () if mode == "bwrap" else ("bubblewrap unavailable: " + "; ".join(reasons),)
                return SandboxStatus(mode, self._python.executable, self._deno_path, js_error, notes)
            reasons.append(f"{mode}: {reason}")
        raise SandboxUnavailableError(
            "The code sandbox cannot isolate runs here (" + "; ".join(reasons) + "). Install bubblewrap "
            "(scripts/install-sandbox.sh) and allow unprivileged user namespaces, or run the server as root "
            "for the rlimits+seccomp fallback."
        )

    def _probe(self, mode: Literal["bwrap", "rlimits"], language: Language) -> str | None:
        if mode == "bwrap":
            if not self._bwrap:
                return "bwrap is not installed"
            version = subprocess.run(  # noqa: S603 - bwrap found on PATH
                [self._bwrap, "--version"], capture_output=True, text=True, check=False
            ).stdout.split()
            self._disable_userns = len(version) > 1 and tuple(map(int, version[1].split(".")[:2])) >= (0, 8)
        elif os.geteuid() != 0:
            return "the fallback needs root to give each run its own uid"
        code = "def main():\n    return {'ok': 1}\n" if language == "python3" else "function main() { return {ok: 1} }"
        coro = self._execute(mode, language, "main", code, {}, time_limit=20.0)
        try:
            # A fresh thread, so that check() works from inside a running event loop too.
            with ThreadPoolExecutor(1) as pool:
                result = pool.submit(asyncio.run, coro).result()
        except SandboxError as exc:
            return f"{exc.message} {getattr(exc, 'traceback', '')}".strip()
        except OSError as exc:
            return str(exc)
        return None if result.output == {"ok": 1} else f"unexpected probe answer {result.output!r}"

    # -- running -----------------------------------------------------------------------------

    async def run(
        self,
        language: Language,
        code: str,
        inputs: dict[str, Any] | None = None,
        *,
        mode: RunMode = "main",
        time_limit: float | None = None,
    ) -> SandboxResult:
        """Run `code` in a fresh sandbox.

        Args:
            language: `python3` or `javascript`.
            code: in `main` mode it defines `main(**inputs)` (Python) / `main(inputs)`
                (JavaScript, may be async) returning a dict / plain object of JSON values;
                in `script` mode it runs top to bottom and what it prints is the result.
            inputs: the keyword arguments of `main` (JSON values).
            mode: `main` (Dify's code node) or `script` (code interpreter, templates).
            time_limit: wall-clock seconds; default from the limits.

        Returns:
            The dict `main` returned (`output`), and what the code printed (`stdout`, `stderr`).

        Raises:
            SandboxUnavailableError: no isolation works here, or JavaScript is not installed.
            CodeSyntaxError, CodeRuntimeError, CodeTimeoutError, CodeMemoryError,
            OutputTooLargeError, InputTooLargeError, BadReturnError: the run failed.
        """
        status = self._status or await asyncio.to_thread(self.check)
        if language == "javascript" and status.javascript_error:
            raise SandboxUnavailableError(f"JavaScript is not available: {status.javascript_error}")
        if language not in ("python3", "javascript"):
            raise SandboxError(f"unsupported code language {language!r}")
        async with self._gate():
            return await self._execute(status.mode, language, mode, code, inputs or {}, time_limit=time_limit)

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            self._gates = {loop: asyncio.Semaphore(self._max_concurrent)}  # forget closed loops
            gate = self._gates[loop]
        return gate

    async def _execute(
        self,
        mode: Literal["bwrap", "rlimits"],
        language: Language,
        run_mode: RunMode,
        code: str,
        inputs: dict[str, Any],
        *,
        time_limit: float | None,
    ) -> SandboxResult:
        limits = self.limits
        timeout = time_limit or limits.timeout_seconds
        nonce = secrets.token_hex(12)
        request = json.dumps(
            {"nonce": nonce, "mode": run_mode, "code": code, "inputs": inputs}, ensure_ascii=False
        ).encode("utf-8", "surrogatepass")
        if len(request) > limits.max_input_kb * 1024:
            raise ERRORS_BY_KIND["input_too_large"]("the code and inputs are too large")
        uid = self._uids.acquire()
        started = time.perf_counter()
        launch = _Launch(self, mode, language, uid, timeout)
        try:
            proc = await launch.start()
            out, err, timed_out = await _communicate(proc, request, limits, timeout, launch.sweep)
        finally:
            launch.close()
            await launch.sweep()
            self._uids.release(uid)
        elapsed = (time.perf_counter() - started) * 1000
        return _decode(out, err, nonce, proc.returncode, timed_out=timed_out, timeout=timeout, duration_ms=elapsed)


class _Launch:
    """The command, descriptors and identity of one run; closes what it opened."""

    def __init__(
        self, sandbox: Sandbox, mode: Literal["bwrap", "rlimits"], language: Language, uid: int, timeout: float
    ) -> None:
        self.sandbox, self.mode, self.language, self.uid = sandbox, mode, language, uid
        self.cpu = math.ceil(timeout) + 1
        self.root = os.geteuid() == 0
        self._fds: list[int] = []
        self._scratch: str | None = None
        self._swept = False

    def _pipe_with(self, data: bytes) -> int:
        read, write = os.pipe()
        self._fds.append(read)
        try:
            os.write(write, data)  # all of it fits in the pipe buffer (< 64 KB)
        finally:
            os.close(write)
        return read

    def _limits(self) -> dict[str, int | None]:
        lim = self.sandbox.limits
        memory = lim.memory_mb * 1024 * 1024
        js = self.language == "javascript"
        return {
            "as": None if js else memory,
            "data": (lim.memory_mb + _runtime.DENO_DATA_BASE_MB) * 1024 * 1024 if js else None,
            "cpu": self.cpu,
            "nproc": lim.max_processes,
            "fsize": lim.max_file_mb * 1024 * 1024,
            "nofile": lim.max_open_files,
            "core": 0,
        }

    def _deno_args(self, deno: str, harness: str) -> list[str]:
        heap = f"--v8-flags=--max-old-space-size={self.sandbox.limits.memory_mb}"
        flags = ["--no-prompt", "--no-remote", "--no-npm", "--no-config", "--no-lock", "--quiet", heap]
        return [deno, "run", *flags, harness, str(self.sandbox.limits.max_output_kb * 1024)]

    def _bootstrap_config(self, *, seccomp_fd: int | None, path: list[str], exec_argv: list[str] | None) -> str:
        lim = self.sandbox.limits
        config = {
            "limits": self._limits(),
            "seccomp_fd": seccomp_fd,
            "max_input": lim.max_input_kb * 1024,
            "max_output": lim.max_output_kb * 1024,
            "path": path,
            "exec": exec_argv,
        }
        return json.dumps(config)

    async def start(self) -> asyncio.subprocess.Process:
        argv, cwd, env = self._bwrap_argv() if self.mode == "bwrap" else self._fallback_argv()
        return await asyncio.create_subprocess_exec(
            *(_as_user(self.uid) if self.root else []),
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            pass_fds=self._fds,
            start_new_session=True,
            cwd=cwd,
            env=env,
        )

    def _bwrap_argv(self) -> tuple[list[str], str, dict[str, str]]:
        sandbox = self.sandbox
        assert sandbox._bwrap
        assert sandbox._python
        command = _runtime.BwrapCommand(
            sandbox._bwrap, self.uid, sandbox.limits.scratch_mb * 1024 * 1024, sandbox._disable_userns
        )
        argv = command.base()
        seccomp_fd = self._pipe_with(filter_bpf())
        if self.language == "python3":
            binds = [(p, p) for p in sandbox._python.paths]
            binds += [(src, f"{_runtime.SANDBOX_SITE}/{name}") for name, src in sandbox._site.items()]
            data = {"/sandbox/bootstrap.py": self._pipe_with(_runtime.BOOTSTRAP_SOURCE)}
            path = [_runtime.SANDBOX_SITE] if sandbox._site else []
            config = self._bootstrap_config(seccomp_fd=None, path=path, exec_argv=None)
            tail = [sandbox._python.executable, "-I", "-S", "-B", "/sandbox/bootstrap.py", config]
        else:
            deno = sandbox._deno_path
            prlimit = shutil.which("prlimit")
            if not deno or not prlimit:
                raise SandboxUnavailableError("JavaScript needs Deno and prlimit (util-linux)")
            binds = [(os.path.realpath(deno), "/sandbox/deno"), (prlimit, "/usr/bin/prlimit")]
            multiarch = [p for p in sandbox._python.paths if p.startswith("/usr/lib/") and "-linux-" in p]
            binds += [(p, p) for p in multiarch]
            data = {"/sandbox/harness.js": self._pipe_with(_runtime.HARNESS_SOURCE)}
            argv += ["--setenv", "DENO_DIR", "/tmp/.deno", "--setenv", "DENO_NO_UPDATE_CHECK", "1"]
            tail = ["/usr/bin/prlimit", *_prlimit_flags(self._limits()), "--"]
            tail += self._deno_args("/sandbox/deno", "/sandbox/harness.js")
        argv += _runtime.BwrapCommand.finish(binds, data=data, seccomp_fd=seccomp_fd)
        return argv + tail, "/", {}

    def _fallback_argv(self) -> tuple[list[str], str, dict[str, str]]:
        sandbox = self.sandbox
        assert sandbox._python  # noqa: S101 - check() ran
        scratch = tempfile.mkdtemp(prefix="loomworks-run-")
        self._scratch = scratch
        os.chown(scratch, self.uid, self.uid)
        os.chmod(scratch, 0o700)
        path: list[str] = []
        if sandbox._site:
            site = os.path.join(scratch, "site")
            os.mkdir(site)
            for name, src in sandbox._site.items():
                os.symlink(src, os.path.join(site, name))
            path = [site]
        exec_argv = None
        if self.language == "javascript":
            if not sandbox._deno_path:
                raise SandboxUnavailableError("JavaScript needs Deno")
            harness = os.path.join(scratch, "harness.js")
            with open(harness, "wb") as fh:
                fh.write(_runtime.HARNESS_SOURCE)
            os.chmod(harness, 0o444)
            exec_argv = self._deno_args(sandbox._deno_path, harness)
        seccomp_fd = self._pipe_with(filter_bpf())
        config = self._bootstrap_config(seccomp_fd=seccomp_fd, path=path, exec_argv=exec_argv)
        source = _runtime.BOOTSTRAP_SOURCE.decode()
        argv = [sandbox._python.executable, "-I", "-S", "-B", "-c", source, config]
        env = {"HOME": scratch, "LANG": "C.UTF-8", "PATH": "/usr/bin", "NO_COLOR": "1", "TMPDIR": scratch}
        env |= {"DENO_DIR": os.path.join(scratch, ".deno"), "DENO_NO_UPDATE_CHECK": "1"}
        return argv, scratch, env

    def close(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()

    async def sweep(self) -> None:
        """Fallback mode only: without a pid namespace, kill whatever the run left behind, by uid."""
        if self.mode != "rlimits" or self._swept:
            return
        self._swept = True
        if self.root and self.sandbox._python:
            killer = await asyncio.create_subprocess_exec(
                *_as_user(self.uid), self.sandbox._python.executable, "-I", "-S", "-c", "import os; os.kill(-1, 9)",
                stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            await killer.wait()
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)


def _as_user(uid: int) -> list[str]:
    """The prefix that starts a command as `uid` with no supplementary groups.

    `asyncio.create_subprocess_exec(user=…, group=…)` would do it in-process, but uvloop (which
    `serve` runs on) refuses those arguments; util-linux's `setpriv` works on every event loop.
    """
    return [_SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


_SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"


def _prlimit_flags(limits: dict[str, int | None]) -> list[str]:
    flags = []
    for name, value in limits.items():
        if value is None:
            continue
        hard = value + 1 if name == "cpu" else value
        flags.append(f"--{name}={value}:{hard}")
    return flags


class _TooMuchOutputError(Exception):
    pass


async def _communicate(
    proc: asyncio.subprocess.Process,
    request: bytes,
    limits: SandboxLimits,
    time_limit: float,
    sweep: Callable[[], Awaitable[None]],
) -> tuple[bytes, bytes, bool]:
    """Feed the request, read capped stdout/stderr; kill the process group on time-out or excess.

    `sweep` kills what the run left behind; it is called when the run's first process has exited
    but something it started still holds the output pipes open (fallback mode: no pid namespace).
    """
    assert proc.stdin
    assert proc.stdout
    assert proc.stderr
    stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr
    cap = limits.max_output_kb * 1024 + _ENVELOPE

    async def feed() -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(request)
            await stdin.drain()
        stdin.close()

    async def read_out() -> bytes:
        buf = bytearray()
        while chunk := await stdout.read(65536):
            buf += chunk
            if len(buf) > cap:
                raise _TooMuchOutputError
        return bytes(buf)

    async def read_err() -> bytes:
        buf = bytearray()
        while chunk := await stderr.read(65536):
            if len(buf) < _STDERR_CAP:
                buf += chunk[: _STDERR_CAP - len(buf)]
        return bytes(buf)

    out_task, err_task = asyncio.ensure_future(read_out()), asyncio.ensure_future(read_err())
    reading = asyncio.gather(out_task, err_task)
    # proc.wait() waits for the pipes to close too; a pidfd turns readable when the process exits.
    exited = _exit_signal(proc.pid)
    try:
        async with asyncio.timeout(time_limit):
            await feed()
            await asyncio.wait((reading, exited), return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                done, _ = await asyncio.wait((reading,), timeout=0.2)
                if not done:
                    await sweep()
            out, err = await reading
    except TimeoutError:
        return b"", b"", True
    except _TooMuchOutputError:
        raise OutputTooLargeError(f"the code printed or returned more than {limits.max_output_kb} KB") from None
    finally:
        await _reap(proc, exited, sweep, (out_task, err_task, reading))
    return out, err, False


async def _reap(
    proc: asyncio.subprocess.Process,
    exited: asyncio.Future[None],
    sweep: Callable[[], Awaitable[None]],
    readers: tuple[asyncio.Future[Any], ...],
) -> None:
    """Kill the run, stop the readers, and wait until process and pipes are gone."""
    _kill(proc)
    await exited
    await sweep()
    for reader in readers:
        reader.cancel()
    await asyncio.wait(readers)
    for reader in readers:
        if not reader.cancelled():
            reader.exception()  # retrieved, so that asyncio does not log it
    # Read the pipes to their end: a transport paused on a full buffer never sees EOF, and
    # proc.wait() waits for the pipes as well as the process.
    for stream in (proc.stdout, proc.stderr):
        while stream and await stream.read(65536):
            pass
    await proc.wait()


def _exit_signal(pid: int) -> asyncio.Future[None]:
    """A future set when process `pid` exits (before its pipes close)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        future.set_result(None)
        return future

    def fire() -> None:
        if not future.done():
            future.set_result(None)

    loop.add_reader(fd, fire)

    def close(_: asyncio.Future[None]) -> None:
        loop.remove_reader(fd)
        os.close(fd)

    future.add_done_callback(close)
    return future


def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _decode(
    out: bytes, err: bytes, nonce: str, returncode: int | None, *, timed_out: bool, timeout: float, duration_ms: float
) -> SandboxResult:
    stderr = err.decode("utf-8", "replace")
    if timed_out:
        raise CodeTimeoutError(f"the code ran longer than {timeout:g} s and was stopped")
    marker = b"\n" + nonce.encode() + b" "
    at = out.rfind(marker)
    if at < 0:
        raise _no_answer(returncode, err)
    line = out[at + len(marker) :].split(b"\n", 1)[0]
    stdout = out[:at].decode("utf-8", "replace")
    answer = json.loads(line)
    if not answer.get("ok"):
        kind = answer.get("kind", "runtime_error")
        message = answer.get("message") or "the code failed"
        if kind == "runtime_error":
            raise CodeRuntimeError(message, traceback=answer.get("traceback") or "")
        raise ERRORS_BY_KIND.get(kind, CodeRuntimeError)(message)
    return SandboxResult(output=answer.get("result"), stdout=stdout, stderr=stderr, duration_ms=duration_ms)


def _no_answer(returncode: int | None, err: bytes) -> SandboxError:
    code = returncode or 0
    sig = -code if code < 0 else code - 128 if code > 128 else 0
    if sig == signal.SIGXCPU:
        return CodeTimeoutError("the code used up its CPU time and was stopped")
    if _SIGNAL_EXIT.search(err):
        return CodeMemoryError("the code ran out of memory")
    if sig == signal.SIGXFSZ:
        return CodeRuntimeError("the code wrote a file larger than the limit")
    tail = err.decode("utf-8", "replace").strip()[-2000:]
    how = f"was killed by signal {sig}" if sig else f"exited with status {code}"
    return CodeRuntimeError(f"the code {how} without a result", traceback=tail)
