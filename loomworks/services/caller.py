"""Who is calling: an account acting in one workspace with one role."""

from __future__ import annotations

from dataclasses import dataclass

from loomworks.core.errors import NoPermissionError
from loomworks.store.tables import Account

ROLES = ("owner", "admin", "editor", "normal", "dataset_operator")
ROLE_RANK = {"owner": 4, "admin": 3, "editor": 2, "normal": 1, "dataset_operator": 0}


@dataclass(frozen=True, slots=True)
class Caller:
    """The account, its current workspace and its role there; every lookup is scoped by `tenant_id`."""

    account: Account
    tenant_id: str
    role: str
    session_id: str | None = None

    @property
    def account_id(self) -> str:
        return self.account.id

    @property
    def is_admin_or_owner(self) -> bool:
        return self.role in ("owner", "admin")

    @property
    def is_editor(self) -> bool:
        """Editors, admins and owners may build apps."""
        return self.role in ("owner", "admin", "editor")

    @property
    def can_see_apps(self) -> bool:
        return self.role != "dataset_operator"

    @property
    def can_edit_datasets(self) -> bool:
        return self.role in ("owner", "admin", "editor", "dataset_operator")

    def require_editor(self) -> None:
        if not self.is_editor:
            raise NoPermissionError()

    def require_admin(self) -> None:
        if not self.is_admin_or_owner:
            raise NoPermissionError()

    def require_app_access(self) -> None:
        if not self.can_see_apps:
            raise NoPermissionError()
