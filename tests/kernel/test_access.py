"""Every page answers each role as its access declaration says.

The matrix walks every URL rule of the app, so a new page is checked the day
it is added: anonymous visitors are sent to sign in (API calls get 401 JSON),
roles the page does not admit get 403, roles it admits get through.
"""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.routing import IntegerConverter

from sargs.app import create_app
from sargs.auth.access import Access, access_of
from sargs.auth.roles import ROLES
from sargs.web import shell
from tests.kernel.helpers import page_token, redirects_to

ANONYMOUS = "anonymous"
# Signing out ends the walk, so it is checked last.
LAST = "auth.logout"


def _requests(app: Any) -> list[tuple[str, str, str, Access]]:
    """(endpoint, method, url, access) for every rule and method of the app."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        values = {
            name: 1 if isinstance(converter, IntegerConverter) else "LV022"
            for name, converter in rule._converters.items()
        }
        url = adapter.build(rule.endpoint, values)
        access = access_of(app.view_functions[rule.endpoint])
        assert access is not None, rule.endpoint
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url, access))
    return sorted(found, key=lambda item: (item[0] == LAST, item[0], item[1]))


def _call(client: Any, method: str, url: str) -> Any:
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": page_token(client)})


def _sent_to_sign_in(response: Any) -> bool:
    """Redirected to the login page, with the way back (signing out has none)."""
    return redirects_to(response, "/login") and "next=" in response.headers["Location"]


def _refusal(role: str, method: str, access: Access, response: Any) -> str | None:
    """Why ``response`` is not what ``access`` declares for ``role``, or None."""
    status = response.status_code
    if access.kind == "api":
        ok = status == 401 and "error" in (response.get_json(silent=True) or {})
        return None if ok else f"expected 401 JSON without a token, got {status}"
    if access.kind == "public":
        return None if status not in (401, 403) else f"public page refused with {status}"
    if role == ANONYMOUS:
        return None if _sent_to_sign_in(response) else f"expected sign-in, got {status}"
    if access.kind == "roles" and not access.allows({role}, method):
        return None if status == 403 else f"expected 403, got {status}"
    if status in (401, 403) or _sent_to_sign_in(response):
        return f"an admitted role was refused with {status}"
    if status not in (200, 302, 303, 404, 405, 422):
        return f"unexpected {status}"
    return None


@pytest.mark.parametrize("role", [ANONYMOUS, *ROLES])
def test_every_page_answers_each_role_as_declared(app, client, users, role):
    if role != ANONYMOUS:
        users.signed_in(client, f"user-{role}".replace("_", "-"), role)
    wrong = []
    for endpoint, method, url, access in _requests(app):
        reason = _refusal(role, method, access, _call(client, method, url))
        if reason:
            wrong.append(f"{method} {url} ({endpoint}): {reason}")
    assert not wrong, "\n".join(wrong)


def test_a_signed_in_user_without_roles_sees_no_role_pages(app, client, users):
    users.signed_in(client, "nobody")
    assert client.get("/").status_code == 200
    assert client.get("/audit/").status_code == 403
    assert client.get("/activations/").status_code == 403


def test_the_app_refuses_a_view_without_an_access_declaration(settings, monkeypatch):
    register = shell.register

    def register_with_an_open_door(app: Any) -> None:
        register(app)
        app.add_url_rule("/open-door", "open_door", lambda: "anyone")

    monkeypatch.setattr(shell, "register", register_with_an_open_door)
    with pytest.raises(RuntimeError, match="open_door"):
        create_app(settings, prepare=False)
