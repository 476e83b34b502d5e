"""Question–answer generation for `qa_model` documents, through a text-completion seam."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Complete = Callable[[str], Awaitable[str]]
"""Sends one prompt to a language model and returns its reply text."""

_PAIR = re.compile(r"Q\d*\s*[:：]\s*(.*?)\s*A\d*\s*[:：]\s*(.*?)(?=\s*Q\d*\s*[:：]|\Z)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class QAPair:
    """One generated pair: the question is embedded and searched; the answer is returned with it."""

    question: str
    answer: str


def qa_prompt(text: str, language: str) -> str:
    """The instruction given to the model for one chunk (the same task Dify's QA generator sets)."""
    return (
        "The user will send a long text. Generate question and answer pairs using only the knowledge in it.\n"
        "Cover as much of the text as you can; each answer must be complete and stand on its own.\n"
        f"Write the questions and answers in {language}.\n"
        "Reply in exactly this format and nothing else:\nQ1: ...\nA1: ...\nQ2: ...\nA2: ...\n\n"
        f"Text:\n{text}"
    )


def parse_pairs(reply: str) -> list[QAPair]:
    """Read `Q1: … A1: …` pairs from a model's reply; pairs with an empty side are dropped."""
    pairs = []
    for question, answer in _PAIR.findall(reply):
        question, answer = " ".join(question.split()), answer.strip()
        if question and answer:
            pairs.append(QAPair(question, answer))
    return pairs


async def generate_pairs(text: str, complete: Complete, *, language: str = "English") -> list[QAPair]:
    """Ask the model for question–answer pairs covering `text`.

    Raises:
        ValueError: the reply held no pair at all (so the document fails with a clear error).
    """
    pairs = parse_pairs(await complete(qa_prompt(text, language)))
    if not pairs:
        raise ValueError("The model's reply held no question and answer pairs.")
    return pairs
