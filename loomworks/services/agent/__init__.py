"""Agents: agent-chat apps and the workflow agent node (function calling and ReAct strategies)."""

from loomworks.services.agent.chat import AgentChatAnswerer
from loomworks.services.agent.entities import AgentSettings, AgentThought
from loomworks.services.agent.port import RuntimeAgentPort
from loomworks.services.agent.runner import choose, run_agent
from loomworks.services.agent.strategy import AgentRun, AgentStrategy

__all__ = [
    "AgentChatAnswerer",
    "AgentRun",
    "AgentSettings",
    "AgentStrategy",
    "AgentThought",
    "RuntimeAgentPort",
    "choose",
    "run_agent",
]
