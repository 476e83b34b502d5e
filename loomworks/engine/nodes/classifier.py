"""Question classifier: the model picks one class; edges leave by the class id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loomworks.engine.errors import NodeConfigError
from loomworks.engine.nodes._model import Memory, ModelConfig, call_model, find_json, history, usage_metadata
from loomworks.engine.nodes.base import Node, NodeResult
from loomworks.engine.variables import Selector, Template, selector_of, to_text

if TYPE_CHECKING:
    from loomworks.engine.runner import NodeContext

SYSTEM_PROMPT = (
    "You are a text classifier. Read the user's input and choose the one category that fits best.\n"
    "Categories (id: name):\n{categories}\n{instruction}"
    'Answer with JSON only: {{"category_id": "<id>", "category_name": "<name>"}}.'
)


class QuestionClassifierNode(Node):
    """Outputs `class_name` and `class_id` (and `usage`)."""

    type = "question-classifier"
    inline = False

    def configure(self, data: dict[str, Any]) -> None:
        self.model = ModelConfig.parse(data.get("model"))
        self.query = selector_of(data.get("query_variable_selector"))
        self.classes = [
            (str(c.get("id")), str(c.get("name") or ""))
            for c in data.get("classes") or []
            if isinstance(c, dict) and c.get("id")
        ]
        if not self.classes:
            raise NodeConfigError("no classes")
        self.instruction = Template(str(data.get("instruction") or data.get("instructions") or ""))
        self.memory = Memory.parse(data.get("memory"))

    def own_handles(self) -> frozenset[str]:
        return frozenset(cid for cid, _ in self.classes)

    def recorded_handle(self, outputs: dict[str, Any]) -> str:
        if outputs.get("class_id"):
            return str(outputs["class_id"])
        return next((cid for cid, name in self.classes if name == outputs.get("class_name")), self.classes[0][0])

    def references(self) -> list[Selector]:
        return [*([self.query] if self.query else []), *self.instruction.selectors]

    def _choose(self, text: str) -> tuple[str, str]:
        parsed = find_json(text)
        if isinstance(parsed, dict):
            wanted_id = str(parsed.get("category_id") or "")
            wanted_name = str(parsed.get("category_name") or "")
            for cid, name in self.classes:
                if cid == wanted_id or (wanted_name and name == wanted_name):
                    return cid, name
        for cid, name in self.classes:
            if name and name in text:
                return cid, name
        return self.classes[0]

    async def run(self, ctx: NodeContext) -> NodeResult:
        query = to_text(ctx.pool.get(self.query)) if self.query else ""
        instruction = self.instruction.render(ctx.pool)
        categories = "\n".join(f"{cid}: {name}" for cid, name in self.classes)
        system = SYSTEM_PROMPT.format(categories=categories, instruction=f"{instruction}\n" if instruction else "")
        messages = [
            {"role": "system", "content": system},
            *await history(ctx, self.memory),
            {"role": "user", "content": query},
        ]
        answer = await call_model(ctx, self.model, messages, purpose="question-classifier")
        class_id, class_name = self._choose(answer.text)
        return NodeResult(
            outputs={"class_name": class_name, "class_id": class_id, "usage": answer.usage.as_dict()},
            inputs={"query": query},
            process_data={"model_mode": self.model.mode, "prompts": messages, "usage": answer.usage.as_dict()},
            handle=class_id,
            metadata=usage_metadata(answer.usage),
        )
