"""The alerts API (bearer token, scope alerts:read) and `sargs alert list / show`, which
print the same objects."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import update

from sargs import clock
from sargs.auth.service import create_token
from sargs.channels import alerts
from sargs.channels.models import Delivery
from sargs.cli import cli
from tests.channels.engine_helpers import commission_member, public_orange, resident


@pytest.fixture
def bearer(db):
    def make(*scopes: str) -> dict[str, str]:
        _token, plaintext = create_token(db, "city-website", list(scopes))
        db.commit()
        return {"Authorization": f"Bearer {plaintext}"}

    return make


@pytest.fixture
def sent(db, frozen_clock):
    """A warning alert to the public of LV022 and the commission, sending, one SMS delivered;
    and a newer draft."""
    resident(db, "Ilze", "+37120000701")
    commission_member(db, "Kārlis", "+37120000702", "6702")
    alert = alerts.create_alert(db, public_orange(source="warning"), None)
    alerts.submit(db, alert, None)
    alerts.start_sending(db, alert, {"sms", "telegram", "voice"})
    frozen_clock.advance(seconds=4)
    db.execute(update(Delivery).where(Delivery.alert_id == alert.id, Delivery.channel == "sms")
               .values(state="delivered", delivered_at=clock.now()))
    frozen_clock.advance(minutes=1)
    draft = alerts.create_alert(db, public_orange(level="yellow"), None)
    db.commit()
    return alert.id, draft.id


def _sargs(app, *args: str):
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_the_api_needs_a_token_with_alerts_read(client, bearer, sent):
    alert_id, _draft = sent
    for path in ("/api/v1/alerts", f"/api/v1/alerts/{alert_id}"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer sargs_x_y"}).status_code == 401
        assert client.get(path, headers=bearer("warnings:read")).status_code == 403


def test_an_alert_shows_its_texts_audience_progress_and_milestones(client, bearer, sent):
    alert_id, _draft = sent
    response = client.get(f"/api/v1/alerts/{alert_id}", headers=bearer("alerts:read"))
    assert response.status_code == 200
    body = response.get_json()
    assert {key: body[key] for key in ("id", "source", "cap_status", "msg_type", "level",
                                       "state", "references_id")} == {
        "id": alert_id, "source": "warning", "cap_status": "Actual", "msg_type": "Alert",
        "level": "orange", "state": "sending", "references_id": None}
    assert body["created_at"] == "2026-11-24T10:00:00+00:00"
    assert body["sending_at"] == "2026-11-24T10:00:00+00:00" and body["finished_at"] is None
    assert body["texts"]["lv"] == "Oranžais brīdinājums: stiprs vējš Jelgavā."
    assert body["audience"] == {"groups": ["commission"], "public_areas": ["LV022"],
                                "contacts": 0}
    assert body["channels"] == ["telegram", "sms", "voice"]
    # Ilze by SMS; Kārlis of the commission by Telegram and by a call.
    assert body["progress"] == {"sms": {"delivered": 1}, "telegram": {"pending": 1},
                                "voice": {"pending": 1}}
    # One of three rows finished, 4 s after sending: no milestone reached yet.
    assert body["milestones"] == {"50": None, "90": None, "100": None}
    # Nobody's name, phone or chat appears anywhere in the object.
    text = response.get_data(as_text=True)
    assert not any(secret in text for secret in ("Ilze", "Kārlis", "+3712", "6702"))


def test_milestones_count_from_the_move_to_sending(client, bearer, sent, db):
    alert_id, _draft = sent
    db.execute(update(Delivery).where(Delivery.alert_id == alert_id,
                                      Delivery.channel == "telegram")
               .values(state="delivered", delivered_at=clock.now()))
    db.commit()
    body = client.get(f"/api/v1/alerts/{alert_id}", headers=bearer("alerts:read")).get_json()
    # Two of three rows finished, the second 64 s after sending: half the audience.
    assert body["milestones"] == {"50": 64.0, "90": None, "100": None}


def test_the_list_is_newest_first_and_filters_by_state(client, bearer, sent):
    alert_id, draft_id = sent
    headers = bearer("alerts:read")
    listed = client.get("/api/v1/alerts", headers=headers).get_json()["alerts"]
    assert [a["id"] for a in listed] == [draft_id, alert_id]
    assert "milestones" not in listed[0]
    sending = client.get("/api/v1/alerts?state=sending", headers=headers).get_json()["alerts"]
    assert [a["id"] for a in sending] == [alert_id]
    one = client.get("/api/v1/alerts?limit=1", headers=headers).get_json()["alerts"]
    assert [a["id"] for a in one] == [draft_id]


@pytest.mark.parametrize(("query", "field"), [("state=sent", "state"), ("limit=0", "limit"),
                                              ("limit=many", "limit")])
def test_a_bad_filter_is_refused_naming_the_field(client, bearer, query, field):
    response = client.get(f"/api/v1/alerts?{query}", headers=bearer("alerts:read"))
    assert response.status_code == 422
    assert [error["field"] for error in response.get_json()["errors"]] == [field]


def test_an_unknown_alert_is_404(client, bearer):
    assert client.get("/api/v1/alerts/999", headers=bearer("alerts:read")).status_code == 404


def test_the_command_prints_the_api_objects(app, client, bearer, sent):
    alert_id, draft_id = sent
    headers = bearer("alerts:read")
    shown = _sargs(app, "alert", "show", str(alert_id), "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == client.get(f"/api/v1/alerts/{alert_id}",
                                                  headers=headers).get_json()
    listed = _sargs(app, "alert", "list", "--state", "draft", "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == client.get("/api/v1/alerts?state=draft",
                                                   headers=headers).get_json()["alerts"]


def test_the_command_reads_well_without_json(app, sent):
    alert_id, draft_id = sent
    table = _sargs(app, "alert", "list").output.splitlines()
    assert [line.split()[:2] for line in table] == [[str(draft_id), "draft"],
                                                    [str(alert_id), "sending"]]
    assert "Dzeltenais" not in table[0] and "Oranžais brīdinājums" in table[1]
    block = _sargs(app, "alert", "show", str(alert_id)).output
    assert "state: sending" in block and '"sms": {"delivered": 1}' in block
    assert "[en]\nOrange warning: strong wind in Jelgava." in block


def test_the_command_names_an_unknown_alert(app):
    result = _sargs(app, "alert", "show", "999")
    assert result.exit_code == 1
    assert "no alert 999" in result.output
