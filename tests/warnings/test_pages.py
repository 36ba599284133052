"""The warnings pages as the commission and the duty operator use them: a red warning
for Jelgava with its validity in Riga time, the alert it raised and how fast it went
out, the raw CAP of each version, the sources' health, and the escalation policies
an admin edits (and nobody else may)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from sargs import clock
from sargs.audit.models import AuditEntry
from sargs.channels.models import Alert, Delivery
from sargs.warnings.models import EscalationPolicy, WarningSource, WeatherWarning
from tests.channels.engine_helpers import exercise_activation, resident
from tests.conftest import START
from tests.kernel.helpers import field_has_error, post_form, redirects_to, rows
from tests.warnings.lvgmc import RIGA_WINTER, Doc

RED = Doc(301, START.astimezone(RIGA_WINTER), level=4, areas=("LV022",))
ATTRIBUTION = "LVĢMC (bridinajumi.meteo.lv), meteoalarm.org"


@dataclass(frozen=True)
class Ingested:
    id: int
    version_id: int


@pytest.fixture
def red_warning(db, feed) -> Ingested:
    """A red wind warning for the city, with a resident who asked for red alerts."""
    resident(db, "Anna", "+37120000001", areas=("LV022",), levels=("red",))
    db.commit()
    assert feed(RED).new == 1
    return _ingested(db)


def _ingested(db) -> Ingested:
    """The one warning's ids; the read ends its transaction (SQLite's write lock)."""
    try:
        warning = db.scalars(select(WeatherWarning)).one()
        return Ingested(warning.id, warning.versions[0].id)
    finally:
        db.rollback()


def _alert_id(db) -> int:
    try:
        return db.scalars(select(Alert.id).where(Alert.source == "warning")).one()
    finally:
        db.rollback()


def _text(html: str) -> str:
    """The page's words, tags left out, spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_list_shows_level_type_riga_validity_home_attribution_and_the_alert(
        client, users, red_warning, db):
    users.signed_in(client, "olga", "operator")
    page = client.get("/warnings/").get_data(as_text=True)
    row = page.split('data-testid="warning-row"')[1].split("</tr>")[0]
    assert 'data-level="red"' in row and 'data-type="wind"' in row
    # Onset 15:00 and expiry 06:00 in Riga, stored as 13:00 and 04:00 UTC.
    assert "24.11.2026 15:00–25.11.2026 06:00" in _text(row)
    assert 'data-testid="affects-home"' in row and "Jelgavas pilsēta" in row
    attribution = _text(row.split('data-testid="attribution">')[1].split("</small>")[0])
    assert ATTRIBUTION in attribution and "24.11.2026 12:00" in attribution  # issued 10:00 UTC
    assert re.search(r'data-testid="versions">\s*1\s*<', row)
    assert 'data-state="active"' in row
    assert f'href="/channels/{_alert_id(db)}"' in row
    # The map gets the warning's polygon, coloured by its level, over the home outlines.
    shapes = page.split('id="warnings-shapes">')[1].split("</script>")[0]
    assert '"role": "home"' in shapes and '"level": "red"' in shapes

    ended = client.get("/warnings/?state=ended").get_data(as_text=True)
    assert 'data-testid="no-warnings"' in ended
    assert client.get("/warnings/?state=bogus").status_code == 400


def test_the_detail_shows_both_languages_versions_notices_and_time_to_first_delivery(
        client, users, red_warning, db, frozen_clock):
    alert_id = _alert_id(db)
    # The warning was issued at 10:00 UTC; the first message reaches its provider 42 s later.
    frozen_clock.advance(timedelta(seconds=42))
    db.execute(update(Delivery).where(Delivery.alert_id == alert_id)
               .values(state="sent", sent_at=clock.now()))
    db.commit()
    users.signed_in(client, "karlis", "commission")
    page = client.get(f"/warnings/{red_warning.id}").get_data(as_text=True)
    lv = _text(page.split('data-testid="text-lv"')[1].split("</article>")[0])
    en = _text(page.split('data-testid="text-en"')[1].split("</article>")[0])
    assert "Sarkanais vēja brīdinājums" in lv and "Jelgava: gaidāmas vēja brāzmas" in lv
    assert "Red Wind Warning" in en and "gusts up to 25 m/s" in en
    assert 'data-level="red"' in page and "24.11.2026 15:00–25.11.2026 06:00" in _text(page)
    assert ATTRIBUTION in page
    versions = page.split('data-testid="versions"')[1].split("</table>")[0]
    assert RED.identifier in versions and "Alert" in versions
    assert 'data-testid="raw-cap"' in versions
    notice = page.split('data-testid="notice"')[1].split("</tr>")[0]
    assert 'data-state="sent"' in page and f'href="/channels/{alert_id}"' in notice
    first = page.split(f'data-testid="first-delivery-{alert_id}">')[1].split("</td>")[0]
    assert first.strip() == "42 s"
    assert 'id="warnings-shapes"' in page


def test_the_raw_cap_of_a_version_downloads_as_received(client, users, red_warning, db):
    path = f"/warnings/versions/{red_warning.version_id}.xml"
    assert redirects_to(client.get(path), "/login")
    users.signed_in(client, "ilze", "shelter_staff")
    response = client.get(path)
    assert response.status_code == 200
    assert response.content_type == "application/cap+xml"
    assert response.data == RED.xml()
    assert client.get("/warnings/versions/9999.xml").status_code == 404


