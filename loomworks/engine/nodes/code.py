"""Code node: `main(**variables)` runs in the sandbox through the code port — never in-process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loomworks.engine.errors import NodeConfigError, NodeError, PortUnavailableError
from loomworks.engine.nodes.base import Node, NodeResult, variable_bindings
from loomworks.engine.variables import Selector, matches_type

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext

LANGUAGES = ("python3", "javascript", "jinja2")
MAX_STRING = 400_000
MAX_DEPTH = 5


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


class CodeNode(Node):
    """Outputs what `main` returns, checked against the declared `outputs` and their types."""

    type = "code"
    inline = False

    def configure(self, data: dict[str, Any]) -> None:
        self.language = str(data.get("code_language") or "python3")
        if self.language not in LANGUAGES:
            raise NodeConfigError(f"unsupported code_language {self.language!r}")
        self.code = str(data.get("code") or "")
        self.bindings = variable_bindings(data.get("variables"))
        outputs = data.get("outputs") or {}
        if not isinstance(outputs, dict):
            raise NodeConfigError("outputs must be a mapping of name to {type}")
        self.outputs = {str(k): str((v or {}).get("type") or "string") for k, v in outputs.items()}

    def references(self) -> list[Selector]:
        return [s for _, s in self.bindings if s]

    async def run(self, ctx: NodeContext) -> NodeResult:
        inputs = {name: (ctx.pool.get(s) if s else None) for name, s in self.bindings}
        port = ctx.ports.code
        if port is None:
            raise PortUnavailableError(
                "The code sandbox is unavailable: no sandbox runner is configured, so code nodes cannot run.",
                error_type="SandboxUnavailableError",
            )
        result = await port.execute(language=self.language, code=self.code, inputs=inputs)
        if not isinstance(result, dict):
            raise NodeError("main() must return a dict", error_type="CodeNodeError")
        outputs = self.check(result)
        return NodeResult(outputs=outputs, inputs=inputs)

    def check(self, result: dict[str, Any]) -> dict[str, Any]:
        """The declared outputs of `result`, with Dify's checks (presence, type, size, depth)."""
        if not self.outputs:
            return result
        outputs: dict[str, Any] = {}
        for name, kind in self.outputs.items():
            if name not in result:
                raise NodeError(f"Output {name} is missing.", error_type="OutputValidationError")
            value = result[name]
            if value is not None and not matches_type(value, kind):
                raise NodeError(
                    f"Output {name} must be a {kind}, got {type(value).__name__}.", error_type="OutputValidationError"
                )
            if isinstance(value, str) and len(value) > MAX_STRING:
                raise NodeError(
                    f"Output {name} is longer than {MAX_STRING} characters.", error_type="OutputValidationError"
                )
            if _depth(value) > MAX_DEPTH:
                raise NodeError(
                    f"Output {name} is nested deeper than {MAX_DEPTH} levels.", error_type="OutputValidationError"
                )
            outputs[name] = value
        return outputs
