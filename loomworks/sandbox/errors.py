"""What a sandboxed run can fail with.

Every failure is a `SandboxError` with a stable `kind`; the code node turns it into a failed
node (or its `fail-branch`) with the message, which never names host paths.
"""

from __future__ import annotations

from loomworks.core.errors import LoomworksError


class SandboxError(LoomworksError):
    """A sandboxed run failed; `kind` says how."""

    code, status, default_message = "code_execution_error", 400, "The code failed."
    kind = "error"


class SandboxUnavailableError(SandboxError):
    """Neither bubblewrap nor the rlimits+seccomp fallback can run here (or the sandbox is disabled)."""

    code, status, default_message = "sandbox_unavailable", 503, "The code sandbox is not available."
    kind = "unavailable"


class CodeSyntaxError(SandboxError):
    """The code does not parse."""

    kind = "syntax_error"


class CodeRuntimeError(SandboxError):
    """The code raised, or exited without an answer; `traceback` shows the user's frames only."""

    kind = "runtime_error"

    def __init__(self, message: str | None = None, *, traceback: str = "") -> None:
        super().__init__(message)
        self.traceback = traceback


class CodeTimeoutError(SandboxError):
    """The run passed its wall-clock or CPU limit and was killed."""

    kind = "timeout"


class CodeMemoryError(SandboxError):
    """The run passed its memory limit."""

    kind = "memory"


class OutputTooLargeError(SandboxError):
    """The result or the printed output passed the size cap."""

    kind = "output_too_large"


class InputTooLargeError(SandboxError):
    """The code and inputs together passed the size cap."""

    kind = "input_too_large"


class BadReturnError(SandboxError):
    """`main` did not return a dict (an object in JavaScript) of JSON values."""

    kind = "bad_return"


ERRORS_BY_KIND: dict[str, type[SandboxError]] = {
    cls.kind: cls
    for cls in (
        CodeSyntaxError,
        CodeRuntimeError,
        CodeTimeoutError,
        CodeMemoryError,
        OutputTooLargeError,
        InputTooLargeError,
        BadReturnError,
    )
}
