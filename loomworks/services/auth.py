"""First-run setup, sign-in, token refresh and sign-out.

Access tokens are short-lived JWTs naming the account and its sign-in session; refresh tokens
are random strings stored hashed on that session. Signing out revokes the session, which kills
its access tokens at once (each console request checks the session).
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from loomworks import __version__
from loomworks.core.clock import now
from loomworks.core.errors import (
    AccountBannedError,
    AlreadySetupError,
    InvalidParamError,
    InvalidTokenError,
    LoginLockedError,
    LoomworksError,
    NotSetupError,
    PasswordMismatchError,
)
from loomworks.services.caller import Caller
from loomworks.store.tables import Account, AccountSession, Setup, Tenant, TenantAccountJoin

_hasher = PasswordHasher()
# Dify's rule: at least 8 characters with letters and digits.
_PASSWORD_RULE = re.compile(r"^(?=.*[a-zA-Z])(?=.*\d).{8,}$")
_EMAIL_RULE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class AuthSettings:
    secret_key: str
    access_token_minutes: int = 60
    refresh_token_days: int = 30
    login_max_failures: int = 5
    login_lock_minutes: int = 15


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rule(password: str) -> None:
    if not _PASSWORD_RULE.match(password or ""):
        raise InvalidParamError(
            "Password must contain letters and numbers, and be at least 8 characters long.", params="password"
        )


def check_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL_RULE.match(email) or len(email) > 255:
        raise InvalidParamError(f"{email or 'email'} is not a valid email.", params="email")
    return email


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the account is unknown, so both cases take the same time."""
    return _hasher.hash("timing-equaliser-0")


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def verify_password(account: Account, password: str) -> bool:
    """Whether `password` is the account's password."""
    return _verify(account.password_hash, password)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def setup_status(session: Session) -> Setup | None:
    return session.scalar(select(Setup).limit(1))


def require_setup(session: Session) -> None:
    if setup_status(session) is None:
        raise NotSetupError()


def setup(session: Session, *, email: str, name: str, password: str) -> Account:
    """Create the first account and its workspace (owner). Refused once done."""
    if setup_status(session) is not None:
        raise AlreadySetupError()
    email = check_email(email)
    name = (name or "").strip()
    if not name or len(name) > 30:
        raise InvalidParamError("Name must be between 1 and 30 characters.", params="name")
    check_password_rule(password)
    account = Account(email=email, name=name, password_hash=hash_password(password), status="active")
    account.initialized_at = now()
    session.add(account)
    tenant = Tenant(name=f"{name}'s Workspace")
    session.add(tenant)
    session.flush()
    session.add(TenantAccountJoin(tenant_id=tenant.id, account_id=account.id, role="owner", current=True))
    session.add(Setup(version=__version__))
    session.flush()
    return account


def _issue(session: Session, settings: AuthSettings, account: Account, ip: str | None) -> TokenPair:
    import jwt  # here, not at the top: PyJWT adds ~25 ms and ~9 MB to start-up

    refresh = secrets.token_urlsafe(48)
    record = AccountSession(
        account_id=account.id,
        refresh_token_hash=_sha256(refresh),
        expires_at=now() + timedelta(days=settings.refresh_token_days),
        ip=ip,
    )
    session.add(record)
    session.flush()
    issued = now()
    claims = {
        "sub": account.id,
        "sid": record.id,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=settings.access_token_minutes)).timestamp()),
        "typ": "access",
        "iss": "loomworks",
    }
    return TokenPair(jwt.encode(claims, settings.secret_key, algorithm="HS256"), refresh)


def attempt_login(
    session: Session, settings: AuthSettings, *, email: str, password: str, ip: str | None
) -> TokenPair | LoomworksError:
    """Check the password and open a sign-in session.

    A failure is returned, not raised, so that the caller commits the failure count (the
    lock-out after `login_max_failures` failures must survive the refused request).
    """
    require_setup(session)
    account = session.scalar(select(Account).where(Account.email == (email or "").strip().lower()))
    current = now()
    if account is not None and account.locked_until is not None and account.locked_until > current:
        return LoginLockedError()
    if account is None or not _verify(account.password_hash, password or ""):
        if account is not None:
            account.failed_logins += 1
            if account.failed_logins >= settings.login_max_failures:
                account.locked_until = current + timedelta(minutes=settings.login_lock_minutes)
                account.failed_logins = 0
        return PasswordMismatchError()
    if account.status in ("banned", "closed"):
        return AccountBannedError()
    if account.status == "pending":
        return PasswordMismatchError()
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = current
    account.last_login_ip = ip
    if _hasher.check_needs_rehash(account.password_hash or ""):
        account.password_hash = hash_password(password)
    return _issue(session, settings, account, ip)


def refresh(session: Session, settings: AuthSettings, *, refresh_token: str) -> TokenPair:
    """Trade a refresh token for a new pair; the old refresh token stops working (rotation)."""
    record = session.scalar(
        select(AccountSession).where(AccountSession.refresh_token_hash == _sha256(refresh_token or ""))
    )
    if record is None or record.revoked_at is not None or record.expires_at <= now():
        raise InvalidTokenError("Invalid refresh token.")
    account = session.get(Account, record.account_id)
    if account is None or account.status != "active":
        raise InvalidTokenError("Invalid refresh token.")
    record.revoked_at = now()
    return _issue(session, settings, account, record.ip)


def logout(session: Session, *, session_id: str | None) -> None:
    if session_id is None:
        return
    record = session.get(AccountSession, session_id)
    if record is not None and record.revoked_at is None:
        record.revoked_at = now()


def authenticate(session: Session, settings: AuthSettings, *, access_token: str) -> Caller:
    """Resolve a console access token into the calling account, workspace and role."""
    import jwt  # here, not at the top: PyJWT adds ~25 ms and ~9 MB to start-up

    try:
        claims = jwt.decode(
            access_token, settings.secret_key, algorithms=["HS256"], options={"require": ["exp", "sub", "sid"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError("Token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise InvalidTokenError() from exc
    if claims.get("typ") != "access":
        raise InvalidTokenError()
    record = session.get(AccountSession, claims["sid"])
    if record is None or record.revoked_at is not None or record.account_id != claims["sub"]:
        raise InvalidTokenError()
    account = session.get(Account, claims["sub"])
    if account is None or account.status != "active":
        raise InvalidTokenError()
    join = current_membership(session, account_id=account.id)
    if join is None:
        raise InvalidTokenError("The account belongs to no workspace.")
    return Caller(account=account, tenant_id=join.tenant_id, role=join.role, session_id=record.id)


def current_membership(session: Session, *, account_id: str) -> TenantAccountJoin | None:
    """The account's current workspace membership (the first one when none is marked current)."""
    joins = session.scalars(
        select(TenantAccountJoin)
        .join(Tenant, Tenant.id == TenantAccountJoin.tenant_id)
        .where(TenantAccountJoin.account_id == account_id, Tenant.status == "normal")
        .order_by(TenantAccountJoin.current.desc(), TenantAccountJoin.created_at)
    ).all()
    return joins[0] if joins else None
