"""Accounts, passwords, the second factor, login throttling and API tokens.

Plain functions on a Session, shared by the web pages, the API and the CLI.
Passwords are hashed with argon2id; tokens are stored as SHA-256 of a random
secret and shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.audit import service as audit
from sargs.auth.models import ApiToken, RolePolicy, User, UserRole
from sargs.auth.roles import ROLES, SCOPES, TOTP_REQUIRED_BY_DEFAULT

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("sargs-dummy-password")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "sargs_"
TOTP_ISSUER = "Sargs"


class AuthError(ValueError):
    """A rule refused the operation; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError("password", f"at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def _password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_roles(roles: list[str]) -> list[str]:
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise AuthError("roles", f"unknown role {unknown[0]!r}")
    return sorted(set(roles))


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def create_user(
    session: Session,
    username: str,
    password: str,
    roles: list[str],
    display_name: str | None = None,
    email: str | None = None,
) -> User:
    username = username.strip().lower()
    if find_user(session, username):
        raise AuthError("username", "a user with this name already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=hash_password(password),
        created_at=clock.now(),
    )
    user.roles = [UserRole(role=role) for role in _check_roles(roles)]
    session.add(user)
    session.flush()
    return user


def set_roles(session: Session, user: User, roles: list[str]) -> None:
    wanted = set(_check_roles(roles))
    for link in list(user.roles):
        if link.role not in wanted:
            user.roles.remove(link)
    for role in sorted(wanted - user.role_names):
        user.roles.append(UserRole(role=role))
    session.flush()


def set_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    session.flush()


def set_active(session: Session, user: User, active: bool) -> None:
    user.active = active
    session.flush()


# --- login ---------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    reason: str | None = None  # bad_credentials, bad_code, locked, inactive


def is_locked(user: User) -> bool:
    return bool(user.locked_until and user.locked_until > clock.now())


def _note_failure(session: Session, user: User, max_failures: int, lockout_minutes: int) -> None:
    """Count a wrong password or code; too many lock the account for a while.
    The count starts again only when a sign-in completes (:func:`mark_logged_in`),
    so a known password does not buy fresh guesses at the second factor."""
    user.failed_logins += 1
    if user.failed_logins >= max_failures:
        user.locked_until = clock.now() + timedelta(minutes=lockout_minutes)
        user.failed_logins = 0
    session.flush()


def _refused_as_locked(session: Session, user: User) -> None:
    audit.record(session, "login_refused", "user_account", user.id, after={"reason": "locked"})


def authenticate(
    session: Session, username: str, password: str, max_failures: int, lockout_minutes: int
) -> LoginResult:
    """Check a password; lock the account for a while after repeated failures."""
    user = find_user(session, username)
    if user is None:
        _password_matches(_DUMMY_HASH, password)
        audit.record(session, "login_failed", "user_account", after={"reason": "unknown user"})
        return LoginResult(None, "bad_credentials")
    if is_locked(user):
        _refused_as_locked(session, user)
        return LoginResult(None, "locked")
    if not _password_matches(user.password_hash, password):
        _note_failure(session, user, max_failures, lockout_minutes)
        audit.record(session, "login_failed", "user_account", user.id)
        return LoginResult(None, "locked" if is_locked(user) else "bad_credentials")
    if not user.active:
        return LoginResult(None, "inactive")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.locked_until = None
    session.flush()
    return LoginResult(user)


def mark_logged_in(session: Session, user: User) -> None:
    user.last_login_at = clock.now()
    user.failed_logins = 0
    session.flush()
    audit.record(session, "login", "user_account", user.id)


# --- second factor -------------------------------------------------------


def role_policies(session: Session) -> dict[str, bool]:
    stored = {p.role: p.totp_required for p in session.scalars(select(RolePolicy))}
    return {role: stored.get(role, role in TOTP_REQUIRED_BY_DEFAULT) for role in ROLES}


def ensure_role_policies(session: Session) -> None:
    """Create the default policy rows once, so the admin page shows real rows."""
    existing = set(session.scalars(select(RolePolicy.role)))
    for role in ROLES:
        if role not in existing:
            session.add(RolePolicy(role=role, totp_required=role in TOTP_REQUIRED_BY_DEFAULT))
    session.flush()


def set_totp_required(session: Session, role: str, required: bool) -> None:
    _check_roles([role])
    policy = session.get(RolePolicy, role) or RolePolicy(role=role)
    policy.totp_required = required
    session.add(policy)
    session.flush()


def needs_totp(session: Session, user: User) -> bool:
    policies = role_policies(session)
    return any(policies.get(role, False) for role in user.role_names)


def start_totp_enrolment(user: User) -> str:
    """A fresh secret to show the user; stored only once a code confirms it."""
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)


def _matching_step(secret: str, code: str) -> int | None:
    """The 30-second time step whose code this is (now, or one step either side)."""
    code = code.replace(" ", "")
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = clock.now()
    current = totp.timecode(now)
    for offset in (0, -1, 1):
        if hmac.compare_digest(totp.generate_otp(current + offset), code):
            return current + offset
    return None


def confirm_totp_enrolment(session: Session, user: User, secret: str, code: str) -> None:
    step = _matching_step(secret, code)
    if step is None:
        raise AuthError("code", "the code does not match")
    user.totp_last_step = step
    user.totp_secret = secret
    user.totp_enabled_at = clock.now()
    session.flush()


def verify_totp(
    session: Session, user: User, code: str, max_failures: int, lockout_minutes: int
) -> LoginResult:
    """Check a second-factor code; wrong codes count towards the lockout."""
    if is_locked(user):
        _refused_as_locked(session, user)
        return LoginResult(None, "locked")
    step = _matching_step(user.totp_secret, code) if user.totp_secret else None
    # A code is good once: a step already used (a replayed code) counts as wrong.
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        _note_failure(session, user, max_failures, lockout_minutes)
        audit.record(session, "totp_failed", "user_account", user.id)
        return LoginResult(None, "locked" if is_locked(user) else "bad_code")
    user.totp_last_step = step
    session.flush()
    return LoginResult(user)


def reset_totp(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.flush()


# --- API tokens ----------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session, name: str, scopes: list[str], created_by: User | None = None
) -> tuple[ApiToken, str]:
    """Make a token; return it and its plaintext, which is never stored."""
    if not name.strip():
        raise AuthError("name", "a name is required")
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        raise AuthError("scopes", f"unknown scope {unknown[0]!r}" if unknown else "at least one scope")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip(),
        prefix=prefix,
        token_hash=_digest(secret),
        scopes=sorted(set(scopes)),
        created_at=clock.now(),
        created_by_id=created_by.id if created_by else None,
    )
    session.add(token)
    session.flush()
    return token, f"{TOKEN_PREFIX}{prefix}_{secret}"


def verify_token(session: Session, presented: str) -> ApiToken | None:
    if not presented.startswith(TOKEN_PREFIX):
        return None
    prefix, _, secret = presented.removeprefix(TOKEN_PREFIX).partition("_")
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if token is None or not hmac.compare_digest(token.token_hash, _digest(secret)):
        return None
    if not token.is_active:
        return None
    return token


def touch_token(session: Session, token: ApiToken) -> None:
    """Remember when a token was last used; not a change worth auditing."""
    session.execute(
        ApiToken.__table__.update()
        .where(ApiToken.id == token.id)
        .values(last_used_at=clock.now())
    )


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))


def revoke_token(session: Session, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        session.flush()
