"""Picking the strategy of a run: the configured one, or ReAct when the model cannot call tools."""

from __future__ import annotations

from collections.abc import AsyncIterator

from loomworks.core.errors import InvalidParamError
from loomworks.services.agent import function_calling, react
from loomworks.services.agent.entities import AgentEvent
from loomworks.services.agent.strategy import AgentRun, AgentStrategy

# The built-in strategies register themselves on import; naming them here keeps that import.
BUILT_IN = (function_calling.FunctionCallingStrategy, react.ReActStrategy)


def choose(name: str, *, supports_tools: bool, has_tools: bool = True) -> AgentStrategy:
    """The strategy called `name` (`function_call` | `react`), ReAct for models without tool calling.

    A run without tools is a plain answer, streamed as it comes: the function-calling loop offers
    nothing and ends after one step, whatever the model can do.

    Raises:
        InvalidParamError: no strategy of that name is installed.
    """
    found = AgentStrategy.registry.get(name)
    if found is None:
        raise InvalidParamError(f"Agent strategy '{name}' is not available.", params="strategy")
    if not has_tools:
        found = function_calling.FunctionCallingStrategy
    elif found.needs_tool_calling and not supports_tools:
        found = react.ReActStrategy
    return found()


def run_agent(run: AgentRun, strategy: str) -> AsyncIterator[AgentEvent]:
    """The events of a run under the chosen strategy."""
    chosen = choose(strategy, supports_tools=run.model.supports_tools, has_tools=bool(run.toolbox.tools))
    return chosen.run(run)
