"""The application factory."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask, g, request
from flask_login import current_user
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sargs import migrate
from sargs.audit import service as audit
from sargs.context import close_db_session, db_session
from sargs.db import make_engine, make_sessionmaker
from sargs.extensions import babel, csrf, limiter, login_manager
from sargs.settings import Settings, SettingsError, load_settings

log = logging.getLogger(__name__)


@dataclass
class SargsState:
    """What the app keeps in ``app.extensions["sargs"]``."""

    settings: Settings
    engine: Engine
    sessionmaker: sessionmaker[Session]
    scheduler: Any = None
    scheduler_lock: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def _secret_key(settings: Settings) -> str:
    """SARGS_SECRET_KEY, or a key made once and kept in the instance folder."""
    if settings.secret_key:
        return settings.secret_key.get_secret_value()
    path = settings.instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _prepare_storage(settings: Settings) -> None:
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    if settings.is_sqlite:
        database = settings.database_url.removeprefix("sqlite:///")
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)


def prepare_database(state: SargsState) -> None:
    """Upgrade the schema, then bring the shipped reference data up to date."""
    migrate.upgrade(state.engine)
    from sargs.areas.service import UnknownAreaError, home_areas, sync_builtin_areas
    from sargs.auth.service import ensure_role_policies

    with state.sessionmaker() as session, audit.acting_as(audit.SYSTEM):
        ensure_role_policies(session)
        sync_builtin_areas(session)
        from sargs.warnings.policies import seed as seed_escalation_policies

        seed_escalation_policies(session)
        from sargs.cad.reference import seed as seed_cad_reference

        seed_cad_reference(session)
        session.commit()
        try:
            home_areas(session, state.settings)
        except UnknownAreaError as exc:
            raise SettingsError(f"invalid setting {exc}") from None


def _set_request_actor() -> None:
    origin = request.remote_addr or "?"
    if current_user and current_user.is_authenticated:
        actor = audit.Actor("user", current_user.id, current_user.username, origin)
    else:
        actor = audit.Actor("anonymous", None, "anonymous", origin)
    g.sargs_actor_token = audit.set_actor(actor)


def _reset_request_actor(_exc: BaseException | None = None) -> None:
    """The request's actor ends with the request (a thread serves many)."""
    token = g.pop("sargs_actor_token", None)
    if token is not None:
        audit.reset_actor(token)


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def create_app(settings: Settings | None = None, *, prepare: bool = True) -> Flask:
    settings = settings or load_settings()
    _prepare_storage(settings)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per tick is noise
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its URLs carry the Telegram bot token

    app = Flask(
        "sargs",
        instance_path=str(settings.instance_path.resolve()),
        template_folder="web/templates",
        static_folder="web/static",
    )
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE=settings.languages[0],
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES="translations",
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        MAX_CONTENT_LENGTH=25 * 1024 * 1024,
        TESTING=settings.mode == "test",
    )
    engine = make_engine(settings.database_url)
    state = SargsState(settings, engine, make_sessionmaker(engine))
    audit.install(state.sessionmaker)
    app.extensions["sargs"] = state
    if prepare:
        prepare_database(state)

    from sargs.web.shell import select_locale

    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    app.teardown_appcontext(close_db_session)
    app.before_request(_set_request_actor)
    app.teardown_request(_reset_request_actor)
    app.after_request(_security_headers)

    from sargs.blueprints import register_all

    register_all(app)
    return app


@login_manager.user_loader
def _load_user(user_id: str) -> Any:
    from sargs.auth.service import get_user

    user = get_user(db_session(), int(user_id))
    return user if user and user.active else None
