"""Built-in tool providers: the registry they join by subclassing, and the source that serves them.

Add a provider: a module under `builtin/` with one `BuiltinToolProvider` subclass (its `name` is
Dify's provider id, e.g. `time`) and one `BuiltinTool` subclass per tool (`provider` names the
provider, `name` is Dify's tool name). Import the module in `builtin/__init__.py`. Nothing else
is kept in sync by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.concurrency import run_in_threadpool

from loomworks.services.tools import credentials as tool_credentials
from loomworks.services.tools.base import (
    I18n,
    ToolCall,
    ToolCredentialError,
    ToolDescriptor,
    ToolOutput,
    ToolParameter,
    i18n,
)

if TYPE_CHECKING:
    from loomworks.core.crypto import KeyRing
    from loomworks.core.ssrf import SafeHttpClient
    from loomworks.sandbox import Sandbox
    from loomworks.services.knowledge.indexing import KnowledgeRuntime
    from loomworks.services.speech import SpeechModels
    from loomworks.services.workflow_ports import StorageFilePort
    from loomworks.store.db import Database
    from loomworks.store.storage import Storage

_PROVIDERS: dict[str, type[BuiltinToolProvider]] = {}
_TOOLS: dict[str, dict[str, type[BuiltinTool]]] = {}


@dataclass(slots=True)
class ToolServices:
    """What built-in tools may use; a tool whose service is missing fails with a clear error."""

    db: Database | None = None
    storage: Storage | None = None
    keyring: KeyRing | None = None
    http: SafeHttpClient | None = None
    sandbox: Sandbox | None = None
    knowledge: KnowledgeRuntime | None = None
    speech: SpeechModels | None = None
    files: StorageFilePort | None = None

    def need(self, tool: str, what: str) -> Any:
        """The service `what` (an attribute name); a `ToolCredentialError` naming the tool when unbound."""
        value = getattr(self, what)
        if value is None:
            raise ToolCredentialError(f"Tool {tool} needs the {what} service, which is not configured here.", tool=tool)
        return value

    def need_http(self, tool: str) -> SafeHttpClient:
        if self.http is None:
            raise ToolCredentialError(f"Tool {tool} needs outbound HTTP, which is not configured.", tool=tool)
        return self.http


class BuiltinToolProvider:
    """A built-in provider. Subclasses register themselves by their `name` (Dify's provider id).

    `credentials_schema` is Dify's credential form (`variable`, `type` text-input|secret-input|
    select, `required`, `label`, `placeholder`, `help`, `default`); secret fields are sealed.
    Override `validate_credentials` to try the credentials against the service.
    """

    name: ClassVar[str] = ""
    label: ClassVar[I18n] = {}
    description: ClassVar[I18n] = {}
    icon: ClassVar[str] = ""
    tags: ClassVar[list[str]] = []
    credentials_schema: ClassVar[list[dict[str, Any]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            _PROVIDERS[cls.name] = cls

    @classmethod
    def needs_credentials(cls) -> bool:
        return any(field.get("required") for field in cls.credentials_schema)

    @classmethod
    def tools(cls) -> list[type[BuiltinTool]]:
        return list(_TOOLS.get(cls.name, {}).values())

    @classmethod
    async def validate_credentials(cls, credentials: dict[str, Any], services: ToolServices) -> None:
        """Raise `ToolCredentialError` when the credentials do not work (default: accept them)."""
        del credentials, services

    @classmethod
    def to_dify(cls, *, authorized: bool) -> dict[str, Any]:
        """Dify's `tool-providers` list item."""
        return {
            "id": cls.name,
            "author": "Loomworks",
            "name": cls.name,
            "plugin_id": None,
            "plugin_unique_identifier": None,
            "description": cls.description or i18n(""),
            "icon": cls.icon or "",
            "label": cls.label or i18n(cls.name),
            "type": "builtin",
            "team_credentials": {},
            "is_team_authorization": authorized or not cls.needs_credentials(),
            "allow_delete": bool(cls.credentials_schema),
            "tools": [tool.descriptor().to_dify() for tool in cls.tools()],
            "labels": list(cls.tags),
        }


