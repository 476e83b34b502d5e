"""Template-transform (Jinja2 in a sandboxed environment) and the variable aggregator."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from loomworks.engine.errors import NodeConfigError, NodeError
from loomworks.engine.nodes.base import Node, NodeResult, variable_bindings
from loomworks.engine.variables import Selector, selector_of

if TYPE_CHECKING:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    from loomworks.engine.runner import NodeContext

MAX_TEMPLATE_OUTPUT = 400_000


@functools.cache
def jinja_environment() -> SandboxedEnvironment:
    """The one sandboxed environment; made on first use so `serve` starts without importing Jinja2."""
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


def compile_jinja(source: str) -> jinja2.Template:
    """Compile a Jinja2 template once (syntax errors are configuration errors)."""
    import jinja2  # lazily, see jinja_environment

    try:
        return jinja_environment().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise NodeConfigError(f"template syntax error: {exc}") from exc


class CompiledJinja:
    """A compiled template with its globals flattened once.

    `Template.render` rebuilds its context from a ChainMap of globals on every call, which costs
    more than rendering a short template; a shared context built from a plain dict does not.
    """

    __slots__ = ("globals", "template")

    def __init__(self, source: str) -> None:
        self.template = compile_jinja(source)
        self.globals = dict(self.template.globals)

    def render(self, values: dict[str, Any]) -> str:
        """Render with `values` bound by name; raises what the template raises."""
        context = self.template.new_context({**self.globals, **values}, shared=True)
        return "".join(self.template.root_render_func(context))


class TemplateTransformNode(Node):
    """Renders `template` with `variables` bound by name; output `output` (a string)."""

    type = "template-transform"

    def configure(self, data: dict[str, Any]) -> None:
        self.bindings = variable_bindings(data.get("variables"))
        self.template = CompiledJinja(str(data.get("template") or ""))

    def references(self) -> list[Selector]:
        return [s for _, s in self.bindings if s]

    def run_sync(self, ctx: NodeContext) -> NodeResult:
        import jinja2  # already loaded by configure; lazily so that start-up does not import it

        pool = ctx.pool
        values = {name: (pool.get(selector) if selector else None) for name, selector in self.bindings}
        try:
            text = self.template.render(values)
        except jinja2.TemplateError as exc:
            raise NodeError(f"template rendering failed: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - user templates may raise anything (1/0, bad filters)
            raise NodeError(f"template rendering failed: {type(exc).__name__}: {exc}") from exc
        if len(text) > MAX_TEMPLATE_OUTPUT:
            raise NodeError(f"The output is too long ({len(text)} characters, at most {MAX_TEMPLATE_OUTPUT}).")
        return NodeResult(outputs={"output": text}, inputs=values)


class VariableAggregatorNode(Node):
    """The first of its variables that has a value (the branch that ran); or per group `<group>.output`."""

    type = "variable-aggregator"
    aliases = ("variable-assigner",)

    def configure(self, data: dict[str, Any]) -> None:
        self.variables = [s for s in (selector_of(v) for v in data.get("variables") or []) if s]
        settings = data.get("advanced_settings") or {}
        self.groups: list[tuple[str, list[Selector]]] = []
        if isinstance(settings, dict) and settings.get("group_enabled"):
            for group in settings.get("groups") or []:
                if not isinstance(group, dict) or not group.get("group_name"):
                    raise NodeConfigError("a group has no group_name")
                selectors = [s for s in (selector_of(v) for v in group.get("variables") or []) if s]
                self.groups.append((str(group["group_name"]), selectors))

    def references(self) -> list[Selector]:
        return [*self.variables, *(s for _, group in self.groups for s in group)]

    @staticmethod
    def _first(ctx: NodeContext, selectors: list[Selector]) -> Any:
        for selector in selectors:
            value = ctx.pool.get(selector)
            if value is not None:
                return value
        return None

    def run_sync(self, ctx: NodeContext) -> NodeResult:
        if self.groups:
            outputs: dict[str, Any] = {name: {"output": self._first(ctx, group)} for name, group in self.groups}
        else:
            outputs = {"output": self._first(ctx, self.variables)}
        return NodeResult(outputs=outputs, inputs={})
