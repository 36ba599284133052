"""Small helpers of the kernel tests: forms with a CSRF token, field errors
on a page, redirects and row counts."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select


def page_token(client: Any) -> str:
    """A CSRF token from whatever page the client lands on (/login or home)."""
    page = client.get("/login", follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the landing page"
    return match.group(1)


def post_form(client: Any, path: str, data: dict[str, Any] | None = None, **options: Any) -> Any:
    """POST a form as a browser would, with the session's CSRF token."""
    token = page_token(client)
    return client.post(path, data={**(data or {}), "csrf_token": token}, **options)


def field_has_error(page: str, name: str) -> bool:
    """The page marks the form field ``name`` as wrong, next to the field."""
    described = f'id="e-{name}"' in page
    marked = re.search(rf'name="{re.escape(name)}"[^>]*aria-invalid="true"', page)
    return described or bool(marked)


def redirects_to(response: Any, path: str) -> bool:
    location = response.headers.get("Location", "")
    return response.status_code in (302, 303) and location.split("?")[0].endswith(path)


def rows(session: Any, query: Any) -> list[Any]:
    """Read the current state, then end the transaction: on SQLite every
    transaction holds the write lock, which would keep the app waiting."""
    try:
        return list(session.scalars(query))
    finally:
        session.close()


def count(session: Any, model: Any) -> int:
    return rows(session, select(func.count()).select_from(model))[0]
