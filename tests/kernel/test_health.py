"""/healthz tells whether the database is current and the scheduler alive."""

from __future__ import annotations

from sargs import migrate
from sargs.scheduler import run_tick


def test_the_database_is_reported_at_the_newest_revision(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    database = response.get_json()["database"]
    assert database["ok"] is True
    assert database["revision"] == database["head"] == migrate.head_revision(
        app.extensions["sargs"].engine)


def test_the_scheduler_runs_after_a_tick_and_goes_stale_without_ticks(app, client, frozen_clock):
    assert client.get("/healthz").get_json()["scheduler"]["state"] == "never_started"
    run_tick(app.extensions["sargs"].sessionmaker)
    body = client.get("/healthz").get_json()
    assert (body["scheduler"]["state"], body["status"]) == ("running", "ok")

    frozen_clock.advance(minutes=10)
    body = client.get("/healthz").get_json()
    assert (body["scheduler"]["state"], body["status"]) == ("stale", "degraded")
