"""Web-app API (`/api`): what Dify's end-user web apps call, with passport tokens per visitor."""

from loomworks.api.web.routes import router

__all__ = ["router"]
