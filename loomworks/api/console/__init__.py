"""Console API (`/console/api`): Dify's paths for the automation subset, ours for the rest."""

from fastapi import APIRouter

from loomworks.api.console import (
    account,
    annotations,
    api_keys,
    app_runs,
    app_tests,
    apps,
    auth,
    datasets,
    dsl,
    files,
    logs,
    model_providers,
    setup,
    templates,
    tools,
    tracing,
    ui_support,
    workflow_runs,
    workflows,
    workspaces,
)

router = APIRouter(prefix="/console/api")
for module in (
    dsl,
    setup,
    auth,
    account,
    workspaces,
    apps,
    app_runs,
    app_tests,
    workflows,
    workflow_runs,
    logs,
    model_providers,
    annotations,
    tracing,
    tools,
    api_keys,
    files,
    ui_support,
    datasets,
    templates,
):
    router.include_router(module.router)
