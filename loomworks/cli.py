"""The `loomworks` command: serve, worker, migrate, migrate-data, settings-doc."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from loomworks import __version__
from loomworks.core.config import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("host", "port", "data_dir"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def _serve(args: argparse.Namespace) -> int:
    # `import httpx` also imports its command-line client (click, rich, pygments: ~3 MB of a server's
    # memory) whenever those happen to be installed; the server never runs it. A None entry makes
    # that one import fail, which httpx expects (the CLI is an optional extra).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]
    import uvicorn

    from loomworks.api.app import create_app
    from loomworks.core.logs import configure

    settings = _settings(args)
    configure(settings.log_level, json=settings.log_json)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # No route is a WebSocket (streams are SSE); "none" spares importing `websockets` at start.
        ws="none",
        timeout_graceful_shutdown=5,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from loomworks.store.db import Database

    settings = _settings(args)
    settings.ensure_dirs()
    db = Database(settings.resolved_database_url)
    db.migrate()
    db.dispose()
    print(f"database is up to date: {db.engine.url.render_as_string(hide_password=True)}")  # noqa: T201
    return 0


def _worker(args: argparse.Namespace) -> int:
    """Work the job table's Celery queues (the scaled mode): indexing, workflow, tracing, mail."""
    import asyncio
    import os
    import time

    from loomworks.api.app import build_state
    from loomworks.core.logs import configure
    from loomworks.tasks.celery_app import CeleryJobQueue, start_loop_thread, worker_argv

    settings = _settings(args)
    configure(settings.log_level, json=settings.log_json)
    if settings.job_backend != "celery" or not settings.redis_url:
        print("loomworks worker needs LOOMWORKS_JOB_BACKEND=celery and LOOMWORKS_REDIS_URL", file=sys.stderr)  # noqa: T201
        return 2
    state = build_state(settings)
    jobs = state.extras["jobs"]
    assert isinstance(jobs, CeleryJobQueue)
    loop = start_loop_thread()
    asyncio.run_coroutine_threadsafe(state.extras["tracing"].start(), loop).result()
    jobs.attach(loop)
    concurrency = args.concurrency or settings.worker_concurrency
    argv = worker_argv(concurrency=concurrency, name=f"loomworks-{os.getpid()}")
    while True:
        code = jobs.celery.start(argv=argv)
        if not code:
            return 0
        # Celery gives up on some broker losses (a Redis restart with unacknowledged messages); jobs
        # in flight go on in the loop thread, so consume again rather than leave them without a worker.
        print(f"celery worker stopped (exit code {code}); starting it again", file=sys.stderr)  # noqa: T201
        time.sleep(1.0)


def _migrate_data(args: argparse.Namespace) -> int:
    """Copy this (embedded) install's rows, files and vectors into the scaled stores."""
    from loomworks.services.migrate_data import TargetNotEmptyError, migrate_data
    from loomworks.services.scaling import storage_for
    from loomworks.store.db import Database
    from loomworks.store.storage import LocalStorage

    source_settings = _settings(args)
    target_url = args.to
    if target_url.startswith("postgresql://"):
        target_url = target_url.replace("postgresql://", "postgresql+psycopg://", 1)
    # The target's files: S3 when LOOMWORKS_STORAGE=s3 is set, else the target data dir's storage.
    target_settings = Settings(
        **{
            **source_settings.model_dump(),
            "database_url": target_url,
            "data_dir": args.target_data_dir or source_settings.data_dir,
            "storage_dir": None,
        }
    )
    if target_settings.storage == "local" and args.target_data_dir is None:
        target_storage = None  # same directory: nothing to copy
    else:
        target_storage = storage_for(target_settings)
    # The target's vectors: pgvector when LOOMWORKS_VECTOR_STORE=pgvector (LOOMWORKS_PGVECTOR_URL, else --to).
    target_vectors = None
    if target_settings.vector_store == "pgvector":
        from loomworks.rag.index.pgvector import PgVectorIndex

        target_vectors = PgVectorIndex(
            target_settings.resolved_pgvector_url or target_url, hnsw_min_rows=target_settings.pgvector_hnsw_min_rows
        )
    source = Database(source_settings.resolved_database_url)
    target = Database(target_url)
    try:
        report = migrate_data(
            source=source,
            target=target,
            source_storage=LocalStorage(source_settings.resolved_storage_dir),
            target_storage=target_storage,
            source_data_dir=source_settings.data_dir,
            target_data_dir=args.target_data_dir,
            target_vectors=target_vectors,
            force=args.force,
        )
    except TargetNotEmptyError as exc:
        print(f"{exc}; pass --force to replace its contents", file=sys.stderr)  # noqa: T201
        return 1
    finally:
        source.dispose()
        target.dispose()
        if target_vectors is not None:
            target_vectors.close()
        close = getattr(target_storage, "close", None)  # S3Storage holds an HTTP connection pool
        if close is not None:
            close()
    print(f"copied {report.summary()}")  # noqa: T201
    return 0


