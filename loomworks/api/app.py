"""The application factory: one FastAPI app serving the console API, the Service API and /health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from loomworks import __version__
from loomworks.api import console, errors, file_preview, mcp, metrics, service, web
from loomworks.api.deps import ServerState, State
from loomworks.api.metrics import ServerMetrics
from loomworks.api.middleware import AdmissionMiddleware, RequestIdMiddleware
from loomworks.api.responses import JsonResponse
from loomworks.core.config import Settings
from loomworks.core.ssrf import EgressPolicy, SafeHttpClient
from loomworks.engine.ports import Ports
from loomworks.providers.runtime import ModelRuntime
from loomworks.sandbox import Sandbox, SandboxUnavailableError
from loomworks.services.agent import AgentChatAnswerer, RuntimeAgentPort
from loomworks.services.annotations import AnnotationReplier, Embed
from loomworks.services.app_tests import AppTester
from loomworks.services.auth import AuthSettings
from loomworks.services.background import BackgroundChat
from loomworks.services.background_workflows import BackgroundWorkflows
from loomworks.services.chat.pipeline import ChatService, ModelResolver
from loomworks.services.chatflow import ChatflowService
from loomworks.services.knowledge.indexing import KnowledgeRuntime
from loomworks.services.model_gateway import (
    WorkspaceCompleter,
    WorkspaceEmbedder,
    WorkspaceModels,
    WorkspaceReranker,
    WorkspaceSpeech,
)
from loomworks.services.scaling import job_queue_for, runs_jobs_in_process, shared_parts, storage_for
from loomworks.services.speech import SpeechModels
from loomworks.services.tools.port import RuntimeToolPort, build_tool_runtime
from loomworks.services.tools.registry import ToolServices
from loomworks.services.tools.registry import providers as builtin_providers
from loomworks.services.tracing import TraceDispatcher
from loomworks.services.workflow_engine import WorkflowEngineRunner
from loomworks.services.workflow_ports import (
    ConversationMemoryPort,
    KnowledgeRetrievalPort,
    RuntimeModelPort,
    SafeHttpPort,
    SandboxCodePort,
    StorageFilePort,
)
from loomworks.services.workflow_runs import EngineRunner, WorkflowRunService
from loomworks.store.db import Database
from loomworks.tasks.queue import JobQueue

log = logging.getLogger("loomworks.server")
SHUTDOWN_STEP_SECONDS = 20.0


async def _bounded(step: str, work: Any) -> None:
    """Await one shutdown step, giving up (with a log line) after `SHUTDOWN_STEP_SECONDS`."""
    try:
        await asyncio.wait_for(work, SHUTDOWN_STEP_SECONDS)
    except TimeoutError:
        log.error("shutdown step did not finish in time", extra={"step": step, "seconds": SHUTDOWN_STEP_SECONDS})


def build_state(
    settings: Settings,
    *,
    models: ModelResolver | None = None,
    speech: SpeechModels | None = None,
    embed: Embed | None = None,
    engine: EngineRunner | None = None,
) -> ServerState:
    """Open the database and storage that `settings` name (creating the data directory).

    `models` finds the model an app uses; by default the workspace's configured providers.
    """
    settings.ensure_dirs()
    db = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
    state = ServerState(
        settings=settings,
        db=db,
        storage=storage_for(settings),
        keyring=settings.keyring(),
        auth=AuthSettings(
            secret_key=settings.resolved_secret_key,
            access_token_minutes=settings.access_token_minutes,
            refresh_token_days=settings.refresh_token_days,
            login_max_failures=settings.login_max_failures,
            login_lock_minutes=settings.login_lock_minutes,
        ),
    )
    runtime = ModelRuntime(
        max_retries=settings.model_max_retries,
        backoff=settings.model_retry_backoff_seconds,
        cooldown=settings.model_rate_limit_cooldown_seconds,
        timeout=settings.model_timeout_seconds,
    )
    workspace_models = WorkspaceModels(state.keyring, runtime)
    embed = embed or WorkspaceEmbedder(db, workspace_models)
    state.extras["runtime"] = runtime
    state.extras["models"] = workspace_models
    state.extras["embed"] = embed
    state.extras["validate_credentials"] = workspace_models.validate
    knowledge = KnowledgeRuntime.from_settings(
        settings,
        db,
        state.storage,
        embed=embed,
        rerank=WorkspaceReranker(db, workspace_models),
        complete=WorkspaceCompleter(db, workspace_models),
    )
    state.extras["knowledge"] = knowledge
    server_metrics = ServerMetrics()
    server_metrics.watch_jobs(db)
    state.extras["metrics"] = server_metrics
    # Traces leave the answer's path through one bounded dispatcher; collector URLs are user-typed.
    tracer = TraceDispatcher(db, state.keyring, SafeHttpClient(EgressPolicy.from_settings(settings), timeout=15.0))
    server_metrics.watch_tracing(tracer)
    state.extras["tracing"] = tracer
    # Events, stop flags and key cache: in this process, or shared through Redis (`redis_url`).
    shared = shared_parts(settings)
    state.extras["event_bus"] = shared.bus
    state.extras["chat"] = ChatService(
        db,
        models or workspace_models,
        storage=state.storage,
        annotations=AnnotationReplier(embed),
        usage_sink=server_metrics.record_usage,
        tracer=tracer,
        knowledge=knowledge,
        tasks=shared.tasks,
        # Agents find the tool runtime when a turn runs, wherever `build_state` puts it.
        agents=AgentChatAnswerer(lambda: state.extras.get("tools"), secret=state.auth.secret_key),
        max_blocking=settings.chat_max_blocking_turns,
        max_streams=settings.chat_max_streaming_turns,
    )
    state.extras["jobs"] = job_queue_for(db, settings)
    knowledge.register(state.extras["jobs"])
    state.extras["key_cache"] = shared.key_cache
    background = BackgroundChat(
        db,
        state.extras["chat"],
        shared.bus,
        jobs=state.extras["jobs"] if settings.job_backend == "celery" else None,
        idle_timeout=max(3 * settings.job_lease_seconds, 30.0),
        repair_seconds=2 * settings.job_lease_seconds + 10,
    )
    background.register(state.extras["jobs"])
    state.extras["background"] = background
    # Every request made on a user's behalf (DSL from a URL, HTTP nodes, …) goes through this one client.
    http_client = SafeHttpClient.from_settings(settings)
    knowledge.http = http_client  # external knowledge endpoints are user-typed URLs
    state.extras["http_client"] = http_client
    state.extras["fetch_url"] = http_client.fetch_text
    sandbox = Sandbox.from_settings(settings)
    state.extras["sandbox"] = sandbox
    # Tools (built-in, OpenAPI, MCP, workflow); workflow tools reach the run service built below.
    # The DSL importer reports tools it cannot find; the built-in providers are always there.
    state.extras["tool_providers"] = {provider.name for provider in builtin_providers()}
    state.extras["tools"] = build_tool_runtime(
        db=db,
        keyring=state.keyring,
        http=http_client,
        services=ToolServices(
            db=db,
            storage=state.storage,
            keyring=state.keyring,
            http=http_client,
            sandbox=sandbox,
            knowledge=knowledge,
            speech=speech or WorkspaceSpeech(db, workspace_models),
            files=StorageFilePort(db, state.storage, http_client),
        ),
        workflow_runs=lambda: state.extras.get("workflows"),
        timeout=settings.tool_timeout_seconds,
        max_depth=settings.workflow_tool_max_depth,
        mcp_stdio_commands=frozenset(c.strip() for c in settings.mcp_stdio_allowed_commands.split(",") if c.strip()),
    )
    engine = engine or WorkflowEngineRunner(
        Ports(
            tools=RuntimeToolPort(state.extras["tools"]),
            model=RuntimeModelPort(db, workspace_models),
            http=SafeHttpPort(http_client),
            files=StorageFilePort(db, state.storage, http_client),
            memory=ConversationMemoryPort(db),
            retrieval=KnowledgeRetrievalPort(knowledge),
            code=SandboxCodePort(sandbox),
            agents=RuntimeAgentPort(db, workspace_models, lambda: state.extras.get("tools")),
        )
    )
    # One task registry: a stop by task id reaches chat, workflow and chatflow runs alike, as in Dify.
    state.extras["workflows"] = WorkflowRunService(
        db, engine, tracer=tracer, tasks=state.extras["chat"].tasks, keyring=state.keyring
    )
    state.extras["chatflow"] = ChatflowService(db, state.extras["workflows"])
    flows = BackgroundWorkflows.alongside(background, state.extras["workflows"], state.extras["chatflow"])
    flows.register(state.extras["jobs"])
    state.extras["background_workflows"] = flows
    state.extras["app_tests"] = AppTester(db, state.extras["chat"], state.extras["workflows"])
    state.extras["speech"] = speech or WorkspaceSpeech(db, workspace_models)
    return state


def create_app(settings: Settings | None = None, *, state: ServerState | None = None) -> FastAPI:
    """Build the ASGI app. Migrations run at start-up when `migrate_on_start` is set."""
    settings = settings or (state.settings if state else Settings())
    server_state = state or build_state(settings)

    async def check_sandbox() -> None:
        try:
            status = await run_in_threadpool(server_state.extras["sandbox"].check)
            log.info("code sandbox ready", extra={"sandbox": str(status)})
        except SandboxUnavailableError as exc:
            log.warning("code sandbox unavailable: code nodes will refuse to run", extra={"reason": exc.message})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            # On the loop's thread, before any worker thread exists, so that a pending upgrade can run in
            # a forked child: Alembic then never loads into the server. Nothing is served until it ends.
            server_state.db.migrate(in_child=True)
        jobs: JobQueue = server_state.extras["jobs"]
        if runs_jobs_in_process(settings):
            await jobs.start()
            # Embedded mode: this process owns the database's runs, so runs a crash cut off go on.
            await server_state.extras["workflows"].recover()
        await server_state.extras["tracing"].start()
        # The sandbox probe (~0.1-0.3 s) runs beside the first requests rather than before them; it
        # is cached, and a code node that comes first waits for the same probe under its lock.
        sandbox_probe = asyncio.create_task(check_sandbox()) if settings.sandbox_check_on_start else None
        log.info("ready", extra={"version": __version__, "database": server_state.db.engine.dialect.name})
        yield
        if sandbox_probe is not None:
            sandbox_probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sandbox_probe
        # Each shutdown step is bounded: a step that cannot finish must not keep the process alive.
        await _bounded("jobs", jobs.stop())
        await _bounded("background runs", server_state.extras["background"].drain())
        await _bounded("background workflow runs", server_state.extras["background_workflows"].drain())
        await _bounded("chat turns", server_state.extras["chat"].drain())
        await _bounded("tracing", server_state.extras["tracing"].stop())
        await _bounded("model runtime", server_state.extras["runtime"].aclose())
        await _bounded("http client", server_state.extras["http_client"].aclose())
        server_state.db.dispose()

    app = FastAPI(
        title="Loomworks",
        version=__version__,
        description="Console API, Dify-compatible Service API and web-app API.",
        default_response_class=JsonResponse,
        lifespan=lifespan,
    )
    app.state.loom = server_state
    errors.install(app)
    # Inside the request-id middleware, so that a turn refused before routing is still logged and counted.
    app.add_middleware(
        AdmissionMiddleware, limits=lambda: server_state.extras.get("chat"), metrics=server_state.extras["metrics"]
    )
    app.add_middleware(RequestIdMiddleware, metrics=server_state.extras["metrics"])
    # Routes are matched in order, one regex each: the Service API (the hot path) goes first; the
    # prefixes do not overlap, so the order changes no match. The two big routers get their prefix
    # here: FastAPI checks the paths of a router included without one by building all its routes
    # (~5 MB and 0.85 s of CPU measured, thrown away: they are built again for this app on the first request).
    app.include_router(service.router, prefix="/v1")
    app.include_router(console.router, prefix="/console/api")
    app.include_router(mcp.router)
    app.include_router(web.router)
    app.include_router(file_preview.router)
    app.include_router(metrics.router)

    @app.get("/health", tags=["health"])
    def health(state: State) -> dict[str, Any]:
        with state.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    # The console's catch-all page route goes last so that every API route above wins.
    from loomworks.api import web_console

    app.include_router(web_console.router)
    return app
