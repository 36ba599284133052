"""Who may open what.

Every view declares its access with exactly one of :func:`public`,
:func:`signed_in`, :func:`roles`, :func:`api_scopes` or :func:`own_bearer`; the app factory
refuses to start when a view has none (:func:`check_declared`). The
declaration is kept on the view as ``_sargs_access`` so the navigation and
the role-matrix test read the same rule that is enforced.

Anonymous users are sent to the login page, signed-in users without a role
get 403. ``read`` roles may only use safe methods (GET, HEAD).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, abort, g, jsonify, redirect, request, session, url_for
from flask_login import current_user

from sargs.audit.service import Actor, set_actor
from sargs.auth import service
from sargs.auth.roles import ROLES, SCOPES
from sargs.context import db_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Access:
    kind: str  # public, signed_in, roles, api
    roles: frozenset[str] = field(default_factory=frozenset)
    read: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)

    def allows(self, user_roles: Iterable[str], method: str = "GET") -> bool:
        if self.kind in ("public", "signed_in"):
            return True
        held = set(user_roles)
        if held & self.roles:
            return True
        return method in SAFE_METHODS and bool(held & self.read)


def _declare(view: Callable[..., Any], access: Access) -> None:
    if hasattr(view, "_sargs_access"):
        raise RuntimeError(f"{view.__name__} declares its access twice")
    view._sargs_access = access  # type: ignore[attr-defined]


def access_of(view: Callable[..., Any]) -> Access | None:
    return getattr(view, "_sargs_access", None)


def totp_pending(user: Any) -> bool:
    """True when the user's roles require a second factor not yet given."""
    return not session.get("totp_ok") and service.needs_totp(db_session(), user)


def _require_sign_in() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if totp_pending(current_user):
        return redirect(url_for("auth.totp", next=request.full_path.rstrip("?")))
    return None


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    _declare(view, Access("public"))
    return view


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Any signed-in staff user, whatever their roles (own profile, home page)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _require_sign_in() or view(*args, **kwargs)

    _declare(wrapper, Access("signed_in"))
    return wrapper


def roles(*allowed: str, read: Iterable[str] = ()) -> Callable[[Callable[..., Any]], Any]:
    """Allow holders of ``allowed`` roles; ``read`` roles only for safe methods."""
    read_roles = frozenset(read)
    unknown = (set(allowed) | read_roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    access = Access("roles", frozenset(allowed), read_roles)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refusal = _require_sign_in()
            if refusal:
                return refusal
            if not access.allows(current_user.role_names, request.method):
                abort(403)
            return view(*args, **kwargs)

        _declare(wrapper, access)
        return wrapper

    return decorate


def _api_error(status: int, message: str) -> Any:
    response = jsonify({"error": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sargs"'
    return response


def api_scopes(*needed: str) -> Callable[[Callable[..., Any]], Any]:
    """An integration endpoint: ``Authorization: Bearer <token>`` with these scopes."""
    unknown = set(needed) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes {sorted(unknown)}")
    access = Access("api", scopes=frozenset(needed))

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, presented = header.partition(" ")
            if scheme.lower() != "bearer" or not presented:
                return _api_error(401, "a bearer token is required")
            sess = db_session()
            token = service.verify_token(sess, presented.strip())
            if token is None:
                return _api_error(401, "the token is invalid or revoked")
            if not access.scopes <= set(token.scopes):
                return _api_error(403, "the token lacks the scope " + ", ".join(sorted(access.scopes)))
            service.touch_token(sess, token)
            sess.commit()
            g.api_token = token
            set_actor(Actor("token", token.id, f"token:{token.name}", request.remote_addr or "?"))
            return view(*args, **kwargs)

        _declare(wrapper, access)
        return wrapper

    return decorate


def own_bearer(view: Callable[..., Any]) -> Callable[..., Any]:
    """An integration endpoint whose bearer token is not an API token with scopes but
    one its own module checks (the CAD partner API: the token belongs to a partner).
    Declared as "api" because it answers like one: 401 JSON without a valid token."""
    _declare(view, Access("api"))
    return view


def check_declared(app: Flask) -> None:
    """Refuse to start when any view has no access declaration."""
    missing = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not endpoint.endswith(".static") and access_of(view) is None
    ]
    if missing:
        raise RuntimeError("views without an access declaration: " + ", ".join(sorted(missing)))
