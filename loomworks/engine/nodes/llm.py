"""LLM node: renders its prompt (chat or completion), adds memory, context and images, streams `text`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loomworks.engine.errors import NodeConfigError, NodeError
from loomworks.engine.nodes._model import Memory, ModelConfig, Vision, call_model, find_json, history, usage_metadata
from loomworks.engine.nodes.base import Node, NodeResult, variable_bindings
from loomworks.engine.nodes.transform import CompiledJinja
from loomworks.engine.variables import Selector, Template, selector_of, to_text

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext

CONTEXT = "{{#context#}}"
HISTORIES = "{{#histories#}}"


@dataclass(slots=True)
class PromptMessage:
    role: str
    template: Template | None
    jinja: CompiledJinja | None


def _message(raw: dict[str, Any], default_role: str) -> PromptMessage:
    role = str(raw.get("role") or default_role)
    if raw.get("edition_type") == "jinja2":
        return PromptMessage(role, None, CompiledJinja(str(raw.get("jinja2_text") or "")))
    return PromptMessage(role, Template(str(raw.get("text") or "")), None)


def context_text(value: Any) -> str:
    """A context variable as prompt text: retrieval results are joined by their `content`."""
    if isinstance(value, list):
        parts = [str(item.get("content", "")) if isinstance(item, dict) else to_text(item) for item in value]
        return "\n".join(p for p in parts if p)
    return to_text(value)


class LLMNode(Node):
    """Outputs `text`, `usage`, `finish_reason` (and `structured_output` when enabled)."""

    type = "llm"
    inline = False
    streams = frozenset({"text"})

    def configure(self, data: dict[str, Any]) -> None:
        self.model = ModelConfig.parse(data.get("model"))
        raw = data.get("prompt_template")
        if isinstance(raw, list):
            self.messages = [_message(m, "user") for m in raw if isinstance(m, dict)]
        elif isinstance(raw, dict):
            self.messages = [_message(raw, "user")]
            self.model.mode = "completion" if self.model.mode == "chat" and "role" not in raw else self.model.mode
        else:
            raise NodeConfigError("prompt_template must be a list of messages or a completion prompt")
        self.jinja_bindings = variable_bindings((data.get("prompt_config") or {}).get("jinja2_variables"))
        self.memory = Memory.parse(data.get("memory"))
        context = data.get("context") or {}
        self.context = selector_of(context.get("variable_selector")) if context.get("enabled") else None
        self.vision = Vision.parse(data.get("vision"))
        schema = (data.get("structured_output") or {}).get("schema")
        self.schema = schema if data.get("structured_output_enabled") and isinstance(schema, dict) else None

    def references(self) -> list[Selector]:
        refs: list[Selector] = [s for m in self.messages if m.template for s in m.template.selectors]
        refs.extend(s for _, s in self.jinja_bindings if s)
        if self.context:
            refs.append(self.context)
        if self.memory and self.memory.query:
            refs.extend(self.memory.query.selectors)
        return refs

    def _render(self, ctx: NodeContext, message: PromptMessage, context: str) -> str:
        if message.jinja is not None:
            values = {name: ctx.pool.get(s) if s else None for name, s in self.jinja_bindings}
            try:
                text = message.jinja.render(values)
            except Exception as exc:  # noqa: BLE001 - user templates may raise anything
                raise NodeError(f"prompt rendering failed: {type(exc).__name__}: {exc}") from exc
        else:
            assert message.template is not None
            text = message.template.render(ctx.pool)
        return text.replace(CONTEXT, context)

    def _histories(self, past: list[dict[str, Any]]) -> str:
        if self.memory is None:
            return ""
        user, assistant = self.memory.user_prefix, self.memory.assistant_prefix
        return "\n".join(f"{user if m['role'] == 'user' else assistant}: {m['content']}" for m in past)

    async def _prompt(self, ctx: NodeContext) -> list[dict[str, Any]]:
        context = context_text(ctx.pool.get(self.context)) if self.context else ""
        past = await history(ctx, self.memory)
        messages: list[dict[str, Any]] = []
        if self.model.mode == "completion":
            text = self._render(ctx, self.messages[0], context)
            if HISTORIES in text:
                text = text.replace(HISTORIES, self._histories(past))
            messages.append({"role": "user", "content": text})
        else:
            for message in self.messages:
                messages.append({"role": message.role, "content": self._render(ctx, message, context)})
            if self.memory is not None and ctx.mode == "advanced-chat":
                system = [m for m in messages if m["role"] == "system"]
                rest = [m for m in messages if m["role"] != "system"]
                query_template = self.memory.query or Template("{{#sys.query#}}")
                query = query_template.render(ctx.pool)
                messages = [*system, *past, *rest]
                if query:
                    messages.append({"role": "user", "content": query})
        images = self.vision.images(ctx)
        if images:
            last_user = next((m for m in reversed(messages) if m["role"] == "user"), None)
            if last_user is None:
                last_user = {"role": "user", "content": ""}
                messages.append(last_user)
            last_user["content"] = [{"type": "text", "text": last_user["content"]}, *images]
        return messages

    async def run(self, ctx: NodeContext) -> NodeResult:
        messages = await self._prompt(ctx)
        answer = await call_model(
            ctx, self.model, messages, purpose="llm", stream_output="text", json_schema=self.schema
        )
        outputs: dict[str, Any] = {
            "text": answer.text,
            "usage": answer.usage.as_dict(),
            "finish_reason": answer.finish_reason,
        }
        if self.schema is not None:
            parsed = find_json(answer.text)
            if not isinstance(parsed, dict):
                raise NodeError("The model's answer is not the JSON object the structured output asks for.")
            outputs["structured_output"] = parsed
        return NodeResult(
            outputs=outputs,
            inputs={},
            process_data={
                "model_mode": self.model.mode,
                "model_provider": self.model.provider,
                "model_name": self.model.name,
                "prompts": [{"role": m["role"], "text": to_text(m["content"])} for m in messages],
                "usage": answer.usage.as_dict(),
                "finish_reason": answer.finish_reason,
            },
            metadata=usage_metadata(answer.usage),
        )