def test_exercise_warnings_never_appear(client, users, db, feed):
    activation = exercise_activation(db)
    db.commit()
    feed(Doc(302, START.astimezone(RIGA_WINTER), level=4), activation_id=activation.id)
    drill = _ingested(db)
    users.signed_in(client, "olga", "operator")
    assert 'data-testid="warning-row"' not in client.get("/warnings/?state=all").get_data(
        as_text=True)
    assert client.get(f"/warnings/{drill.id}").status_code == 404
    assert client.get(f"/warnings/versions/{drill.version_id}.xml").status_code == 404


def test_a_stale_source_shows_as_stale_with_its_last_good_fetch(app, client, users, db):
    fresh, old = "http://127.0.0.1:9/fresh.atom", "http://127.0.0.1:9/old.atom"
    ext = app.extensions["sargs"]
    ext.settings = ext.settings.model_copy(update={"feed_urls": [fresh, old]})
    db.add_all([
        WarningSource(url=fresh, failures=0, last_success_at=clock.now()),
        WarningSource(url=old, failures=4, last_error="HTTP 503",
                      last_success_at=clock.now() - timedelta(hours=2)),
    ])
    db.commit()
    users.signed_in(client, "olga", "operator")
    page = client.get("/warnings/").get_data(as_text=True)
    found = {url: page.split(f'data-url="{url}"')[1].split("</tr>")[0] for url in (fresh, old)}
    assert 'data-testid="stale"' not in found[fresh]
    assert 'data-testid="stale"' in found[old] and "HTTP 503" in found[old]
    assert "24.11.2026 10:00:00" in found[old]  # two hours before 12:00 Riga


def test_who_may_open_what(client, users, red_warning):
    for path in ("/warnings/", f"/warnings/{red_warning.id}", "/warnings/policies"):
        assert redirects_to(client.get(path), "/login"), path
    users.signed_in(client, "ilze", "shelter_staff")
    assert client.get("/warnings/").status_code == 200
    assert client.get(f"/warnings/{red_warning.id}").status_code == 200
    assert client.get("/warnings/policies").status_code == 403


def _red_form(**changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "name": "red", "level": "red", "awareness_type": "", "area": "",
        "groups": ["commission", "duty-officers"], "public": "on",
        "channels": ["sms", "telegram"], "ack_groups": "commission-chair, duty-officers",
        "ack_minutes": "3", "ack_rounds": "2", "ack_channels": ["voice"],
    }
    form.update(changes)
    return form


def _current(db, name: str) -> EscalationPolicy:
    """The current version of a policy, detached: the read ends its transaction."""
    try:
        policy = db.scalars(select(EscalationPolicy).where(
            EscalationPolicy.name == name, EscalationPolicy.current.is_(True))).one()
        db.expunge(policy)
        return policy
    finally:
        db.rollback()


def test_the_auditor_reads_the_policies_but_cannot_change_them(client, users, db):
    users.signed_in(client, "aija", "auditor")
    page = client.get("/warnings/policies").get_data(as_text=True)
    assert 'data-name="red"' in page and 'id="policy-form"' not in page
    assert post_form(client, "/warnings/policies", _red_form()).status_code == 403
    assert _current(db, "red").version == 1


def test_the_admin_edits_a_policy_into_version_2(client, users, db):
    admin = users.signed_in(client, "anna", "admin")
    response = post_form(client, "/warnings/policies", _red_form())
    assert redirects_to(response, "/warnings/policies")
    red = _current(db, "red")
    assert (red.version, red.channels, red.created_by_id) == (2, ["sms", "telegram"], admin.id)
    assert red.ack_chain == {"groups": ["commission-chair", "duty-officers"], "minutes": 3,
                             "rounds": 2, "channels": ["voice"]}
    assert red.audience == {"groups": ["commission", "duty-officers"], "public": True}
    page = client.get("/warnings/policies?edit=red").get_data(as_text=True)
    assert 'data-name="red" data-version="2"' in page
    history = page.split('data-testid="history-red"')[1].split("</details>")[0]
    assert history.count("<tr>") == 3  # the header and two versions
    audited = rows(db, select(AuditEntry.object_type).where(AuditEntry.actor_id == admin.id))
    assert "escalation_policy" in audited


@pytest.mark.parametrize(("changes", "field"), [
    ({"channels": []}, "channels"),
    ({"channels": ["fax"]}, "channels"),
    ({"level": "purple"}, "level"),
    ({"ack_minutes": ""}, "ack_minutes"),
    ({"ack_minutes": "500"}, "ack_minutes"),
    ({"groups": ["no-such-group"]}, "groups"),
    ({"groups": [], "public": "", "ack_groups": ""}, "groups"),
    ({"area": "LV999"}, "area"),
    ({"awareness_type": "11"}, "awareness_type"),
])
def test_bad_policy_input_shows_the_error_next_to_the_field(client, users, db, changes, field):
    users.signed_in(client, "anna", "admin")
    form = _red_form(**changes)
    if form.get("public") == "":
        del form["public"]
    response = post_form(client, "/warnings/policies", form)
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), field)
    assert _current(db, "red").version == 1


def test_a_sea_warning_given_by_area_code_is_drawn_with_that_area_outline(client, users, feed):
    sea = Doc(303, START.astimezone(RIGA_WINTER), level=3, areas=("LV801",))
    assert feed(sea).new == 1
    users.signed_in(client, "olga", "operator")
    page = client.get("/warnings/").get_data(as_text=True)
    shapes = json.loads(page.split('id="warnings-shapes">')[1].split("</script>")[0])
    drawn = [f["properties"] for f in shapes["features"] if f["properties"]["role"] == "warning"]
    assert [(p["code"], p["level"]) for p in drawn] == [("LV801", "orange")]
    assert all(f["geometry"]["coordinates"] for f in shapes["features"])
    assert 'data-testid="affects-home"' not in page
