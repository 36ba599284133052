"""The staff reports API (scope reports:read) and the partner API (a partner's own token
from `sargs cad partner-token`): filters, 422s, the timeline, no contact data, and a
partner's flow from its open reports to a resolved report."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.auth.service import create_token
from sargs.cad import service
from sargs.cad.models import CadPartner, CadReport
from sargs.cad.schemas import ReportIn
from sargs.cli import cli
from tests.cad.conftest import MUNICIPALITY_POINT

CONTACT = {"reporter_name": "Ilze Bērziņa", "reporter_phone": "+37120001234",
           "reporter_email": "ilze.berzina@example.lv", "reporter_telegram": "55501234",
           "feedback_wanted": True, "feedback_channel": "email"}
PERSONAL = ("Ilze", "Berzina", "20001234", "55501234", "example.lv")


@pytest.fixture
def bearer(db):
    def make(*scopes: str) -> dict[str, str]:
        _token, plaintext = create_token(db, "gis", list(scopes))
        db.commit()
        return {"Authorization": f"Bearer {plaintext}"}

    return make


def _sargs(app: Any, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def _partner_token(app: Any, code: str) -> dict[str, str]:
    result = _sargs(app, "cad", "partner-token", code)
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    return {"Authorization": f"Bearer {token}"}


def _state(db, report_id: int) -> tuple[str, str | None]:
    """The report's state and planned date as stored now (transaction ended at once)."""
    try:
        db.expire_all()
        report = db.get(CadReport, report_id)
        return report.state, report.planned_for.isoformat() if report.planned_for else None
    finally:
        db.rollback()


def _routed(app, db, make_report, **fields) -> int:
    report = make_report(**fields)
    service.route(db, app.extensions["sargs"].settings, report)
    db.commit()
    return report.id


# --- staff tools -------------------------------------------------------------


def test_the_staff_api_needs_a_token_with_reports_read(client, bearer, make_report):
    report = make_report()
    for path in ("/api/v1/reports", f"/api/v1/reports/{report.id}"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=bearer("warnings:read")).status_code == 403
        assert client.get(path, headers=bearer("reports:read")).status_code == 200


def test_the_staff_api_filters_like_the_operators_search(app, db, client, bearer, make_report,
                                                         frozen_clock):
    headers = bearer("reports:read")
    street = make_report(description="Bedre pie skolas")
    frozen_clock.advance(days=2)
    light = make_report(category="lighting", description="Nedeg laterna")
    country = make_report(category="waste", description="Izgāztuve mežā",
                          lat=MUNICIPALITY_POINT[0], lon=MUNICIPALITY_POINT[1])
    service.route(db, app.extensions["sargs"].settings, light)
    db.commit()

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/reports{query}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [row["id"] for row in response.get_json()["reports"]]

    assert ids("") == [country.id, light.id, street.id]
    assert ids("?category=lighting") == [light.id]
    assert ids("?partner=jvpi") == [light.id]
    assert ids("?state=routed") == [light.id]
    assert ids("?state=new,routed") == [country.id, light.id, street.id]
    assert ids("?state=closed") == []
    assert ids("?q=laterna") == [light.id]
    assert ids(f"?q=%23{street.id}") == [street.id]
    assert ids("?jurisdiction=municipality") == [country.id]
    assert ids("?from=2026-11-25") == [country.id, light.id]
    assert ids("?to=2026-11-24") == [street.id]
    page = client.get("/api/v1/reports?limit=1&offset=1", headers=headers).get_json()
    assert (page["total"], [r["id"] for r in page["reports"]]) == (3, [light.id])
    row = client.get(f"/api/v1/reports?q=%23{light.id}", headers=headers).get_json()[
        "reports"][0]
    assert row["partner"] == {"code": "jvpi", "name": 'JVPI "Pilsētsaimniecība"'}
    assert row["category"]["name_en"] == "Street lighting"
    assert row["received_at"] == "2026-11-26T12:00:00+02:00"


@pytest.mark.parametrize(("query", "field"), [
    ("?limit=501", "limit"),
    ("?limit=many", "limit"),
    ("?offset=-1", "offset"),
    ("?state=pending", "state"),
    ("?from=24.11.2026", "from"),
    ("?to=2026-02-30", "to"),
    ("?jurisdiction=riga", "jurisdiction"),
    ("?category=potholes", "category"),
    ("?partner=nobody", "partner"),
])
def test_bad_parameters_are_422_naming_the_field(client, bearer, query, field):
    response = client.get(f"/api/v1/reports{query}", headers=bearer("reports:read"))
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [field]


