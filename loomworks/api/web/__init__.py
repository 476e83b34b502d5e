"""Web-app API (`/api`): what Dify's end-user web apps call, with passport tokens per visitor."""

from fastapi import APIRouter

from loomworks.api.web import media, routes

router = APIRouter()
router.include_router(routes.router)
router.include_router(media.router)

__all__ = ["router"]
