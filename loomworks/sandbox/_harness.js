// The Deno side of the sandbox: reads {nonce, mode, code, inputs} from stdin, runs the user
// code, writes "\n<nonce> <json>\n" to stdout. Deno runs with no permissions; this file holds
// no privilege either, but it must report faithfully even when user code replaces globals
// (Dify CVE-2025-3466: its harness read the result through a global that user code could swap).
// So everything used after user code starts is captured here first, and called through
// captured references only.
"use strict";

const apply = Reflect.apply;
const promiseThen = Promise.prototype.then;
const stringify = JSON.stringify;
const parse = JSON.parse;
const isArray = Array.isArray;
const getPrototypeOf = Object.getPrototypeOf;
const objectPrototype = Object.prototype;
const StringCtor = String;
const AsyncFunction = (async function () {}).constructor;
const ErrorCtor = Error;
const SyntaxErrorCtor = SyntaxError;
const RangeErrorCtor = RangeError;
const stdout = Deno.stdout;
const stdin = Deno.stdin;
const writeSync = stdout.writeSync;
const readSync = stdin.readSync;
const exit = Deno.exit;
const encoder = new TextEncoder();
const encode = TextEncoder.prototype.encode;
const decoder = new TextDecoder();
const decode = TextDecoder.prototype.decode;
const regExpReplace = RegExp.prototype[Symbol.replace];
const stringSplit = String.prototype.split;
const arrayFilter = Array.prototype.filter;
const arrayJoin = Array.prototype.join;
const arrayMap = Array.prototype.map;
const stringIncludes = String.prototype.includes;
const Uint8ArrayCtor = Uint8Array;
const typedArraySet = Uint8Array.prototype.set;
const typedArraySubarray = Uint8Array.prototype.subarray;
const maxOutput = Number(Deno.args[0]);
const USER_FILE = "user_code.js";
const LINE_OFFSET = 2; // "async function anonymous(inputs\n) {\n" precedes the user's first line

function readAll() {
  const chunks = [];
  let total = 0;
  for (;;) {
    const buffer = new Uint8ArrayCtor(65536);
    const n = apply(readSync, stdin, [buffer]);
    if (n === null || n === 0) break;
    chunks[chunks.length] = apply(typedArraySubarray, buffer, [0, n]);
    total += n;
  }
  const all = new Uint8ArrayCtor(total);
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    apply(typedArraySet, all, [chunks[i], at]);
    at += chunks[i].length;
  }
  return apply(decode, decoder, [all]);
}

const request = parse(readAll());
const nonce = request.nonce;

function writeAll(text) {
  let bytes = apply(encode, encoder, [text]);
  while (bytes.length > 0) {
    const n = apply(writeSync, stdout, [bytes]);
    bytes = apply(typedArraySubarray, bytes, [n]);
  }
}

function answer(value) {
  let payload;
  try {
    payload = apply(stringify, undefined, [value]);
  } catch (e) {
    payload = undefined;
    value = { ok: false, kind: "bad_return", message: "main() returned a value that is not JSON: " + describe(e) };
  }
  if (payload === undefined) {
    payload = apply(stringify, undefined, [value.ok ? { ok: false, kind: "bad_return", message: "main() returned a value that is not JSON" } : value]);
  }
  if (payload.length > maxOutput) {
    payload = apply(stringify, undefined, [{ ok: false, kind: "output_too_large", message: "the result is too large" }]);
  }
  writeAll("\n" + nonce + " " + payload + "\n");
  exit(0);
}

function describe(error) {
  try {
    if (error instanceof ErrorCtor) return StringCtor(error.name) + ": " + StringCtor(error.message);
    return "Uncaught " + StringCtor(error);
  } catch {
    return "Uncaught exception";
  }
}

// Keep only the user's frames, with line numbers of the code as written.
function userStack(error) {
  try {
    const lines = apply(stringSplit, StringCtor(error.stack), ["\n"]);
    const mine = apply(arrayFilter, lines, [(line) => apply(stringIncludes, line, [USER_FILE])]);
    const fixed = apply(arrayMap, mine, [
      (line) =>
        apply(regExpReplace, /\(?user_code\.js, <anonymous>:(\d+):(\d+)\)?/, [
          line,
          (_m, row, col) => "(" + USER_FILE + ":" + (Number(row) - LINE_OFFSET) + ":" + col + ")",
        ]),
    ]);
    return describe(error) + (fixed.length ? "\n" + apply(arrayJoin, fixed, ["\n"]) : "");
  } catch {
    return describe(error);
  }
}

function isMemoryError(error) {
  try {
    return error instanceof RangeErrorCtor && apply(stringIncludes, StringCtor(error.message), ["allocation failed"]);
  } catch {
    return false;
  }
}

async function run() {
  let body;
  if (request.mode === "script") {
    body = request.code + "\n;return undefined;\n//# sourceURL=" + USER_FILE;
  } else {
    body = request.code + "\n;return typeof main === 'function' ? main : undefined;\n//# sourceURL=" + USER_FILE;
  }
  let fn;
  try {
    fn = new AsyncFunction("inputs", body);
  } catch (e) {
    if (e instanceof SyntaxErrorCtor) return { ok: false, kind: "syntax_error", message: describe(e) };
    throw e;
  }
  try {
    const main = await fn(undefined);
    if (request.mode === "script") return { ok: true, result: null };
    if (main === undefined) return { ok: false, kind: "runtime_error", message: "the code must define a function main()" };
    const result = await main(request.inputs);
    const isObject = result !== null && typeof result === "object" && !isArray(result);
    const proto = isObject ? getPrototypeOf(result) : undefined;
    if (!isObject || (proto !== objectPrototype && proto !== null)) {
      const kind = result === null ? "null" : isArray(result) ? "array" : typeof result;
      return { ok: false, kind: "bad_return", message: "main() must return an object, not " + kind };
    }
    return { ok: true, result };
  } catch (e) {
    if (isMemoryError(e)) return { ok: false, kind: "memory", message: "the code ran out of memory" };
    return { ok: false, kind: "runtime_error", message: describe(e), traceback: userStack(e) };
  }
}

apply(promiseThen, run(), [answer, (e) => answer({ ok: false, kind: "runtime_error", message: describe(e) })]);
