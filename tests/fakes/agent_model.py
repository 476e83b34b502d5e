"""The fake OpenAI server with scripted agent behaviour: multi-step tool calling and ReAct text.

`AgentModelFake` is an `OpenAIFake` whose chat endpoint decides each answer from the messages it
receives, as a model in an agent loop would:

- `agent_tools` (function calling): no tool result yet → call the first tool of `plan`; one
  result → call the second; all called → answer quoting every tool result. Asked without tools
  (the run's last, tool-less round) it answers with what it has.
- `agent_parallel`: calls every tool of `plan` in one response (parallel tool calls), then answers.
- `agent_loop`: calls the first tool of `plan` whenever tools are offered; answers only when not.
- `agent_react`: the same plan written as ReAct text (`Thought:` / `Action:` / `Action Input:`),
  counting the `Observation:` lines in the conversation, then `Final Answer:` quoting them.
- `agent_pick` / `agent_pick_react`: `agent_tools` / `agent_react`, but the model picks each tool of
  `plan` by name among the tools it was offered (the request's `tools`; the ReAct prompt's
  `one of [...]` list). A planned name it was not offered ends the turn with an answer saying so,
  so a test proves the names the agent really showed the model. `offered` records, per request,
  the tool names the fake saw.

Every other scenario is the plain `OpenAIFake`'s.

Usage::

    with agent_model_fake() as fake:
        fake.plan = [("current_time", {"timezone": "UTC"}), ("city_weather", {"city": "Paris"})]
        fake.play("agent_tools")
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import Response

from tests._live_server import live_server
from tests.fakes.openai import OpenAIFake, text_of, words

AGENT_SCENARIOS = ("agent_tools", "agent_parallel", "agent_loop", "agent_react", "agent_pick", "agent_pick_react")
_REACT_TOOLS = re.compile(r"one of \[(.*?)\]")
_OBSERVATION = re.compile(r"Observation:\s*(.*?)(?:\n\n|\nThought:|$)", re.DOTALL)


@dataclass
class AgentModelFake(OpenAIFake):
    """`OpenAIFake` plus the agent scenarios; `plan` lists `(tool name, arguments)` to call in order."""

    plan: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    usages: list[dict[str, int]] = field(default_factory=list)  # the usage of every agent answer sent
    offered: list[list[str]] = field(default_factory=list)  # the tool names seen, per agent request

    def reset(self) -> None:
        super().reset()
        self.usages.clear()
        self.offered.clear()

    async def _chat(self, body: dict[str, Any], model: str, azure: bool) -> Response:
        if self.scenario not in AGENT_SCENARIOS:
            return await super()._chat(body, model, azure)
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        offered = [t["function"]["name"] for t in body.get("tools") or []]
        text, calls = self._decide(messages, offered)
        return self._sse(self._chunks(model, text, calls, prompt=" ".join(text_of(m.get("content")) for m in messages)))

    def _decide(self, messages: list[dict[str, Any]], offered: list[str]) -> tuple[str, list[tuple[str, str]]]:
        if self.scenario == "agent_pick_react":
            system = text_of(messages[0].get("content")) if messages and messages[0].get("role") == "system" else ""
            listed = _REACT_TOOLS.search(system)
            offered = [n.strip() for n in listed.group(1).split(",") if n.strip()] if listed else []
        self.offered.append(offered)
        if self.scenario in ("agent_react", "agent_pick_react"):
            return self._react(messages, offered if self.scenario == "agent_pick_react" else None), []
        results = [str(m.get("content") or "") for m in messages if m.get("role") == "tool"]
        plan = [(name, json.dumps(args)) for name, args in self.plan]
        if self.scenario == "agent_loop":
            return ("", plan[:1]) if offered else (f"I stopped after {len(results)} tool calls.", [])
        if self.scenario == "agent_parallel":
            return ("", plan) if offered and not results else (_final(results), [])
        if offered and len(results) < len(plan):
            name = plan[len(results)][0]
            if self.scenario == "agent_pick" and name not in offered:
                return _not_offered(name, offered), []
            return "", [plan[len(results)]]
        return _final(results), []

    def _react(self, messages: list[dict[str, Any]], offered: list[str] | None = None) -> str:
        said = "\n".join(text_of(m.get("content")) for m in messages if m.get("role") == "assistant")
        observations = [o.strip() for o in _OBSERVATION.findall(said)]
        if len(observations) < len(self.plan):
            name, args = self.plan[len(observations)]
            if offered is not None and name not in offered:
                return f"Thought: I cannot.\nFinal Answer: {_not_offered(name, offered)}"
            return f"Thought: I should use {name}.\nAction: {name}\nAction Input: {json.dumps(args)}"
        return f"Thought: I know what to answer.\nFinal Answer: {_final(observations)}"

    def _chunks(self, model: str, text: str, calls: list[tuple[str, str]], *, prompt: str) -> Iterator[str]:
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, Any] | None = None) -> str:
            choices = [] if usage else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
            payload: dict[str, Any] = {
                "id": "chatcmpl-agent",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
            }
            if usage:
                payload["usage"] = usage
            return json.dumps(payload)

        yield chunk({"role": "assistant", "content": ""})
        pieces = words(text) if text else []
        for piece in pieces:
            yield chunk({"content": piece})
        for index, (name, arguments) in enumerate(calls):
            call_id = f"call_{index}_{len(prompt)}"
            first = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
            yield chunk({"tool_calls": [first]})
            middle = len(arguments) // 2
            for part in (arguments[:middle], arguments[middle:]):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
        yield chunk({}, "tool_calls" if calls else "stop")
        prompt_tokens = max(1, len(prompt) // 4)
        completion_tokens = len(pieces) + 10 * len(calls)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        self.usages.append(usage)
        yield chunk({}, usage=usage)


def _not_offered(name: str, offered: list[str]) -> str:
    return f"I was not offered a tool named {name} (offered: {', '.join(offered) or 'none'})."


def _final(results: list[str]) -> str:
    return "Here is what I found: " + " | ".join(results) if results else "I could answer without tools."


@contextmanager
def agent_model_fake(**options: Any) -> Iterator[AgentModelFake]:
    """Serve a fresh `AgentModelFake` on a free loopback port for the duration of the block."""
    fake = AgentModelFake(**options)
    with live_server(fake.app) as root:
        fake.root = root
        yield fake