def _test_app(args: argparse.Namespace) -> int:
    """Run an app's regression tests from the shell (for users' own CI); exit 1 when any fails."""
    import asyncio

    from loomworks.api.app import build_state
    from loomworks.services.caller import Caller
    from loomworks.store.tables import Account, App

    settings = _settings(args)
    state = build_state(settings)
    state.db.migrate()
    with state.db.session() as session:
        app = session.get(App, args.app_id)
        account = session.get(Account, app.created_by) if app is not None and app.created_by else None
    if app is None or account is None:
        print(f"app {args.app_id} not found", file=sys.stderr)  # noqa: T201
        return 2
    caller = Caller(account=account, tenant_id=app.tenant_id, role="owner")
    run = asyncio.run(
        state.extras["app_tests"].run(caller=caller, app_id=app.id, target=args.target, triggered_by="cli")
    )
    for result in run.results:
        mark = "PASS" if result["passed"] else ("REGRESSION" if result.get("regression") else "FAIL")
        print(f"{mark:10} {result['name']}")  # noqa: T201
        for check in result["checks"]:
            if not check["passed"]:
                print(f"           {check['type']}: {check['detail']}")  # noqa: T201
        if result.get("error"):
            print(f"           error: {result['error']}")  # noqa: T201
    print(f"{run.passed} passed, {run.failed} failed")  # noqa: T201
    state.db.dispose()
    return 0 if run.failed == 0 else 1


def _owner_caller(state: Any, app_id: str | None = None) -> Any:
    """Act as an app's creator, or as the owner of the first workspace (the shell has no sign-in)."""
    from sqlalchemy import select

    from loomworks.services.caller import Caller
    from loomworks.store.tables import Account, App, TenantAccountJoin

    with state.db.session() as session:
        if app_id is not None:
            app = session.get(App, app_id)
            if app is None:
                return None
            join = session.scalar(
                select(TenantAccountJoin).where(
                    TenantAccountJoin.tenant_id == app.tenant_id, TenantAccountJoin.role == "owner"
                )
            )
        else:
            join = session.scalar(
                select(TenantAccountJoin)
                .where(TenantAccountJoin.role == "owner")
                .order_by(TenantAccountJoin.created_at)
            )
        account = session.get(Account, join.account_id) if join else None
        if join is None or account is None:
            return None
        return Caller(account=account, tenant_id=join.tenant_id, role="owner")


def _import_dsl(args: argparse.Namespace) -> int:
    from loomworks.api.app import build_state
    from loomworks.services import dsl

    state = build_state(_settings(args))
    state.db.migrate()
    caller = _owner_caller(state)
    if caller is None:
        print("no workspace yet: finish the setup first", file=sys.stderr)  # noqa: T201
        return 2
    with state.db.session() as session:
        result = dsl.import_dsl(
            session,
            caller=caller,
            content=Path(args.file).read_text(encoding="utf-8"),
            overrides={"name": args.name} if args.name else {},
            keyring=state.keyring,
        )
    print(json.dumps(result.public(), ensure_ascii=False, indent=2))  # noqa: T201
    return 0 if result.status in ("completed", "completed-with-warnings") else 1


