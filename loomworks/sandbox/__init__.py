"""Code sandbox: runs untrusted Python and JavaScript in bubblewrap with rlimits and seccomp.

See `runner.py` for the isolation and `README.md` for how to extend it.
"""

from loomworks.sandbox.errors import (
    BadReturnError,
    CodeMemoryError,
    CodeRuntimeError,
    CodeSyntaxError,
    CodeTimeoutError,
    InputTooLargeError,
    OutputTooLargeError,
    SandboxError,
    SandboxUnavailableError,
)
from loomworks.sandbox.runner import Language, Sandbox, SandboxLimits, SandboxResult, SandboxStatus

__all__ = [
    "BadReturnError",
    "CodeMemoryError",
    "CodeRuntimeError",
    "CodeSyntaxError",
    "CodeTimeoutError",
    "InputTooLargeError",
    "Language",
    "OutputTooLargeError",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "SandboxResult",
    "SandboxStatus",
    "SandboxUnavailableError",
]
