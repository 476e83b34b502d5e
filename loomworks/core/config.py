"""The one typed settings object.

Every setting has a default that works on a fresh machine (the embedded column of DESIGN §2)
and can be set by an environment variable `LOOMWORKS_<NAME>` or, for the server's own three,
by `loomworks serve --host/--port/--data-dir`. `docs/settings.md` is generated from this class
(`loomworks settings-doc`) and checked in CI.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from loomworks.core.crypto import KeyRing


class Settings(BaseSettings):
    """All of Loomworks' settings."""

    model_config = SettingsConfigDict(env_prefix="LOOMWORKS_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(5001, description="Port `serve` listens on.")
    data_dir: Path = Field(Path("data"), description="Directory for the SQLite database, files and keys.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default `sqlite:///<data_dir>/loomworks.db`. "
        "`postgresql+psycopg://user@host/db` switches to PostgreSQL.",
    )
    db_pool_size: int = Field(10, description="Connection pool size (PostgreSQL).")
    migrate_on_start: bool = Field(True, description="Apply database migrations when `serve` starts.")
    secret_key: str | None = Field(
        None, description="Key that signs access tokens; default: a random key kept in `<data_dir>/secret_key`."
    )
    encryption_keys: str | None = Field(
        None,
        description="Master keys for secrets at rest, `id:base64key[,id:base64key…]` (the first encrypts); "
        "default: a key created in `<data_dir>/master.key`.",
    )
    log_level: str = Field("INFO", description="Log level.")
    log_json: bool = Field(True, description="Write logs as one JSON object per line.")
    access_token_minutes: int = Field(60, description="Lifetime of a console access token.")
    refresh_token_days: int = Field(30, description="Lifetime of a console refresh token.")
    login_max_failures: int = Field(5, description="Failed logins before an account is locked out.")
    login_lock_minutes: int = Field(15, description="How long a lock-out lasts.")
    max_api_keys_per_app: int = Field(10, description="Most API keys one app (or one workspace's knowledge) may have.")
    upload_file_size_limit_mb: int = Field(15, description="Largest uploaded document (MB).")
    upload_image_file_size_limit_mb: int = Field(10, description="Largest uploaded image (MB).")
    upload_audio_file_size_limit_mb: int = Field(50, description="Largest uploaded audio file (MB).")
    upload_video_file_size_limit_mb: int = Field(100, description="Largest uploaded video file (MB).")
    workflow_file_upload_limit: int = Field(10, description="Most files one workflow input may carry.")
    storage_dir: Path | None = Field(None, description="Where uploaded files live; default `<data_dir>/storage`.")
    run_jobs_in_process: bool = Field(
        True, description="Run background jobs (indexing, …) inside `serve` (the embedded mode)."
    )
    job_concurrency: int = Field(2, description="Background jobs run at the same time by one process.")
    redis_url: str | None = Field(
        None,
        description="Redis URL for the scaled mode (events between processes, stop-generation, cache "
        "invalidation, the Celery broker); unset means in-process.",
    )
    job_backend: Literal["embedded", "celery"] = Field(
        "embedded",
        description="`embedded`: the job table is worked inside `serve`; `celery`: jobs go to `loomworks worker` "
        "processes through the Redis broker and `serve` runs none.",
    )
    job_lease_seconds: float = Field(
        60.0, description="How long a running job stays claimed without a heartbeat before another worker retries it."
    )
    worker_concurrency: int = Field(32, description="Jobs one `loomworks worker` runs at the same time.")
    run_in_worker: bool = Field(
        False,
        description="Run streamed chat, completion, chatflow and workflow runs on a worker (needs "
        "`job_backend=celery`); the API process streams them from the event bus, and a client can resume "
        "with `Last-Event-ID`.",
    )
    event_stream_ttl_seconds: int = Field(
        600, description="How long a run's events stay readable for a client that reconnects (seconds)."
    )
    event_bus_reconnect_seconds: float = Field(
        10.0, description="How long a stream waits for Redis to come back before it ends with an error (seconds)."
    )
    storage: Literal["local", "s3"] = Field("local", description="Where files live: `local` (the data dir) or `s3`.")
    s3_endpoint: str = Field("", description="S3-compatible endpoint URL, e.g. `http://minio:9000` (empty: AWS).")
    s3_region: str = Field("us-east-1", description="S3 region (part of the request signature).")
    s3_bucket: str = Field("loomworks", description="S3 bucket for files.")
    s3_access_key: str = Field("", description="S3 access key id.")
    s3_secret_key: str = Field("", description="S3 secret access key.")
    s3_prefix: str = Field("", description="Key prefix inside the bucket (several installs may share one).")
    vector_store: Literal["embedded", "pgvector"] = Field(
        "embedded",
        description="Where knowledge vectors live: `embedded` (exact search over files under the data dir) or "
        "`pgvector` (PostgreSQL with the pgvector extension, for the scaled mode).",
    )
    pgvector_url: str | None = Field(
        None,
        description="PostgreSQL URL of the pgvector store; default: `database_url` when that is PostgreSQL. "
        "The role must be allowed to `CREATE EXTENSION vector` (or the extension must exist).",
    )
    pgvector_ef_search: int = Field(
        100, description="HNSW candidates per pgvector query (`hnsw.ef_search`): higher finds more, slower."
    )
    pgvector_exact_rescore: bool = Field(
        True, description="Re-order the HNSW candidates by exact similarity before keeping the top k (better recall)."
    )
    pgvector_hnsw_min_rows: int = Field(
        5000,
        description="Build a dataset's HNSW index once it holds this many vectors; smaller ones are scanned exactly.",
    )
    model_timeout_seconds: float = Field(300.0, description="Read timeout of one model call (seconds).")
    model_max_retries: int = Field(
        2, description="Retries of a model call that failed with 429, 5xx or a network error."
    )
    model_retry_backoff_seconds: float = Field(0.5, description="First retry delay of a model call, doubled each time.")
    model_rate_limit_cooldown_seconds: float = Field(
        60.0, description="How long a credential set that hit a rate limit is tried last (load balancing)."
    )
    chat_max_blocking_turns: int = Field(
        256,
        ge=0,
        description="Blocking chat and completion turns one process answers at the same time; beyond, new ones "
        "get a 429 `too_many_requests` at once instead of waiting in a queue.",
    )
    chat_max_streaming_turns: int = Field(
        10_000,
        ge=0,
        description="Streamed chat and completion turns one process holds open at the same time; beyond, new "
        "ones get a 429 `too_many_requests` at once.",
    )
    console_api_url: str = Field("", description="Public base URL of the console API (empty: same origin).")
    service_api_url: str = Field("", description="Public base URL shown for the Service API (empty: same origin).")
    tool_timeout_seconds: float = Field(60.0, description="Longest time one tool call may take (seconds).")
    workflow_tool_max_depth: int = Field(5, description="How deeply workflows published as tools may call each other.")
    mcp_stdio_allowed_commands: str = Field(
        "", description="Commands (comma-separated) an admin allows as stdio MCP servers; empty refuses stdio."
    )
    sandbox_check_on_start: bool = Field(
        True, description="Probe the code sandbox when `serve` starts and log which isolation is in use."
    )
    sandbox_enabled: bool = Field(
        True, description="Run code nodes (Python, JavaScript) in the sandbox; off refuses them."
    )
    sandbox_timeout_seconds: float = Field(10.0, description="Wall-clock limit of one sandboxed code run (seconds).")
    sandbox_memory_mb: int = Field(256, description="Memory limit of one sandboxed code run (MB).")
    sandbox_max_output_kb: int = Field(1024, description="Largest result plus printed output of one code run (KB).")
    sandbox_python_packages: str = Field(
        "", description="Third-party Python packages (import names, comma-separated) that sandboxed code may import."
    )
    sandbox_python_path: str = Field("/usr/bin/python3", description="Interpreter that runs sandboxed Python code.")
    sandbox_deno_path: str | None = Field(
        None, description="Deno binary for JavaScript code; default: the one `scripts/install-sandbox.sh` installed."
    )
    sandbox_max_concurrent_runs: int = Field(4, description="Sandboxed code runs at the same time per process.")
    ssrf_allow_hosts: str = Field(
        "",
        description="Host names that outbound requests (HTTP node, tools, remote files) may reach even when they "
        "resolve to a private address, comma-separated; `*.lan` matches subdomains. Metadata addresses stay blocked.",
    )
    ssrf_deny_hosts: str = Field(
        "", description="Host names, addresses or CIDRs that outbound requests may never reach, comma-separated."
    )
    ssrf_allow_private_networks: str = Field(
        "",
        description="Private networks (CIDRs, comma-separated) that outbound requests may reach, e.g. "
        "`10.0.5.0/24` for a model server on the LAN.",
    )
    http_max_redirects: int = Field(5, description="Most redirects one outbound request follows.")
    http_max_response_mb: float = Field(10, description="Largest outbound response body read (MB).")
    http_timeout_seconds: float = Field(30, description="Total time one outbound request may take, redirects included.")

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL in use."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'loomworks.db').resolve()}"

    @property
    def resolved_pgvector_url(self) -> str | None:
        """The pgvector store's URL: `pgvector_url`, else the application database when it is PostgreSQL."""
        if self.pgvector_url:
            return self.pgvector_url
        return None if self.is_sqlite else self.resolved_database_url

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite one."""
        return self.resolved_database_url.startswith("sqlite")

    @cached_property
    def resolved_storage_dir(self) -> Path:
        """The directory of the local file storage."""
        return (self.storage_dir or self.data_dir / "storage").resolve()

    @cached_property
    def resolved_secret_key(self) -> str:
        """The token-signing key; created once under the data dir when not configured."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        return key

    def keyring(self) -> KeyRing:
        """The master keys that seal secrets (provider credentials, secret variables)."""
        if self.encryption_keys:
            return KeyRing.from_setting(self.encryption_keys)
        return KeyRing.from_file(self.data_dir / "master.key")

    def ensure_dirs(self) -> None:
        """Create the data and storage directories."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.resolved_storage_dir.mkdir(parents=True, exist_ok=True)