def _export_dsl(args: argparse.Namespace) -> int:
    from loomworks.api.app import build_state
    from loomworks.services import dsl

    state = build_state(_settings(args))
    caller = _owner_caller(state, args.app_id)
    if caller is None:
        print(f"app {args.app_id} not found", file=sys.stderr)  # noqa: T201
        return 2
    with state.db.session() as session:
        text = dsl.export(
            session, caller=caller, app_id=args.app_id, include_secret=args.include_secret, keyring=state.keyring
        )
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")  # noqa: T201
    return 0


def settings_table() -> str:
    """The Markdown table of every setting (written to docs/settings.md, checked in CI)."""
    lines = [
        "# Settings",
        "",
        "Generated by `loomworks settings-doc` from `loomworks/core/config.py`; do not edit by hand.",
        "Each is read from the environment variable shown; `serve` also takes `--host`, `--port`, `--data-dir`.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "" if default is None else str(default)
        lines.append(f"| `LOOMWORKS_{name.upper()}` | `{shown}` | {field.description or ''} |")
    return "\n".join(lines) + "\n"


def _settings_doc(args: argparse.Namespace) -> int:
    table = settings_table()
    if args.check:
        current = Path(args.output).read_text() if Path(args.output).exists() else ""
        if current != table:
            print(f"{args.output} is out of date: run `loomworks settings-doc`", file=sys.stderr)  # noqa: T201
            return 1
        return 0
    Path(args.output).write_text(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loomworks", description="Build, ground, ship and watch LLM apps.")
    parser.add_argument("--version", action="version", version=f"loomworks {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server (console, Service API, web apps)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 5001)")
    serve.add_argument("--data-dir", type=Path, help="data directory (default ./data)")
    serve.set_defaults(func=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--data-dir", type=Path, help="data directory (default ./data)")
    migrate.set_defaults(func=_migrate)

    worker = commands.add_parser("worker", help="run a background worker (scaled mode: Celery on Redis)")
    worker.add_argument("--concurrency", type=int, help="jobs run at the same time (default: worker_concurrency)")
    worker.add_argument("--data-dir", type=Path, help="data directory (default ./data)")
    worker.set_defaults(func=_worker)

    migrate_data = commands.add_parser("migrate-data", help="copy an embedded install to PostgreSQL, pgvector, S3")
    migrate_data.add_argument("--to", required=True, help="target database URL, postgresql://user@host/db")
    migrate_data.add_argument("--data-dir", type=Path, help="the embedded install's data directory (default ./data)")
    migrate_data.add_argument("--target-data-dir", type=Path, help="data directory of the scaled install")
    migrate_data.add_argument("--force", action="store_true", help="empty a non-empty target first")
    migrate_data.set_defaults(func=_migrate_data)

    test_app = commands.add_parser("test-app", help="run an app's regression tests; exit 1 if any fails")
    test_app.add_argument("app_id")
    test_app.add_argument("--target", default="published", choices=["published", "draft"])
    test_app.add_argument("--data-dir", type=Path, help="data directory (default ./data)")
    test_app.set_defaults(func=_test_app)

    import_dsl = commands.add_parser("import-dsl", help="import a Dify app DSL file into the first workspace")
    import_dsl.add_argument("file")
    import_dsl.add_argument("--name", help="name of the new app")
    import_dsl.add_argument("--data-dir", type=Path, help="data directory (default ./data)")
    import_dsl.set_defaults(func=_import_dsl)

    export_dsl = commands.add_parser("export-dsl", help="print an app as a DSL document")
    export_dsl.add_argument("app_id")
    export_dsl.add_argument("--output", help="write to this file instead of stdout")
    export_dsl.add_argument("--include-secret", action="store_true", help="keep secret environment values")
    export_dsl.add_argument("--data-dir", type=Path, help="data directory (default ./data)")
    export_dsl.set_defaults(func=_export_dsl)

    doc = commands.add_parser("settings-doc", help="write the settings table (docs/settings.md)")
    doc.add_argument("--output", default="docs/settings.md")
    doc.add_argument("--check", action="store_true", help="fail if the file is out of date")
    doc.set_defaults(func=_settings_doc)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
