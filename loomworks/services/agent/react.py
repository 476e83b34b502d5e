"""ReAct: tools described in the prompt, the model answers in `Thought / Action / Observation` text.

For models without tool calling (or when the app asks for it). The model writes

    Thought: …
    Action: <tool name>
    Action Input: {"arg": "value"}

and stops before `Observation:`; the tool's result is appended as the observation and the model
continues, until it writes `Final Answer: …`. The JSON-blob form Dify's own prompt asks for
(`Action: {"action": <name> | "Final Answer", "action_input": …}`) is understood too. Text with
neither is taken as the answer. Only the final answer streams as the answer's text; thoughts go to
the thought records (Dify also streamed the thoughts into the answer; clients that concatenate
`agent_message` get a clean answer here).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from loomworks.core.ids import new_id
from loomworks.services.agent.entities import AgentEvent, AnswerDelta, ThoughtUpdate, ToolFile
from loomworks.services.agent.model import ModelToolCall, StepCollector
from loomworks.services.agent.strategy import AgentRun, AgentStrategy
from loomworks.services.agent.toolbox import AgentTool

FINAL_MARKER = "Final Answer:"
OBSERVATION = "Observation:"

PROMPT = """Respond to the human as helpfully and accurately as possible.

{instruction}

You have access to the following tools:

{tools}

Use this format:

Question: the question you must answer
Thought: think about what to do next
Action: the tool to use, one of [{tool_names}]
Action Input: the tool's input, as a JSON object
Observation: the tool's result
... (Thought / Action / Action Input / Observation may repeat)
Thought: I know what to answer
Final Answer: the answer to the question

Begin! Always answer with either an Action and its Action Input, or a Final Answer."""

NO_TOOLS_PROMPT = """Respond to the human as helpfully and accurately as possible.

{instruction}

No tools are available now. Answer from what you know and the observations so far, as:

