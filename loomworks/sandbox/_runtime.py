"""Finding the runtimes on the host and writing the command lines that start a run.

Only what a runtime needs is made visible inside bubblewrap, read-only and at its host path:
the interpreter binary, its standard library, the shared-library directories, and for
JavaScript the Deno binary and `prlimit`. The bootstrap and the harness come in through pipes
(`--ro-bind-data`), so the package's own directory is never visible.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import util as importlib_util
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BOOTSTRAP_SOURCE = (PACKAGE_DIR / "_bootstrap.py").read_bytes()
HARNESS_SOURCE = (PACKAGE_DIR / "_harness.js").read_bytes()

SANDBOX_SITE = "/sandbox/site"
# V8 reserves ~600 MB of writable address space for its code range before any script runs, and
# tens of GB of address space in all, so Deno gets RLIMIT_DATA (not RLIMIT_AS) = this + the heap.
DENO_DATA_BASE_MB = 640

_PROBE = (
    "import json, sys, sysconfig; c = sysconfig.get_config_var; print(json.dumps({"
    "'executable': sys.executable, 'stdlib': sysconfig.get_paths()['stdlib'],"
    "'platstdlib': sysconfig.get_paths()['platstdlib'], 'multiarch': c('MULTIARCH') or '',"
    "'shared': bool(c('Py_ENABLE_SHARED')), 'libdir': c('LIBDIR') or '', 'ldlibrary': c('LDLIBRARY') or '',"
    "'version': '%d.%d' % sys.version_info[:2]}))"
)


@dataclass(frozen=True)
class PythonRuntime:
    """The interpreter that runs user Python, and the host paths it needs."""

    executable: str
    version: str
    paths: tuple[str, ...]

    @classmethod
    def probe(cls, python: str) -> PythonRuntime:
        """Ask the interpreter where its parts live (one short subprocess at start-up)."""
        found = shutil.which(python)
        if not found:
            raise FileNotFoundError(f"no Python interpreter at {python!r}")
        out = subprocess.run(  # noqa: S603 - a fixed probe script, our own interpreter path
            [found, "-I", "-S", "-c", _PROBE], capture_output=True, check=True, timeout=10
        ).stdout
        info = json.loads(out)
        executable = os.path.realpath(info["executable"] or found)
        paths = {executable, info["stdlib"], info["platstdlib"]}
        if info["shared"] and info["libdir"] and info["ldlibrary"]:
            paths.add(os.path.realpath(os.path.join(info["libdir"], info["ldlibrary"])))
        if info["multiarch"]:
            paths.add(f"/usr/lib/{info['multiarch']}")
        if Path("/usr/share/zoneinfo").is_dir():
            paths.add("/usr/share/zoneinfo")  # zoneinfo.ZoneInfo("Asia/Shanghai") in user code
        return cls(executable=executable, version=info["version"], paths=tuple(sorted(p for p in paths if p)))


def find_deno(configured: str | None) -> str | None:
    """The Deno binary: the setting, else the npm package installed by `scripts/install-sandbox.sh`, else PATH."""
    if configured:
        return configured
    prefix = Path(sys.prefix) / "deno" / "node_modules"
    for candidate in (prefix / "@deno" / "linux-x64-glibc" / "deno", prefix / "deno" / "deno"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("deno")


def package_dirs(names: tuple[str, ...]) -> dict[str, str]:
    """Host directories (or module files) of the allowed third-party packages, by import name.

    Only these are made visible to user code, so a package not on the list cannot be imported.
    A wheel's vendored native libraries (`numpy.libs/`) come along.

    Raises:
        ValueError: a name is not installed in the server's environment.
    """
    found: dict[str, str] = {}
    for name in names:
        spec = importlib_util.find_spec(name)
        if spec is None or spec.origin in (None, "built-in", "frozen"):
            raise ValueError(f"sandbox package {name!r} is not installed")
        if spec.submodule_search_locations:
            location = Path(next(iter(spec.submodule_search_locations)))
        else:
            location = Path(str(spec.origin))
        found[location.name] = str(location)
        for extra in (f"{name}.libs", f"{name}_libs"):
            libs = location.parent / extra
            if libs.is_dir():
                found[extra] = str(libs)
    return found


def _system_dirs() -> list[str]:
    """Bind or link the loader and library directories (merged-/usr or not)."""
    argv: list[str] = []
    for top in ("/lib", "/lib64", "/usr/lib64"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    return argv


@dataclass
class BwrapCommand:
    """The argument list of one `bwrap` run, with the descriptors it reads."""

    bwrap: str
    uid: int
    scratch_bytes: int
    disable_userns: bool
    argv: list[str] = field(default_factory=list[str])

    def base(self) -> list[str]:
        """Namespaces, identity, the empty filesystem with scratch `/tmp`, a clean environment."""
        argv = [self.bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--clearenv"]
        if self.disable_userns:
            argv.append("--disable-userns")
        argv += ["--uid", str(self.uid), "--gid", str(self.uid), "--hostname", "sandbox"]
        argv += _system_dirs()
        argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(self.scratch_bytes), "--tmpfs", "/tmp"]
        env = {"HOME": "/tmp", "LANG": "C.UTF-8", "PATH": "/usr/bin", "NO_COLOR": "1"}
        for key, value in env.items():
            argv += ["--setenv", key, value]
        return argv

    @staticmethod
    def finish(binds: list[tuple[str, str]], *, data: dict[str, int], seccomp_fd: int) -> list[str]:
        """Read-only `(host, inside)` binds, the piped files, then `/` and `/dev` made read-only."""
        argv: list[str] = []
        for source, dest in binds:
            argv += ["--ro-bind", source, dest]
        for dest, fd in data.items():
            argv += ["--ro-bind-data", str(fd), dest]
        argv += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/tmp", "--seccomp", str(seccomp_fd), "--"]
        return argv
