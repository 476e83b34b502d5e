"""The workflow engine's `AgentPort`: the agent node runs the same strategies as agent-chat apps.

Dify's agent node names a strategy of the `langgenius/agent` plugin (`function_calling` or
`ReAct`) and its `agent_parameters`: `model` (a model selector: `provider`, `model`,
`completion_params`), `tools` (each with `settings` = form values and `parameters` =
`{name: {auto, value}}`), `instruction`, `query` and `maximum_iterations`. The node's outputs are
`text` (the answer), `files` (produced by tools) and `json` (one entry per round, like the agent
log Dify's node emits); usage goes to the node's execution metadata. While the agent runs, the
node's reporter hears of the answer text and of each round, model step and tool call (the node
turns them into `agent_log` events); the node's memory (chatflows) comes as `history`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool

from loomworks.core.errors import LoomworksError
from loomworks.engine.ports import AgentInvocation, AgentReporter, ToolResult, Usage
from loomworks.providers.base import LLMChunk, ToolSpec
from loomworks.providers.runtime import BoundLLM
from loomworks.providers.usage import Usage as ModelUsage
from loomworks.services.agent.entities import (
    AgentSettings,
    AgentThought,
    AnswerDelta,
    ThoughtUpdate,
    ToolFile,
    strategy_name,
)
from loomworks.services.agent.model import AgentModel, BoundAgentModel, StepCollector
from loomworks.services.agent.runner import run_agent
from loomworks.services.agent.strategy import AgentRun, AgentStrategy
from loomworks.services.agent.toolbox import RuntimeGetter, Toolbox
from loomworks.services.model_gateway import WorkspaceModels
from loomworks.store.db import Database


class AgentStrategyNotFoundError(LoomworksError):
    code, status, default_message = "agent_strategy_not_found", 400, "The agent strategy is not installed."


def _engine_usage(usage: ModelUsage) -> Usage:
    return Usage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        prompt_price=usage.prompt_price,
        completion_price=usage.completion_price,
        total_price=usage.total_price,
        currency=usage.currency,
        latency=usage.latency,
    )


def _round(thought: AgentThought) -> dict[str, Any]:
    return {
        "id": thought.id,
        "label": f"ROUND {thought.position}",
        "parent_id": None,
        "status": "success",
        "error": None,
        "data": thought.fields(),
        "metadata": {"total_tokens": thought.usage.total_tokens if thought.usage else 0},
    }


class _ReportedModel:
    """The run's model, telling the reporter when each step starts and what it said."""

    def __init__(self, inner: AgentModel, reporter: AgentReporter) -> None:
        self.inner, self.reporter = inner, reporter
        self.provider, self.model, self.supports_tools = inner.provider, inner.model, inner.supports_tools

    async def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[ToolSpec],
        parameters: dict[str, Any],
        stop: list[str],
        user: str | None,
    ) -> AsyncIterator[LLMChunk]:
        self.reporter.round_started(model=self.model, provider=self.provider)
        step = StepCollector()
        async for chunk in self.inner.stream(messages, tools=tools, parameters=parameters, stop=stop, user=user):
            step.add(chunk)
            yield chunk
        calls = [{"name": c.name, "args": c.arguments} for c in step.calls.values() if c.name]
        usage = _engine_usage(step.usage) if step.usage is not None else None
        self.reporter.model_finished(output=step.text, tool_calls=calls, usage=usage)


def _report_tools(reporter: AgentReporter, thought: AgentThought, providers: dict[str, str], told: set[str]) -> None:
    """Tell the reporter of the thought's tool calls that began or ended since the last update."""
    for name in thought.tools:
        if f"start:{name}" not in told:
            told.add(f"start:{name}")
            reporter.tool_started(name=name, provider=providers.get(name, ""), arguments=thought.tool_input.get(name))
    for name, observation in thought.observation.items():
        if f"end:{name}" not in told:
            told.add(f"end:{name}")
            reporter.tool_finished(name=name, output=observation)


class RuntimeAgentPort:
    """Runs agent nodes with the workspace's models and the process's tool runtime."""

    def __init__(self, db: Database, models: WorkspaceModels, tools: RuntimeGetter) -> None:
        self.db, self.models, self.tools = db, models, tools

    async def _bind(self, tenant_id: str, selector: dict[str, Any]) -> BoundLLM:
        provider = str(selector.get("provider") or "")
        model = str(selector.get("model") or selector.get("name") or "")

        def bind() -> BoundLLM:
            with self.db.session() as session:
                return self.models.bind_llm(session, tenant_id=tenant_id, provider=provider, model=model)

        return await run_in_threadpool(bind)

    async def run(self, call: AgentInvocation) -> ToolResult:
        """Run the node's agent to its answer."""
        strategy = strategy_name(call.strategy_name)
        if strategy not in AgentStrategy.registry:
            raise AgentStrategyNotFoundError(
                f"Agent strategy {call.strategy_provider}/{call.strategy_name} is not installed; "
                "the built-in ones are function_calling and ReAct."
            )
        params = call.parameters
        selector = params.get("model") if isinstance(params.get("model"), dict) else {}
        bound = await self._bind(call.tenant_id, selector)
        instruction = str(params.get("instruction") or "")
        settings = AgentSettings.from_node_tools(
            strategy, params.get("tools"), iterations=params.get("maximum_iterations"), instruction=instruction
        )
        toolbox = await Toolbox.load(
            self.tools(), settings.tools, tenant_id=call.tenant_id, app_id=call.app_id, user_id=call.user_id
        )
        completion = dict(selector.get("completion_params") or {})
        stop = [s for s in completion.pop("stop", None) or [] if isinstance(s, str)]
        messages: list[dict[str, Any]] = [{"role": "system", "content": instruction}] if instruction.strip() else []
        messages.extend(call.history)
        messages.append({"role": "user", "content": str(params.get("query") or "")})
        reporter = call.reporter
        model: AgentModel = BoundAgentModel(bound)
        run = AgentRun(
            model=_ReportedModel(model, reporter) if reporter is not None else model,
            toolbox=toolbox,
            messages=messages,
            max_iteration=settings.max_iteration,
            parameters=completion,
            stop_words=stop,
            user=call.user_id,
        )
        parts: list[str] = []
        files: list[dict[str, Any]] = []
        providers = {tool.name: tool.ref.provider_id for tool in toolbox.tools}
        told: dict[str, set[str]] = {}
        try:
            async for event in run_agent(run, strategy):
                if isinstance(event, AnswerDelta):
                    parts.append(event.text)
                    if reporter is not None:
                        reporter.text(event.text)
                elif isinstance(event, ToolFile):
                    files.append(event.file)
                elif isinstance(event, ThoughtUpdate) and reporter is not None:
                    _report_tools(reporter, event.thought, providers, told.setdefault(event.thought.id, set()))
        except Exception as exc:
            if reporter is not None:
                reporter.close(str(exc) or type(exc).__name__)
            raise
        if reporter is not None:
            reporter.close()
        return ToolResult(
            text="".join(parts),
            files=files,
            json=[_round(t) for t in run.thoughts],
            usage=_engine_usage(run.usage),
        )
