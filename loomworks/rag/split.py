"""Splitting cleaned text into chunks: automatic, custom (fixed separator) and parent-child.

Token counts come from a `count_tokens` callable so that the model runtime can supply the
embedding model's own tokenizer; the default is a cheap estimate (about four Latin characters,
or one CJK character, per token).

Splitting never loses text: every non-separator character of the input lands in some chunk, in
order; only overlaps repeat text, and `Chunk.fresh` is each chunk without its overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TokenCounter = Callable[[str], int]
MAX_SEGMENTATION_TOKENS = 4000
FULL_DOC_PARENT_TOKENS = 10_000
_AUTOMATIC_SEPARATORS = ("\n\n", "\n", "。", ". ", "! ", "? ", "; ", ", ", " ", "")


def estimate_tokens(text: str) -> int:
    """A cheap token estimate: ASCII characters / 4, plus one per other character."""
    ascii_count = sum(1 for ch in text if ord(ch) < 128)
    return (ascii_count + 3) // 4 + (len(text) - ascii_count)


def unescape_separator(separator: str) -> str:
    """Separators arrive escaped from forms and JSON (`"\\\\n\\\\n"`); turn escapes into characters."""
    return separator.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk: its text, and `fresh`, the same text without the overlap repeated from the previous chunk."""

    text: str
    fresh: str


@dataclass(frozen=True, slots=True)
class ParentChunk:
    """A parent chunk (returned as context) and its child chunks (embedded and searched)."""

    text: str
    children: list[str] = field(default_factory=list)


