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

# The app adds the `/console/api` prefix when it includes this router (`create_app`): included there
# without one, FastAPI would build every route once more to check the paths.
router = APIRouter()
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