Thought: I know what to answer
Final Answer: the answer to the question"""

_ACTION = re.compile(r"Action\s*:\s*(.*?)\s*\n\s*Action\s*Input\s*:\s*(.*)", re.DOTALL | re.IGNORECASE)
_FINAL = re.compile(r"Final\s+Answer\s*:\s*(.*)", re.DOTALL | re.IGNORECASE)
_BLOB = re.compile(r"Action\s*:\s*(?:```(?:json)?)?\s*(\{.*\})", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")
_ACTION_START = re.compile(r"Action\s*:", re.IGNORECASE)
_THOUGHT = re.compile(r"^\s*Thought\s*:\s*", re.IGNORECASE)


@dataclass(slots=True)
class ReActStep:
    """What one model step said: a tool call (`action`), or the final answer (`final`)."""

    thought: str = ""
    action: str | None = None
    action_input: Any = None
    final: str | None = None


def _json_or_text(raw: str) -> Any:
    text = _FENCE.sub("", raw.strip()).strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_step(text: str) -> ReActStep:
    """Read one step of ReAct text (whatever followed an invented `Observation:` is dropped)."""
    cut = text.find(OBSERVATION)
    if cut >= 0:
        text = text[:cut]
    final, action = _FINAL.search(text), _ACTION.search(text)
    blob = _BLOB.search(text) if action is None else None
    first = min((m for m in (final, action, blob) if m is not None), key=lambda m: m.start(), default=None)
    if first is None:
        return ReActStep(final=_THOUGHT.sub("", text).strip())
    thought = _THOUGHT.sub("", text[: first.start()]).strip()
    if first is final:
        return ReActStep(thought=thought, final=final.group(1).strip())
    if first is action:
        return ReActStep(
            thought=thought, action=action.group(1).strip().strip("`\"'"), action_input=_json_or_text(action.group(2))
        )
    parsed = _json_or_text(blob.group(1)) if blob else None
    if not isinstance(parsed, dict) or "action" not in parsed:
        return ReActStep(final=_THOUGHT.sub("", text).strip())
    name, value = str(parsed.get("action") or ""), parsed.get("action_input")
    if name.strip().lower() == "final answer":
        return ReActStep(thought=thought, final=value if isinstance(value, str) else json.dumps(value))
    return ReActStep(thought=thought, action=name, action_input=value)


class AnswerStream:
    """Streams what follows `Final Answer:` while a step is still arriving; holds back the rest."""

    def __init__(self) -> None:
        self.buffer = ""
        self.streaming = False
        self.blocked = False
        self.leading = True
        self.emitted: list[str] = []

    def feed(self, text: str) -> str:
        if self.blocked or not text:
            return ""
        if not self.streaming:
            self.buffer += text
            at = self.buffer.find(FINAL_MARKER)
            if at < 0:
                if _ACTION_START.search(self.buffer) or OBSERVATION in self.buffer:
                    self.blocked = True  # a tool step: nothing of it is the answer
                return ""
            self.streaming = True
            text = self.buffer[at + len(FINAL_MARKER) :]
        if self.leading:
            text = text.lstrip()
            self.leading = not text
        if OBSERVATION in text:  # the model ran on past its answer
            text = text[: text.find(OBSERVATION)]
            self.blocked = True
        if text:
            self.emitted.append(text)
        return text


def _describe(tool: AgentTool) -> str:
    schema = tool.spec.parameters.get("properties") or {}
    return f"{tool.name}: {tool.spec.description}, args: {json.dumps(schema, ensure_ascii=False)}"


class ReActStrategy(AgentStrategy, name="react"):
    """Dify's `react` strategy (CoT agent; agent node `ReAct`)."""

    def _messages(self, run: AgentRun, scratchpad: str, *, with_tools: bool) -> list[dict[str, Any]]:
        base = list(run.messages)
        system = base.pop(0) if base and base[0].get("role") == "system" else None
        instruction = "\n\n".join(
            part for part in (run.instruction, str(system["content"]) if system else "") if part.strip()
        )
        tools = run.toolbox.tools
        if with_tools and tools:
            prompt = PROMPT.format(
                instruction=instruction,
                tools="\n".join(_describe(t) for t in tools),
                tool_names=", ".join(t.name for t in tools),
            )
        else:
            prompt = NO_TOOLS_PROMPT.format(instruction=instruction)
        messages = [{"role": "system", "content": prompt.replace("\n\n\n\n", "\n\n")}, *base]
        if scratchpad:
            messages += [{"role": "assistant", "content": scratchpad}, {"role": "user", "content": "continue"}]
        return messages

    async def run(self, run: AgentRun) -> AsyncIterator[AgentEvent]:
        scratchpad = ""
        stop_words = [*run.stop_words, OBSERVATION][-4:]
        for step in range(1, run.max_iteration + 2):
            with_tools = step <= run.max_iteration and bool(run.toolbox.tools)
            thought = run.new_thought()
            collector = StepCollector()
            answer = AnswerStream()
            messages = self._messages(run, scratchpad, with_tools=with_tools)
            async for chunk in run.model.stream(
                messages, tools=[], parameters=run.parameters, stop=stop_words, user=run.user
            ):
                collector.add(chunk)
                piece = answer.feed(chunk.text)
                if piece:
                    if len(answer.emitted) == 1:
                        yield ThoughtUpdate(thought)
                    yield AnswerDelta(piece)
                if run.stopped:
                    break
            run.record_usage(thought, collector.usage)
            parsed = parse_step(collector.text)
            if parsed.action is None or not with_tools or run.stopped:
                final = parsed.final if parsed.final is not None else parsed.thought or collector.text.strip()
                if not answer.emitted and final:
                    yield ThoughtUpdate(thought)
                    yield AnswerDelta(final)
                    answer.emitted.append(final)
                thought.thought = "".join(answer.emitted)
                yield ThoughtUpdate(thought)
                return
            name = parsed.action
            arguments = run.toolbox.arguments_from(name, parsed.action_input)
            call = ModelToolCall(id=new_id(), name=name, arguments=json.dumps(arguments, ensure_ascii=False))
            thought.thought = parsed.thought
            thought.tools = [name]
            thought.tool_labels = {name: run.toolbox.label(name)}
            thought.tool_input = {name: run.toolbox.shown_input(call)}
            yield ThoughtUpdate(thought)
            outcome = await run.toolbox.run(call)
            thought.observation = {name: outcome.text}
            for file in outcome.files:
                produced = ToolFile(file=file)
                thought.files.append(produced.id)
                yield produced
            yield ThoughtUpdate(thought)
            action_input = json.dumps(arguments, ensure_ascii=False)
            scratchpad += (
                f"Thought: {parsed.thought}\nAction: {name}\nAction Input: {action_input}\n"
                f"{OBSERVATION} {outcome.text}\n\n"
            )
