"""The agent strategy contract, and the state of one run that strategies share.

A strategy drives the loop model step → tool calls → observation → next step, until the model
answers or the iteration bound is reached. It registers itself by subclassing `AgentStrategy`
with a `name=` class keyword (`function_call`, `react`); `runner.choose` picks one by name and
by what the model can do.

Contract of `AgentStrategy.run(run)`:
- yields `ThoughtUpdate` whenever a thought starts, learns its tool calls, or learns its
  observation (the same `AgentThought` object, so the same id, several times);
- yields `AnswerDelta` for the text of the answer the user reads, as it streams;
- yields `ToolFile` for each file a tool produced (its id is added to the thought's `files`);
- adds every model call's usage to `run.usage`;
- offers tools at most `run.max_iteration` times, then asks once more without tools, so a model
  that keeps calling tools still ends with an answer;
- stops early, between model chunks, when `run.stop` is set;
- never raises for a tool failure (the toolbox turns it into the observation); model errors
  propagate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from loomworks.providers.usage import Usage
from loomworks.services.agent.entities import AgentEvent, AgentThought, add_usage
from loomworks.services.agent.model import AgentModel
from loomworks.services.agent.toolbox import Toolbox


@dataclass(slots=True)
class AgentRun:
    """One run's inputs and what it has produced so far.

    Attributes:
        messages: the prompt before any tool use: an optional system message, history turns,
            and the user's message last.
        instruction: extra instructions for the ReAct prompt (agent node `instruction`, app
            `agent_mode.prompt`); the app's own system prompt is already in `messages`.
    """

    model: AgentModel
    toolbox: Toolbox
    messages: list[dict[str, Any]]
    max_iteration: int = 5
    parameters: dict[str, Any] = field(default_factory=dict)
    stop_words: list[str] = field(default_factory=list)
    user: str | None = None
    stop: asyncio.Event | None = None
    instruction: str = ""
    usage: Usage = field(default_factory=Usage)
    thoughts: list[AgentThought] = field(default_factory=list)
    model_calls: int = 0

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def new_thought(self) -> AgentThought:
        thought = AgentThought(position=len(self.thoughts) + 1)
        self.thoughts.append(thought)
        return thought

    def record_usage(self, thought: AgentThought, usage: Usage | None) -> None:
        self.model_calls += 1
        if usage is not None:
            thought.usage = usage
            self.usage = usage if self.model_calls == 1 else add_usage(self.usage, usage)


class AgentStrategy:
    """Base of the strategies; see the module docstring for the contract of `run`."""

    name: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[AgentStrategy]]] = {}
    needs_tool_calling: ClassVar[bool] = False

    def __init_subclass__(cls, name: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if name:
            cls.name = name
            AgentStrategy.registry[name] = cls

    def run(self, run: AgentRun) -> AsyncIterator[AgentEvent]:
        """Drive the run to its answer."""
        raise NotImplementedError
