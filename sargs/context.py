"""What a request, CLI command or job reaches through the Flask app: the
settings and a database session scoped to the request or app context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from flask import abort, current_app, g

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sargs.settings import Settings

M = TypeVar("M")


def settings() -> Settings:
    return current_app.extensions["sargs"].settings


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["sargs"].sessionmaker()
    return g.db_session


def get_or_404(model: type[M], ident: Any) -> M:
    """The row of ``model`` with primary key ``ident``, or a 404 page."""
    found = db_session().get(model, ident)
    if found is None:
        abort(404)
    return found


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
