"""The `sargs` command's accounts and API tokens, and tokens at the API."""

from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from sargs.auth.models import ApiToken, User
from sargs.cli import cli
from tests.kernel.helpers import rows

LOOKUP = "/api/v1/areas/lookup?lat=56.65&lon=23.72"


def _sargs(app, *args: str, stdin: str | None = None):
    """Run a `sargs` command against the test app, or as configured by the
    environment when ``app`` is None."""
    options = {"obj": ScriptInfo(create_app=lambda: app)} if app is not None else {}
    return CliRunner().invoke(cli, list(args), input=stdin, **options)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token(app) -> str:
    result = _sargs(app, "token", "create", "city-website", "--scope", "areas:read")
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def test_a_token_is_printed_alone_on_the_last_line_and_stored_as_a_hash(token, db):
    (stored,) = rows(db, select(ApiToken))
    secret = token.removeprefix(f"sargs_{stored.prefix}_")
    assert token.startswith("sargs_") and secret != token
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str([getattr(stored, c.key) for c in ApiToken.__table__.columns])


def test_a_token_opens_the_api_of_its_scopes_only(token, client):
    response = client.get(LOOKUP, headers=_bearer(token))
    assert response.status_code == 200
    assert "LV022" in {area["code"] for area in response.get_json()["areas"]}
    assert client.get("/api/v1/activations", headers=_bearer(token)).status_code == 403


def test_a_missing_or_forged_token_gets_401(token, client):
    assert client.get(LOOKUP).status_code == 401
    assert client.get(LOOKUP, headers=_bearer(token[:-2] + "xx")).status_code == 401


def test_a_revoked_token_gets_401(app, token, client, db):
    (stored,) = rows(db, select(ApiToken))
    result = _sargs(app, "token", "revoke", str(stored.id))
    assert result.exit_code == 0, result.output
    response = client.get(LOOKUP, headers=_bearer(token))
    assert response.status_code == 401
    assert "error" in response.get_json()


def test_token_create_refuses_an_unknown_scope(app, db):
    result = _sargs(app, "token", "create", "x", "--scope", "everything")
    assert result.exit_code == 2
    assert "everything" in result.output
    assert rows(db, select(ApiToken)) == []


@pytest.fixture
def fresh_database(empty_database_url, tmp_path, monkeypatch):
    """`sargs` pointed by its environment at a database nobody has set up."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SARGS_DATABASE_URL", empty_database_url)
    monkeypatch.setenv("SARGS_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("SARGS_MODE", "test")
    return empty_database_url


def _users_in(url: str) -> dict[str, set[str]]:
    from sargs.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return {u.username: u.role_names for u in session.scalars(select(User))}
    finally:
        engine.dispose()


def test_user_create_works_on_a_fresh_database(fresh_database, frozen_clock):
    result = _sargs(None, "user", "create", "anna", "--role", "admin", "--password-stdin",
                    stdin="a-long-password-1\n")
    assert result.exit_code == 0, result.output
    assert _users_in(fresh_database) == {"anna": {"admin"}}


def test_user_create_refuses_an_unknown_role_clearly(fresh_database, frozen_clock):
    result = _sargs(None, "user", "create", "anna", "--role", "boss", "--password-stdin",
                    stdin="a-long-password-1\n")
    assert result.exit_code == 2
    assert "boss" in result.output and "role" in result.output
    assert "Traceback" not in result.output
    assert _users_in(fresh_database) == {}
