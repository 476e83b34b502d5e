"""One bubblewrap sandbox for the module: detection runs once, each test starts fresh runs.

CI (`CI=true`) must have bubblewrap working: a sandbox that cannot start there fails the run
instead of skipping it.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from loomworks.sandbox import Sandbox, SandboxLimits, SandboxUnavailableError

LIMITS = SandboxLimits(timeout_seconds=5, memory_mb=128, max_output_kb=64)


def make_sandbox(**options: Any) -> Sandbox:
    """A sandbox with small limits, checked; unavailable fails in CI and skips elsewhere."""
    sandbox = Sandbox(LIMITS, **options)
    try:
        sandbox.check()
    except SandboxUnavailableError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the sandbox must run in CI: {exc.message}")
        pytest.skip(f"sandbox unavailable here: {exc.message}")
    return sandbox


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    box = make_sandbox(isolation="bwrap")
    status = box.check()
    assert status.mode == "bwrap"
    assert status.javascript_error is None, status.javascript_error
    return box
