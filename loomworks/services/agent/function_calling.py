"""Function calling: tools offered as functions, every call of a step run concurrently.

Each step streams the model with the tools offered. Text is the answer's text as it arrives.
When the step ends with tool calls, they all run at once (parallel tool calls), their results go
back as `role: tool` messages, and the next step starts. After `max_iteration` steps with tools
the model is asked once more with none, so it has to answer (Dify's FunctionCallAgentRunner).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from loomworks.services.agent.entities import AgentEvent, AgentThought, AnswerDelta, ThoughtUpdate, ToolFile
from loomworks.services.agent.model import ModelToolCall, StepCollector
from loomworks.services.agent.strategy import AgentRun, AgentStrategy
from loomworks.services.agent.toolbox import ToolOutcome


def _assistant(text: str, calls: list[ModelToolCall]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": text,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}
            for c in calls
        ],
    }


class FunctionCallingStrategy(AgentStrategy, name="function_call"):
    """Dify's `function_call` strategy (agent node: `function_calling`)."""

    needs_tool_calling = True

    async def run(self, run: AgentRun) -> AsyncIterator[AgentEvent]:
        messages = list(run.messages)
        specs = run.toolbox.specs
        for step in range(1, run.max_iteration + 2):
            offered = specs if step <= run.max_iteration else []
            thought = run.new_thought()
            collector = StepCollector()
            started = False
            async for chunk in run.model.stream(
                messages, tools=offered, parameters=run.parameters, stop=run.stop_words, user=run.user
            ):
                collector.add(chunk)
                if chunk.text:
                    if not started:
                        started = True
                        yield ThoughtUpdate(thought)
                    yield AnswerDelta(chunk.text)
                if run.stopped:
                    break
            run.record_usage(thought, collector.usage)
            thought.thought = collector.text
            calls = collector.tool_calls() if offered else []
            if not calls or run.stopped:
                yield ThoughtUpdate(thought)
                return
            for call in calls:
                thought.tools.append(call.name)
                thought.tool_labels[call.name] = run.toolbox.label(call.name)
                thought.tool_input[call.name] = run.toolbox.shown_input(call)
            yield ThoughtUpdate(thought)
            messages.append(_assistant(collector.text, calls))
            outcomes = await run.toolbox.run_all(calls)
            for outcome in outcomes:
                messages.append({"role": "tool", "tool_call_id": outcome.call.id, "content": outcome.text})
                for event in _observe(thought, outcome):
                    yield event
            yield ThoughtUpdate(thought)


def _observe(thought: AgentThought, outcome: ToolOutcome) -> list[AgentEvent]:
    """Record a call's result on the thought; the files it produced, as events."""
    thought.observation[outcome.call.name] = outcome.text
    events: list[AgentEvent] = []
    for file in outcome.files:
        produced = ToolFile(file=file)
        thought.files.append(produced.id)
        events.append(produced)
    return events
