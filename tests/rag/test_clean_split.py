"""Cleaning rules and splitters; splitting never loses text (Hypothesis)."""

from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loomworks.rag.clean import clean, enabled_rules
from loomworks.rag.qa import generate_pairs, parse_pairs
from loomworks.rag.split import estimate_tokens, split_document, split_fixed, split_recursive, unescape_separator


def test_cleaning_rules() -> None:
    text = "Hi  there,\t\tfriend\n\n\n\nMail me: ana@example.org or see https://x.example/a?b=1 now<|end|>\x00"
    assert clean(text) == "Hi  there,\t\tfriend\n\n\n\nMail me: ana@example.org or see https://x.example/a?b=1 now<end>"
    tidy = clean(text, {"remove_extra_spaces", "remove_urls_emails"})
    assert tidy == "Hi there, friend\n\nMail me: or see now<end>"
    assert clean("[docs](https://a.example/x) ![logo](http://b.example/l.png)", {"remove_urls_emails"}) == "docs logo"
    rules = [{"id": "remove_extra_spaces", "enabled": True}, {"id": "remove_urls_emails", "enabled": False}]
    assert enabled_rules(rules) == {"remove_extra_spaces"}


def test_estimate_and_separators() -> None:
    assert estimate_tokens("abcd" * 10) == 10
    assert estimate_tokens("知识库") == 3
    assert unescape_separator("\\n\\n") == "\n\n"


def test_custom_mode_keeps_one_chunk_per_part_and_splits_long_parts() -> None:
    text = "alpha beta\n\ngamma\n\n" + " ".join(f"word{i}" for i in range(200))
    chunks = split_fixed(text, separator="\\n\\n", max_tokens=50, chunk_overlap=10)
    assert [c.text for c in chunks[:2]] == ["alpha beta", "gamma"]
    assert all(estimate_tokens(c.text) <= 50 for c in chunks)
    assert len(chunks) > 4
    # consecutive long pieces overlap
    assert chunks[3].text.split()[0] in chunks[2].text


def test_automatic_mode_merges_small_paragraphs() -> None:
    rule = {"mode": "automatic"}
    parents = split_document("One.\n\nTwo.\n\nThree.", rule)
    assert [p.text for p in parents] == ["One.\n\nTwo.\n\nThree."]


def test_hierarchical_modes() -> None:
    text = "Birds\nHerons wade.\nOwls hunt.\n\nTrees\nOaks live long."
    rule = {
        "mode": "hierarchical",
        "rules": {
            "parent_mode": "paragraph",
            "segmentation": {"separator": "\\n\\n", "max_tokens": 500},
            "subchunk_segmentation": {"separator": "\\n", "max_tokens": 50},
        },
    }
    parents = split_document(text, rule)
    assert [p.children for p in parents] == [["Birds", "Herons wade.", "Owls hunt."], ["Trees", "Oaks live long."]]
    full = split_document(text, {**rule, "rules": {**rule["rules"], "parent_mode": "full-doc"}})
    assert len(full) == 1
    assert full[0].text == text
    assert len(full[0].children) == 5


_texts = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "P"]), min_size=1, max_size=30),
        st.sampled_from([" ", "\n", "\n\n", ". ", "。"]),
    ),
    max_size=80,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(text=_texts, max_tokens=st.integers(5, 80), overlap=st.integers(0, 30))
def test_recursive_splitting_never_loses_text(text: str, max_tokens: int, overlap: int) -> None:
    chunks = split_recursive(text, max_tokens=max_tokens, chunk_overlap=min(overlap, max_tokens - 1))
    # Joined without their overlaps, the chunks give back the text's characters in order.
    assert "".join("".join(c.fresh.split()) for c in chunks) == "".join(text.split())
    # Every chunk's own text ends with its fresh part (the overlap only precedes it).
    assert all(c.text.endswith(c.fresh) for c in chunks)
    # A chunk exceeds the budget only when it is a single unbreakable piece.
    assert all(estimate_tokens(c.text) <= max_tokens for c in chunks if len(c.text.split()) > 1)


@settings(max_examples=100, deadline=None)
@given(text=_texts, max_tokens=st.integers(5, 80))
def test_custom_splitting_keeps_every_word_except_the_separator(text: str, max_tokens: int) -> None:
    chunks = split_fixed(text, separator="\n\n", max_tokens=max_tokens)
    assert "".join("".join(c.fresh.split()) for c in chunks) == "".join(text.split())


def test_qa_generation_through_the_llm_seam() -> None:
    prompts: list[str] = []

    async def fake_llm(prompt: str) -> str:
        prompts.append(prompt)
        return "Q1: How long is leave?\nA1: 25 days.\nQ2: Who approves?\nA2: The manager,\nin writing."

    pairs = asyncio.run(generate_pairs("Leave is 25 days; managers approve.", fake_llm, language="English"))
    assert [(p.question, p.answer) for p in pairs] == [
        ("How long is leave?", "25 days."),
        ("Who approves?", "The manager,\nin writing."),
    ]
    assert "Leave is 25 days" in prompts[0]
    assert re.search(r"in English", prompts[0])
    assert parse_pairs("no pairs here") == []

    async def useless(prompt: str) -> str:
        return "I cannot help."

    with pytest.raises(ValueError, match="no question"):
        asyncio.run(generate_pairs("text", useless))
