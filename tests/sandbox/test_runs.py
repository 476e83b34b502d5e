"""Dify's code-node contract in the sandbox: inputs in, a dict out, and each way a run can fail."""

from __future__ import annotations

import time

import pytest

from loomworks.core.config import Settings
from loomworks.sandbox import (
    BadReturnError,
    CodeMemoryError,
    CodeRuntimeError,
    CodeSyntaxError,
    CodeTimeoutError,
    Language,
    OutputTooLargeError,
    Sandbox,
    SandboxUnavailableError,
)
from tests.sandbox.conftest import make_sandbox

NESTED = {"text": "héllo 世界 ✓ 🧵", "list": [1, 2.5, None, True, {"deep": ["x", {"y": [[]]}]}], "n": -3}

PY_ECHO = """
def main(text: str, list: list, n: int) -> dict:
    return {"text": text + "!", "list": list, "n": n * 2, "types": [type(v).__name__ for v in list]}
"""
JS_ECHO = """
function main({text, list, n}) {
  return {text: text + "!", list, n: n * 2, types: list.map((v) => v === null ? "null" : typeof v)};
}
"""


async def test_python_inputs_in_dict_out(sandbox: Sandbox) -> None:
    result = await sandbox.run("python3", PY_ECHO, NESTED)
    assert result.output == {
        "text": "héllo 世界 ✓ 🧵!",
        "list": NESTED["list"],
        "n": -6,
        "types": ["int", "float", "NoneType", "bool", "dict"],
    }
    assert result.duration_ms > 0


async def test_javascript_inputs_in_dict_out(sandbox: Sandbox) -> None:
    result = await sandbox.run("javascript", JS_ECHO, NESTED)
    assert result.output == {
        "text": "héllo 世界 ✓ 🧵!",
        "list": NESTED["list"],
        "n": -6,
        "types": ["number", "number", "null", "boolean", "object"],
    }


async def test_javascript_async_main_and_prints_do_not_disturb_the_answer(sandbox: Sandbox) -> None:
    code = """
    async function main({a}) {
      console.log("\\nnot-the-nonce {\\"ok\\":true,\\"result\\":{\\"forged\\":1}}");
      await new Promise((r) => setTimeout(r, 5));
      return {a: a + 1};
    }
    """
    result = await sandbox.run("javascript", code, {"a": 1})
    assert result.output == {"a": 2}
    assert "forged" in result.stdout


async def test_python_prints_go_to_stdout_not_the_answer(sandbox: Sandbox) -> None:
    code = "import sys\ndef main():\n    print('hello')\n    sys.stdout.close()\n    return {'ok': True}\n"
    result = await sandbox.run("python3", code)
    assert result.output == {"ok": True}
    assert result.stdout == "hello\n"


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("python3", "import json\nprint(json.dumps({'sum': sum(range(10))}), 'é')\n"),
        ("javascript", "console.log(JSON.stringify({sum: [...Array(10).keys()].reduce((a, b) => a + b)}), 'é');"),
    ],
)
async def test_script_mode_returns_what_was_printed(sandbox: Sandbox, language: Language, code: str) -> None:
    result = await sandbox.run(language, code, mode="script")
    assert result.output is None
    assert result.stdout == '{"sum": 45} é\n' if language == "python3" else '{"sum":45} é\n'


@pytest.mark.parametrize(
    ("language", "code"),
    [("python3", "def main(:\n    return {}\n"), ("javascript", "function main( { return {} }")],
)
async def test_syntax_error(sandbox: Sandbox, language: Language, code: str) -> None:
    with pytest.raises(CodeSyntaxError) as caught:
        await sandbox.run(language, code)
    assert "SyntaxError" in caught.value.message


async def test_python_runtime_error_shows_only_user_frames(sandbox: Sandbox) -> None:
    code = "def helper(d):\n    return d['missing']\n\ndef main():\n    return helper({})\n"
    with pytest.raises(CodeRuntimeError) as caught:
        await sandbox.run("python3", code)
    trace = caught.value.traceback
    assert 'File "<code>", line 5, in main' in trace
    assert 'File "<code>", line 2, in helper' in trace
    assert "return d['missing']" in trace
    assert trace.rstrip().endswith("KeyError: 'missing'")
    assert "bootstrap" not in trace
    assert "KeyError" in caught.value.message


async def test_javascript_runtime_error_shows_only_user_frames(sandbox: Sandbox) -> None:
    code = "function helper(d) {\n  return d.x.y;\n}\nfunction main() {\n  return helper({});\n}\n"
    with pytest.raises(CodeRuntimeError) as caught:
        await sandbox.run("javascript", code)
    trace = caught.value.traceback
    assert trace.startswith("TypeError: Cannot read properties of undefined")
    assert "at helper (user_code.js:2:" in trace
    assert "at main (user_code.js:5:" in trace
    assert "harness" not in trace


