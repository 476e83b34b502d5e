"""The first Python that runs inside the sandbox (`python3 -I -S -B bootstrap.py CONFIG`).

It is a standalone script, not part of the `loomworks` import graph: it runs under the
sandbox's interpreter with only the standard library. In order, before any user code is read:

1. set resource limits from CONFIG (a JSON argument): address space or data size, CPU seconds,
   processes, file size, open files, no core dumps; hard limits equal soft ones (CPU: +1 s) so
   user code cannot raise them again;
2. in the fallback mode only, load the seccomp program from an inherited file descriptor (under
   bubblewrap the filter is already in force, loaded by `bwrap --seccomp`);
3. either `exec` Deno (fallback mode, JavaScript) or read the request from stdin:
   `{"nonce", "mode": "main"|"script", "code", "inputs"}`.

The answer is one line on stdout, `\\n<nonce> <json>\\n`, after whatever the user code printed:
`{"ok": true, "result": {...}}` or `{"ok": false, "kind": ..., "message": ..., "traceback": ...}`.
The nonce only keeps user prints from being read as the answer; it is not a secret boundary
(the answer belongs to the user code anyway).
"""

import contextlib
import json
import os
import resource
import sys

USER_FILE = "<code>"
# Bound before user code runs, which may replace module attributes (`os.write = None`). Python
# has no isolation inside one interpreter; this only keeps honest mistakes from losing the answer.
_dumps, _write, _exit, _dup = json.dumps, os.write, os._exit, os.dup


def _set_limits(limits):
    for name, value in limits.items():
        if value is None:
            continue
        number = getattr(resource, "RLIMIT_" + name.upper())
        hard = value + 1 if name == "cpu" else value
        resource.setrlimit(number, (value, hard))


def _load_seccomp(fd):
    import ctypes

    program = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        program += chunk
    os.close(fd)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
    prog = SockFprog(len(program) // 8, program)
    if libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP failed")


def _user_traceback(exc, code):
    import linecache
    import traceback

    lines = code.splitlines(keepends=True)
    linecache.cache[USER_FILE] = (len(code), None, lines, USER_FILE)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == USER_FILE]
    text = "".join(traceback.format_list(frames))
    head = "Traceback (most recent call last):\n" if frames else ""
    return head + text + "".join(traceback.format_exception_only(type(exc), exc))


def _run(request):
    code = request["code"]
    try:
        compiled = compile(code, USER_FILE, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        import traceback

        message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return {"ok": False, "kind": "syntax_error", "message": message}
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compiled, namespace)  # noqa: S102 - this is the sandbox: running user code is its job
        if request["mode"] == "script":
            return {"ok": True, "result": None}
        main = namespace.get("main")
        if not callable(main):
            return {"ok": False, "kind": "runtime_error", "message": "the code must define a function main()"}
        result = main(**request["inputs"])
    except MemoryError:
        return {"ok": False, "kind": "memory", "message": "the code ran out of memory"}
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are the user's too
        return {"ok": False, "kind": "runtime_error", "message": repr(exc), "traceback": _user_traceback(exc, code)}
    if not isinstance(result, dict):
        kind = type(result).__name__
        return {"ok": False, "kind": "bad_return", "message": f"main() must return a dict, not {kind}"}
    return {"ok": True, "result": result}


def _encode(answer, limit):
    try:
        payload = _dumps(answer, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        answer = {"ok": False, "kind": "bad_return", "message": f"main() returned a value that is not JSON: {exc}"}
        payload = _dumps(answer)
    except MemoryError:
        payload = _dumps({"ok": False, "kind": "memory", "message": "the result did not fit in memory"})
    if len(payload) > limit:
        message = f"the result is larger than {limit // 1024} KB"
        payload = _dumps({"ok": False, "kind": "output_too_large", "message": message})
    return payload.encode("utf-8", "surrogatepass")


def main():
    config = json.loads(sys.argv[1])
    _set_limits(config["limits"])
    if config.get("seccomp_fd") is not None:
        _load_seccomp(config["seccomp_fd"])
    if config.get("exec"):
        os.execv(config["exec"][0], config["exec"])
    for path in config.get("path", ()):
        sys.path.append(path)
    # Keep our own handle on the answer pipe: user code may close or replace fd 1 and sys.stdout.
    answer_fd = _dup(1)
    raw = sys.stdin.buffer.read(config["max_input"] + 1)
    if len(raw) > config["max_input"]:
        answer = {"ok": False, "kind": "input_too_large", "message": "the code and inputs are too large"}
        nonce = ""
    else:
        request = json.loads(raw)
        del raw
        nonce = request["nonce"]
        sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace")
        answer = _run(request)
    with contextlib.suppress(BaseException):  # a broken user stdout must not lose the answer
        sys.stdout.flush()
    data = b"\n" + nonce.encode() + b" " + _encode(answer, config["max_output"]) + b"\n"
    while data:
        data = data[_write(answer_fd, data) :]
    # Skip interpreter shutdown: user threads, atexit hooks and __del__ methods get no more turns.
    _exit(0)


if __name__ == "__main__":
    main()
