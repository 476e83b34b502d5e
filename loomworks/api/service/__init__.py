"""Service API (`/v1`): Dify's paths, fields, events and errors, authenticated by app or dataset keys."""

from fastapi import APIRouter

from loomworks.api.console import model_providers
from loomworks.api.service import annotations, app_info, audio, chat, datasets, events, files, workflows

# The app adds the `/v1` prefix when it includes this router (`create_app`): included there
# without one, FastAPI would build every route once more to check the paths.
router = APIRouter()
for module in (app_info, files, chat, events, audio, annotations, datasets, workflows):
    router.include_router(module.router)
router.include_router(model_providers.service_router)
