"""Who is signed in to the volunteer portal.

A volunteer is not a staff user: they sign in with a one-time code or link (or from
the Telegram bot), and the portal keeps their id in the signed session cookie, apart
from Flask-Login's staff sign-in. A portal session lasts :data:`PORTAL_HOURS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import redirect, request, session, url_for

from sargs import clock
from sargs.auth.access import public
from sargs.context import db_session
from sargs.volunteers.models import Volunteer

KEY = "volunteer_id"
SINCE = "volunteer_since"
PORTAL_HOURS = 12


def sign_in(volunteer: Volunteer) -> None:
    session[KEY] = volunteer.id
    session[SINCE] = clock.now().isoformat()


def sign_out() -> None:
    session.pop(KEY, None)
    session.pop(SINCE, None)


def current_volunteer() -> Volunteer | None:
    """The signed-in volunteer, or None (never an erased one, nor an old session)."""
    volunteer_id, since = session.get(KEY), session.get(SINCE)
    if volunteer_id is None or since is None:
        return None
    if datetime.fromisoformat(since) + timedelta(hours=PORTAL_HOURS) < clock.now():
        sign_out()
        return None
    volunteer = db_session().get(Volunteer, int(volunteer_id))
    if volunteer is None or volunteer.status == "erased":
        sign_out()
        return None
    return volunteer


def volunteer_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """A portal page of the signed-in volunteer; others are sent to sign in. Public to
    the staff access check: the volunteer's own sign-in guards it."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        volunteer = current_volunteer()
        if volunteer is None:
            return redirect(url_for("volunteer_portal.signin", next=request.full_path.rstrip("?")))
        return view(volunteer, *args, **kwargs)

    return public(wrapper)