def _pieces(text: str, separator: str) -> list[str]:
    """Split keeping each separator at the end of its piece, so joining the pieces gives `text`."""
    parts = text.split(separator)
    return [p + separator for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _hard_split(text: str, max_tokens: int, count: TokenCounter) -> list[str]:
    out: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + max(max_tokens, 1))
        while end < len(text) and count(text[start : end + 1]) <= max_tokens:
            end = min(len(text), end + max(max_tokens // 2, 1))
        while end - start > 1 and count(text[start:end]) > max_tokens:
            end -= 1
        out.append(text[start:end])
        start = end
    return out


def _atoms(text: str, separators: Sequence[str], max_tokens: int, count: TokenCounter) -> list[str]:
    """Pieces of at most `max_tokens` each, whose concatenation is `text`."""
    if count(text) <= max_tokens:
        return [text]
    for index, separator in enumerate(separators):
        if separator and separator in text:
            out: list[str] = []
            for piece in _pieces(text, separator):
                out.extend(_atoms(piece, separators[index + 1 :], max_tokens, count))
            return out
    return _hard_split(text, max_tokens, count)


def _merge(atoms: list[str], max_tokens: int, overlap: int, count: TokenCounter) -> list[Chunk]:
    chunks: list[Chunk] = []
    current: list[str] = []
    sizes: list[int] = []
    carried = 0  # how many leading atoms of `current` repeat the previous chunk

    def emit() -> None:
        text = "".join(current).strip()
        if text:
            chunks.append(Chunk(text=text, fresh="".join(current[carried:]).strip()))

    for atom in atoms:
        size = count(atom)
        if current and sum(sizes) + size > max_tokens:
            emit()
            keep = 0
            while (
                keep < len(current)
                and sum(sizes[len(sizes) - keep - 1 :]) <= overlap
                and sum(sizes[len(sizes) - keep - 1 :]) + size <= max_tokens
            ):
                keep += 1
            current, sizes = current[len(current) - keep :], sizes[len(sizes) - keep :]
            carried = keep
        current.append(atom)
        sizes.append(size)
    if current and len(current) > carried:
        emit()
    return chunks


def split_recursive(
    text: str,
    *,
    max_tokens: int = 500,
    chunk_overlap: int = 50,
    separators: Sequence[str] = _AUTOMATIC_SEPARATORS,
    count_tokens: TokenCounter = estimate_tokens,
) -> list[Chunk]:
    """Merge pieces split on the first separator that occurs (then finer ones) into chunks of ≤ `max_tokens`.

    Consecutive chunks share up to `chunk_overlap` tokens of whole pieces.
    """
    atoms = _atoms(text, separators, max_tokens, count_tokens)
    return _merge(atoms, max_tokens, chunk_overlap, count_tokens)


def split_fixed(
    text: str,
    *,
    separator: str,
    max_tokens: int,
    chunk_overlap: int = 0,
    count_tokens: TokenCounter = estimate_tokens,
) -> list[Chunk]:
    """Dify's custom mode: one chunk per part between separators; a part over `max_tokens` is split further.

    The separator itself is a delimiter and is not kept.
    """
    separator = unescape_separator(separator) or "\n\n"
    chunks: list[Chunk] = []
    for part in text.split(separator):
        if not part.strip():
            continue
        if count_tokens(part) <= max_tokens:
            chunks.append(Chunk(text=part.strip(), fresh=part.strip()))
        else:
            chunks.extend(
                split_recursive(part, max_tokens=max_tokens, chunk_overlap=chunk_overlap, count_tokens=count_tokens)
            )
    return chunks


def _segmentation(rules: Mapping[str, Any], key: str, default_tokens: int) -> tuple[str, int, int]:
    seg = rules.get(key) or {}
    max_tokens = min(int(seg.get("max_tokens") or default_tokens), MAX_SEGMENTATION_TOKENS)
    overlap = int(seg.get("chunk_overlap") or 0)
    return str(seg.get("separator") or "\n\n"), max_tokens, min(overlap, max_tokens - 1)


def split_document(
    text: str, process_rule: Mapping[str, Any], *, count_tokens: TokenCounter = estimate_tokens
) -> list[ParentChunk]:
    """Split by a Dify process rule (`mode` automatic, custom or hierarchical).

    Returns:
        Parent chunks; for automatic and custom modes each has no children. In hierarchical mode
        (`rules.parent_mode` `paragraph` or `full-doc`), children come from `rules.subchunk_segmentation`.
    """
    mode = process_rule.get("mode", "automatic")
    rules: Mapping[str, Any] = process_rule.get("rules") or {}
    if mode == "automatic":
        return [ParentChunk(c.text) for c in split_recursive(text, count_tokens=count_tokens)]
    separator, max_tokens, overlap = _segmentation(rules, "segmentation", 500)
    if mode != "hierarchical":
        chunks = split_fixed(
            text, separator=separator, max_tokens=max_tokens, chunk_overlap=overlap, count_tokens=count_tokens
        )
        return [ParentChunk(c.text) for c in chunks]
    if rules.get("parent_mode") == "full-doc":
        parents = [c.text for c in _truncate(text, FULL_DOC_PARENT_TOKENS, count_tokens)]
    else:
        parents = [
            c.text
            for c in split_fixed(
                text, separator=separator, max_tokens=max_tokens, chunk_overlap=overlap, count_tokens=count_tokens
            )
        ]
    child_separator, child_tokens, child_overlap = _segmentation(rules, "subchunk_segmentation", 200)
    child_separator = child_separator if (rules.get("subchunk_segmentation") or {}).get("separator") else "\n"
    return [
        ParentChunk(
            parent,
            [
                c.text
                for c in split_fixed(
                    parent,
                    separator=child_separator,
                    max_tokens=child_tokens,
                    chunk_overlap=child_overlap,
                    count_tokens=count_tokens,
                )
            ],
        )
        for parent in parents
    ]


def _truncate(text: str, max_tokens: int, count: TokenCounter) -> list[Chunk]:
    """Full-doc mode keeps the whole document as one parent, cut at `max_tokens` like Dify."""
    stripped = text.strip()
    if not stripped:
        return []
    if count(stripped) <= max_tokens:
        return [Chunk(stripped, stripped)]
    head = _hard_split(stripped, max_tokens, count)[0]
    return [Chunk(head.strip(), head.strip())]
