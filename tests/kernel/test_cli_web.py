"""`sargs web`: gunicorn's workers fork from the command's process, so what that process
holds when it starts them, every worker holds."""

from __future__ import annotations

from typing import Any

import flask
from click.testing import CliRunner
from flask.cli import ScriptInfo
from gunicorn.app.base import BaseApplication

from sargs.cli import cli


def test_the_workers_serve_each_request_in_a_context_of_its_own(app, monkeypatch):
    seen: dict[str, Any] = {}

    def run(server: BaseApplication) -> None:
        # What a forked worker would start with: no app context of the command's (every
        # request would share its database session), no pooled connection of the master's.
        seen["app_context"] = flask.has_app_context()
        seen["pooled"] = app.extensions["sargs"].engine.pool.checkedin()
        seen["post_fork"] = server.cfg.post_fork
        seen["app"] = server.load()

    monkeypatch.setattr(BaseApplication, "run", run)
    result = CliRunner().invoke(cli, ["web", "--workers", "2", "--bind", "127.0.0.1:0"],
                                obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    assert seen["app_context"] is False and seen["pooled"] == 0 and seen["app"] is app
    assert callable(seen["post_fork"])
    with app.test_client() as client:  # two requests, as one worker serves them in turn
        client.get("/login")
        assert app.extensions["sargs"].engine.pool.checkedout() == 0
