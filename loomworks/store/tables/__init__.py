"""ORM rows. Import every table module here so `Base.metadata` knows them all (migrations use it)."""

from loomworks.store.tables._base import Base
from loomworks.store.tables.accounts import Account, AccountSession, Invitation, Setup, Tenant, TenantAccountJoin
from loomworks.store.tables.apps import ApiToken, App, AppModelConfig, EndUser, Site, UploadFile

__all__ = [
    "Account",
    "AccountSession",
    "ApiToken",
    "App",
    "AppModelConfig",
    "Base",
    "EndUser",
    "Invitation",
    "Setup",
    "Site",
    "Tenant",
    "TenantAccountJoin",
    "UploadFile",
]