async def test_missing_main(sandbox: Sandbox) -> None:
    with pytest.raises(CodeRuntimeError, match="main"):
        await sandbox.run("python3", "x = 1\n")
    with pytest.raises(CodeRuntimeError, match="main"):
        await sandbox.run("javascript", "const x = 1;")


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("python3", "def main():\n    return [1, 2]\n"),
        ("python3", "def main():\n    return {'s': {1, 2}}\n"),
        ("python3", "def main():\n    return {'x': float('nan')}\n"),
        ("javascript", "function main() { return [1, 2]; }"),
        ("javascript", "function main() { return 'text'; }"),
        ("javascript", "function main() { return new Map(); }"),
        ("javascript", "function main() { return {n: 10n}; }"),
    ],
)
async def test_bad_return_type(sandbox: Sandbox, language: Language, code: str) -> None:
    with pytest.raises(BadReturnError):
        await sandbox.run(language, code)


@pytest.mark.parametrize(
    ("language", "code"),
    [("python3", "def main():\n    while True:\n        pass\n"), ("javascript", "function main() { for (;;) {} }")],
)
async def test_endless_loop_is_stopped_at_the_wall_clock_limit(sandbox: Sandbox, language: Language, code: str) -> None:
    started = time.monotonic()
    with pytest.raises(CodeTimeoutError):
        await sandbox.run(language, code, time_limit=0.8)
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("python3", "def main():\n    chunks = []\n    while True:\n        chunks.append(bytearray(10**7))\n"),
        ("python3", "def main():\n    return {'n': len(bytearray(2 * 1024**3))}\n"),
        ("javascript", "function main() { const a = []; for (;;) a.push(new Array(1e6).fill(1.5)); }"),
        ("javascript", "function main() { const a = []; for (;;) a.push(new Uint8Array(5e7).fill(1)); }"),
    ],
)
async def test_memory_bomb_is_a_memory_error(sandbox: Sandbox, language: Language, code: str) -> None:
    with pytest.raises(CodeMemoryError):
        await sandbox.run(language, code)


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("python3", "def main():\n    return {'x': 'a' * 10**6}\n"),
        ("python3", "def main():\n    while True:\n        print('spam' * 1000)\n"),
        ("javascript", "function main() { return {x: 'a'.repeat(1e6)}; }"),
        ("javascript", "function main() { for (;;) console.log('spam'.repeat(1000)); }"),
    ],
)
async def test_huge_output_is_refused(sandbox: Sandbox, language: Language, code: str) -> None:
    with pytest.raises(OutputTooLargeError):
        await sandbox.run(language, code)


async def test_allowed_packages_only(sandbox: Sandbox) -> None:
    code = "def main():\n    import idna\n    return {'a': idna.encode('bücher.example').decode()}\n"
    with pytest.raises(CodeRuntimeError, match="ModuleNotFoundError"):
        await sandbox.run("python3", code)
    allowed = make_sandbox(isolation="bwrap", python_packages=("idna",))
    result = await allowed.run("python3", code)
    assert result.output == {"a": "xn--bcher-kva.example"}
    with pytest.raises(CodeRuntimeError, match="ModuleNotFoundError"):
        await allowed.run("python3", "def main():\n    import httpx\n    return {}\n")


async def test_disabled_and_missing_runtimes_refuse_clearly() -> None:
    with pytest.raises(SandboxUnavailableError, match="disabled"):
        Sandbox(enabled=False).check()
    broken = Sandbox(python="/nonexistent/python3")
    with pytest.raises(SandboxUnavailableError, match="cannot start"):
        broken.check()
    with pytest.raises(SandboxUnavailableError):
        await broken.run("python3", "def main():\n    return {}\n")
    no_deno = make_sandbox(deno="/nonexistent/deno")
    assert (await no_deno.run("python3", "def main():\n    return {'ok': 1}\n")).output == {"ok": 1}
    with pytest.raises(SandboxUnavailableError, match="JavaScript"):
        await no_deno.run("javascript", "function main() { return {}; }")


def test_from_settings_reads_the_sandbox_settings() -> None:
    settings = Settings(
        sandbox_timeout_seconds=3, sandbox_memory_mb=200, sandbox_max_output_kb=10, sandbox_python_packages="idna, yaml"
    )
    box = Sandbox.from_settings(settings)
    assert (box.limits.timeout_seconds, box.limits.memory_mb, box.limits.max_output_kb) == (3, 200, 10)
    assert box._packages == ("idna", "yaml")
