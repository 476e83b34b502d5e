"""Test tools for agents: a real `ToolSource` (provider type `api`, provider `agent-test`).

- `current_time(timezone)` with a form parameter `format` — answers a fixed time;
- `city_weather(city)` — fails for `Atlantis` as a remote service would;
- `make_chart()` — produces an image file.

When `gate` is 2, the first two calls wait for each other (up to a second): run one after the
other, they report `ran alone`, which proves a run did not call them concurrently.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from loomworks.services.tools.base import (
    ToolCall,
    ToolDescriptor,
    ToolOutput,
    ToolParameter,
    ToolProviderError,
    ToolRuntime,
    i18n,
)

PROVIDER = "agent-test"
TOOLS = [
    ToolDescriptor(
        provider_type="api",
        provider_id=PROVIDER,
        provider_name=PROVIDER,
        name="current_time",
        label=i18n("Current time"),
        description=i18n("The current time in a time zone."),
        parameters=[
            ToolParameter(name="timezone", required=True, llm_description="an IANA time zone"),
            ToolParameter(name="format", form="form", default="%H:%M"),
        ],
    ),
    ToolDescriptor(
        provider_type="api",
        provider_id=PROVIDER,
        provider_name=PROVIDER,
        name="city_weather",
        label=i18n("Weather"),
        description=i18n("Today's weather in a city."),
        parameters=[ToolParameter(name="city", required=True, llm_description="the city")],
    ),
    ToolDescriptor(
        provider_type="api",
        provider_id=PROVIDER,
        provider_name=PROVIDER,
        name="make_chart",
        label=i18n("Chart"),
        description=i18n("Draws a chart."),
    ),
]


def tool_ref(name: str, **parameters: Any) -> dict[str, Any]:
    """An `agent_mode.tools` item for one of the test tools."""
    return {
        "enabled": True,
        "provider_type": "api",
        "provider_id": PROVIDER,
        "provider_name": PROVIDER,
        "tool_name": name,
        "tool_label": name,
        "tool_parameters": parameters,
    }


@dataclass
class AgentTestSource:
    """The test provider; `calls` records what each invocation received."""

    provider_type: str = "api"
    gate: int = 0
    calls: list[ToolCall] = field(default_factory=list)
    _started: int = 0
    _together: asyncio.Event | None = None

    def list_tools(self, tenant_id: str) -> list[ToolDescriptor]:  # noqa: ARG002 - every workspace has them
        return list(TOOLS)

    def get(self, tenant_id: str, provider_id: str, tool_name: str) -> ToolDescriptor | None:  # noqa: ARG002
        if provider_id != PROVIDER:
            return None
        return next((t for t in TOOLS if t.name == tool_name), None)

    async def _wait_for_company(self) -> bool:
        if self._together is None:
            self._together = asyncio.Event()
        self._started += 1
        if self._started >= self.gate:
            self._together.set()
        try:
            await asyncio.wait_for(self._together.wait(), 1.0)
        except TimeoutError:
            return False
        return True

    async def invoke(self, call: ToolCall) -> ToolOutput:
        self.calls.append(call)
        alone = ""
        if self.gate and not await self._wait_for_company():
            alone = " (ran alone)"
        name, params = call.descriptor.name, call.parameters
        if name == "current_time":
            return ToolOutput(text=f"12:00 in {params['timezone']} as {params['format']}{alone}")
        if name == "city_weather":
            if params["city"] == "Atlantis":
                raise ToolProviderError("the weather service does not know Atlantis")
            return ToolOutput(text=f"Sunny in {params['city']}{alone}")
        return ToolOutput(
            text="The chart is drawn.",
            files=[
                {
                    "type": "image",
                    "transfer_method": "remote_url",
                    "url": "https://files.example.com/chart.png",
                    "filename": "chart.png",
                    "mime_type": "image/png",
                }
            ],
        )


def install(extras: dict[str, Any], source: AgentTestSource) -> ToolRuntime:
    """Serve the test provider from the server's tool runtime (made here if the server has none)."""
    runtime = extras.get("tools")
    if not isinstance(runtime, ToolRuntime):
        runtime = extras["tools"] = ToolRuntime()
    runtime.add_source(source)
    return runtime
