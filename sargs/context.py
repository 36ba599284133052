"""What a request, CLI command or job reaches through the Flask app: the
settings and a database session scoped to the request or app context."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, g

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sargs.settings import Settings


def settings() -> Settings:
    return current_app.extensions["sargs"].settings


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["sargs"].sessionmaker()
    return g.db_session


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