class BuiltinTool:
    """One built-in tool. Subclasses register under `provider` by their `name`.

    `run(call, services)` gets checked parameters and the provider's opened credentials in
    `call.credentials`; it returns a `ToolOutput` or raises `ToolError`.
    """

    provider: ClassVar[str] = ""
    name: ClassVar[str] = ""
    label: ClassVar[I18n] = {}
    description: ClassVar[I18n] = {}
    llm_description: ClassVar[str] = ""
    parameters: ClassVar[list[ToolParameter]] = []
    output_schema: ClassVar[dict[str, Any] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.provider and cls.name:
            _TOOLS.setdefault(cls.provider, {})[cls.name] = cls

    @classmethod
    def descriptor(cls) -> ToolDescriptor:
        return ToolDescriptor(
            provider_type="builtin",
            provider_id=cls.provider,
            provider_name=cls.provider,
            name=cls.name,
            label=cls.label or i18n(cls.name),
            description={"en_US": cls.llm_description} if cls.llm_description else dict(cls.description),
            parameters=list(cls.parameters),
            output_schema=cls.output_schema,
        )

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        raise NotImplementedError


def providers() -> list[type[BuiltinToolProvider]]:
    """Every registered built-in provider, by name."""
    _load()
    return [_PROVIDERS[name] for name in sorted(_PROVIDERS)]


def provider(name: str) -> type[BuiltinToolProvider] | None:
    """One built-in provider by Dify's id; `langgenius/time/time` plugin ids are accepted too."""
    _load()
    return _PROVIDERS.get(name.rsplit("/", 1)[-1])


def tool(provider_name: str, tool_name: str) -> type[BuiltinTool] | None:
    _load()
    return _TOOLS.get(provider_name.rsplit("/", 1)[-1], {}).get(tool_name)


def _load() -> None:
    # The built-in modules register on import; importing here keeps the registry self-contained.
    import loomworks.services.tools.builtin  # noqa: F401, PLC0415


class BuiltinToolSource:
    """The `builtin` provider type: registered providers, with the workspace's sealed credentials."""

    provider_type = "builtin"

    def __init__(self, services: ToolServices) -> None:
        self.services = services

    def list_tools(self, tenant_id: str) -> list[ToolDescriptor]:
        del tenant_id
        return [tool_cls.descriptor() for p in providers() for tool_cls in p.tools()]

    def get(self, tenant_id: str, provider_id: str, tool_name: str) -> ToolDescriptor | None:
        del tenant_id
        found = tool(provider_id, tool_name)
        return found.descriptor() if found else None

    def _credentials(self, tenant_id: str, provider_cls: type[BuiltinToolProvider]) -> dict[str, Any]:
        if not provider_cls.credentials_schema or self.services.db is None or self.services.keyring is None:
            return {}
        with self.services.db.session() as session:
            return tool_credentials.builtin_credentials(
                session, keyring=self.services.keyring, tenant_id=tenant_id, provider=provider_cls.name
            )

    async def invoke(self, call: ToolCall) -> ToolOutput:
        descriptor = call.descriptor
        provider_cls = provider(descriptor.provider_id)
        tool_cls = tool(descriptor.provider_id, descriptor.name)
        if provider_cls is None or tool_cls is None:
            raise ToolCredentialError(f"Tool {descriptor.key} is not installed.", tool=descriptor.key)
        credentials = await run_in_threadpool(self._credentials, call.tenant_id, provider_cls)
        missing = [
            f["variable"]
            for f in provider_cls.credentials_schema
            if f.get("required") and not credentials.get(f["variable"])
        ]
        if missing:
            raise ToolCredentialError(
                f"Tool {descriptor.key} is not authorized: set the {provider_cls.name} provider's credentials "
                f"({', '.join(missing)}).",
                tool=descriptor.key,
            )
        call.credentials = credentials
        return await tool_cls().run(call, self.services)