def test_a_report_has_its_timeline_and_no_contact_data(app, db, client, bearer, make_report):
    headers = bearer("reports:read")
    report_id = _routed(app, db, make_report, **CONTACT)
    found = client.get(f"/api/v1/reports/{report_id}", headers=headers)
    assert found.status_code == 200
    body = found.get_json()
    assert [e["kind"] for e in body["timeline"]][:2] == ["created", "routed"]
    assert body["timeline"][1]["data"]["partner"] == "jvpi"
    assert (body["feedback_wanted"], body["feedback_channel"]) == (True, "email")
    listed = client.get("/api/v1/reports", headers=headers)
    for text in (found.get_data(as_text=True), listed.get_data(as_text=True)):
        for value in PERSONAL:
            assert value.lower() not in text.lower(), value
    missing = client.get("/api/v1/reports/4242", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["errors"][0]["field"] == "id"


def test_exercise_reports_are_left_out_of_the_list(app, db, client, bearer, make_report):
    exercise = open_activation(db, ActivationOpen(title="Plūdu mācības", kind="exercise"), None)
    service.create_report(db, app.extensions["sargs"].settings, ReportIn(
        category="hydro", description="Mācību ziņojums", address="Lielupes krastmala"),
        activation_id=exercise.id)
    db.commit()
    real = make_report()
    body = client.get("/api/v1/reports", headers=bearer("reports:read")).get_json()
    assert (body["total"], [r["id"] for r in body["reports"]]) == (1, [real.id])


# --- partners ----------------------------------------------------------------


def test_a_partner_works_a_report_through_its_api(app, db, client, bearer, make_report):
    report_id = _routed(app, db, make_report, **CONTACT)
    other_id = _routed(app, db, make_report, category="waste", description="Pilns konteiners")
    jvpi = _partner_token(app, "jvpi")
    try:
        assert db.query(CadPartner).filter_by(code="jvpi").one().api_token_hash not in (
            None, jvpi["Authorization"].split()[1])
    finally:
        db.rollback()

    listed = client.get("/api/v1/partner/reports", headers=jvpi)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.get_json()["reports"]] == [report_id]
    one = client.get(f"/api/v1/partner/reports/{report_id}", headers=jvpi)
    assert one.get_json()["description"] == "Bedre brauktuvē"
    for response in (listed, one):
        for value in PERSONAL:
            assert value.lower() not in response.get_data(as_text=True).lower(), value

    def act(**body: Any) -> Any:
        return client.post(f"/api/v1/partner/reports/{report_id}/actions", json=body,
                           headers=jvpi)

    accepted = act(action="accept", note="Brauksim rīt")
    assert accepted.status_code == 200 and accepted.get_json()["state"] == "accepted"
    planned = act(action="plan", planned_for="2026-11-27")
    assert planned.get_json()["planned_for"] == "2026-11-27"
    assert _state(db, report_id) == ("accepted", "2026-11-27")
    resolved = act(action="resolve", note="Bedre aizlāpīta")
    assert resolved.status_code == 200
    assert _state(db, report_id)[0] == "resolved"

    # Closed for everyone: no longer on the partner's list, closed in Open311 with the note.
    assert client.get("/api/v1/partner/reports", headers=jvpi).get_json()["reports"] == []
    (request_row,) = client.get(f"/open311/v2/requests/{report_id}.json").get_json()
    assert (request_row["status"], request_row["status_notes"]) == ("closed", "Bedre aizlāpīta")
    timeline = client.get(f"/api/v1/reports/{report_id}", headers=bearer("reports:read")
                          ).get_json()["timeline"]
    by_partner = [(e["kind"], e["note"]) for e in timeline if e["actor_kind"] == "partner"]
    assert by_partner == [("accepted", "Brauksim rīt"), ("planned", ""),
                          ("resolved", "Bedre aizlāpīta")]
    assert {e["actor_name"] for e in timeline if e["actor_kind"] == "partner"} == {
        'JVPI "Pilsētsaimniecība"'}

    again = act(action="accept")
    assert again.status_code == 409 and again.get_json()["errors"][0]["field"] == "action"
    assert _state(db, other_id)[0] == "routed"


def test_bad_actions_are_422_and_change_nothing(app, db, client, make_report):
    report_id = _routed(app, db, make_report)
    jvpi = _partner_token(app, "jvpi")
    url = f"/api/v1/partner/reports/{report_id}/actions"
    for body, field in (({"action": "reject"}, "note"), ({"action": "plan"}, "planned_for"),
                        ({"action": "demolish"}, "action"),
                        ({"action": "plan", "planned_for": "soon"}, "planned_for")):
        response = client.post(url, json=body, headers=jvpi)
        assert response.status_code == 422
        assert [e["field"] for e in response.get_json()["errors"]] == [field]
    bad_json = client.post(url, data="{not json", headers={**jvpi, "Content-Type":
                                                            "application/json"})
    assert bad_json.status_code == 422
    assert _state(db, report_id) == ("routed", None)


def test_another_partners_token_sees_and_changes_nothing(app, db, client, make_report):
    report_id = _routed(app, db, make_report)
    police = _partner_token(app, "police")
    assert client.get(f"/api/v1/partner/reports/{report_id}", headers=police).status_code == 404
    refused = client.post(f"/api/v1/partner/reports/{report_id}/actions",
                          json={"action": "resolve", "note": "Nav mūsu"}, headers=police)
    assert refused.status_code == 404
    assert client.get("/api/v1/partner/reports", headers=police).get_json()["reports"] == []
    assert _state(db, report_id) == ("routed", None)


def test_partner_tokens_are_required_rotated_and_revoked(app, db, client, bearer,
                                                         make_report):
    path = "/api/v1/partner/reports"
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer cadp_guess"}).status_code == 401
    # An API token is not a partner token.
    assert client.get(path, headers=bearer("reports:read")).status_code == 401
    first = _partner_token(app, "jvpi")
    assert client.get(path, headers=first).status_code == 200
    second = _partner_token(app, "jvpi")
    assert client.get(path, headers=first).status_code == 401
    assert client.get(path, headers=second).status_code == 200
    revoked = _sargs(app, "cad", "partner-token", "jvpi", "--revoke")
    assert revoked.exit_code == 0, revoked.output
    assert client.get(path, headers=second).status_code == 401
    unknown = _sargs(app, "cad", "partner-token", "nobody")
    assert unknown.exit_code != 0 and "nobody" in unknown.output
