"""The alert pages through the test client: the manual-alert form and its
preview, the approval queue with a fresh second factor, sending, live
progress, cancelling, the ledger and its export."""

from __future__ import annotations

import csv
import io
import re

import pyotp
import pytest
from sqlalchemy import select

from sargs import clock
from sargs.audit.models import AuditEntry
from sargs.channels import alerts, ledger
from sargs.channels.models import Alert, Delivery
from tests.channels.engine_helpers import (
    commission_member,
    exercise_activation,
    public_orange,
    resident,
)
from tests.kernel.helpers import field_has_error, post_form, rows

LV_TEXT = ("Uzmanību! Stiprs vējš Jelgavā, nepietuviniet kokiem un elektrolīnijām. "
           "Sekojiet ziņām radio un LTV. ")[:100]
FORM = {
    "cap_status": "Actual", "level": "orange",
    "text_lv": "Oranžais brīdinājums: stiprs vējš Jelgavā.",
    "text_en": "Orange warning: strong wind in Jelgava.",
    "groups": ["commission"], "areas": ["LV022"],
    "channels": ["telegram", "sms", "voice"], "expires_at": "",
}


def _people(db):
    """Two residents in the city and one commission member; committed."""
    resident(db, "Ilze", "+37120000001", telegram="5001")
    resident(db, "John", "+37120000002", language="en")
    commission_member(db, "Kārlis", "+37120000003", "7001")
    db.commit()
    db.close()


def _alert(db, alert_id):
    try:
        return db.get(Alert, alert_id)
    finally:
        db.expunge_all()
        db.close()


def _states(db, alert_id):
    found = rows(db, select(Delivery).where(Delivery.alert_id == alert_id))
    return {(d.channel, d.address): (d.state, d.hold_reason) for d in found}


def _testid(page, testid, attribute):
    match = re.search(rf'data-testid="{re.escape(testid)}"[^>]*?{attribute}="([^"]*)"', page)
    assert match, f"no {testid} with {attribute} on the page"
    return match.group(1)


def _alert_id(response):
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def _approve(client, user, alert_id):
    code = pyotp.TOTP(user.totp_secret).at(clock.now())
    return post_form(client, f"/channels/{alert_id}/approve", {"code": code})


def test_a_public_alert_goes_through_the_queue_is_sent_and_cancelled(
        app, db, users, frozen_clock, monkeypatch):
    _people(db)
    monkeypatch.setattr(app.extensions["sargs"].settings, "telegram_bot_token", "1:test")
    operator, commission = app.test_client(), app.test_client()
    author = users.signed_in(operator, "olga", "operator")
    karlis = users.signed_in(commission, "karlis", "commission")

    alert_id = _alert_id(post_form(operator, "/channels/new", FORM))
    alert = _alert(db, alert_id)
    assert alert.state == "awaiting_approval" and alert.created_by_id == author.id
    assert [t.language for t in alert.texts] == ["lv", "en"]

    frozen_clock.advance(minutes=5)
    queue = commission.get("/channels/approvals")
    assert queue.status_code == 200
    page = queue.get_data(as_text=True)
    assert f'data-alert-id="{alert_id}"' in page
    assert _testid(page, "waiting", "data-minutes") == "5"

    # the author is refused, and nothing changes
    assert operator.get("/channels/approvals").status_code == 403
    assert post_form(operator, f"/channels/{alert_id}/approve", {"code": "123456"}).status_code == 403
    assert post_form(operator, f"/channels/{alert_id}/send").status_code == 302
    assert _alert(db, alert_id).state == "awaiting_approval"

    # a wrong code is refused; a valid code from the commission member approves
    wrong = post_form(commission, f"/channels/{alert_id}/approve", {"code": "000000"})
    assert wrong.status_code == 422 and field_has_error(wrong.get_data(as_text=True), "code")
    assert _alert(db, alert_id).state == "awaiting_approval"
    assert _approve(commission, karlis, alert_id).status_code == 302
    approved = _alert(db, alert_id)
    assert approved.state == "approved" and approved.approved_by_id == karlis.id

    detail = operator.get(f"/channels/{alert_id}").get_data(as_text=True)
    assert 'data-testid="send"' in detail
    assert post_form(operator, f"/channels/{alert_id}/send").status_code == 302
    assert _alert(db, alert_id).state == "sending"
    assert _states(db, alert_id) == {
        ("telegram", "5001"): ("pending", None),
        ("sms", "+37120000002"): ("held", "channel_not_configured"),
        ("voice", "+37120000003"): ("held", "channel_not_configured"),
        ("telegram", "7001"): ("pending", None),
    }

    # a provider delivers one message and refuses another
    with app.extensions["sargs"].sessionmaker() as session:
        first, second = session.scalars(select(Delivery).where(Delivery.channel == "telegram")
                                         .order_by(Delivery.id))
        frozen_clock.advance(seconds=3)
        ledger.move(session, first.id, "claimed")
        ledger.move(session, first.id, "delivered", provider_id="tg-1")
        ledger.move(session, second.id, "claimed")
        ledger.move(session, second.id, "failed", last_error="403 Forbidden: bot was blocked")
        session.commit()

    fragment = operator.get(f"/channels/{alert_id}/progress")
    assert fragment.status_code == 200
    part = fragment.get_data(as_text=True)
    assert "hx-get" in part and 'hx-trigger="every 2s"' in part  # polls while sending
    assert _testid(part, "progress", "data-total") == "4"
    assert _testid(part, "progress", "data-delivered") == "1"
    assert re.search(r'data-testid="count-telegram-delivered">1<', part)
    assert re.search(r'data-testid="count-telegram-failed">1<', part)
    assert re.search(r'data-testid="count-sms-held">1<', part)
    assert 'data-testid="not-configured-sms"' in part and 'data-testid="not-configured-voice"' in part
    assert 'data-testid="not-configured-telegram"' not in part
    assert "bot was blocked" in part
    assert re.search(r'data-testid="time-to-50">[^<]*3 s<', part)  # 2 of 4 rows final after 3 s
    assert operator.get(f"/channels/{alert_id}").status_code == 200

    # one click cancels; nothing held or pending is sent any more
    assert post_form(operator, f"/channels/{alert_id}/cancel").status_code == 302
    assert _alert(db, alert_id).state == "cancelled"
    states = {state for state, _ in _states(db, alert_id).values()}
    assert states == {"delivered", "failed", "cancelled"}
    assert "hx-get" not in operator.get(f"/channels/{alert_id}/progress").get_data(as_text=True)


def test_the_author_cannot_approve_even_as_a_commission_member(app, db, users, frozen_clock):
    _people(db)
    client = app.test_client()
    author = users.signed_in(client, "karlis", "commission")
    alert_id = _alert_id(post_form(client, "/channels/new", FORM))
    frozen_clock.advance(minutes=2)
    page = client.get(f"/channels/{alert_id}").get_data(as_text=True)
    assert 'data-testid="approve-disabled"' in page and 'data-testid="approve"' not in page
    assert 'data-testid="approve-disabled"' in client.get("/channels/approvals").get_data(as_text=True)
    refused = _approve(client, author, alert_id)
    assert refused.status_code == 403
    assert 'data-testid="approval-error"' in refused.get_data(as_text=True)
    assert _alert(db, alert_id).state == "awaiting_approval"


def test_an_alert_to_staff_only_is_approved_at_once_and_can_be_sent(app, db, users):
    _people(db)
    client = app.test_client()
    users.signed_in(client, "olga", "operator")
    form = {**FORM, "areas": [], "channels": ["telegram", "voice"]}
    alert_id = _alert_id(post_form(client, "/channels/new", form))
    assert _alert(db, alert_id).state == "approved"
    assert 'data-testid="send"' in client.get(f"/channels/{alert_id}").get_data(as_text=True)
    assert post_form(client, f"/channels/{alert_id}/send").status_code == 302
    assert set(_states(db, alert_id)) == {("telegram", "7001"), ("voice", "+37120000003")}
    assert 'data-testid="alert-row"' in client.get("/channels/").get_data(as_text=True)


@pytest.mark.parametrize("change, field", [
    ({"text_lv": "", "text_en": "  "}, "text_lv"),
    ({"channels": []}, "channels"),
    ({"level": "purple"}, "level"),
    ({"expires_at": "2026-11-24T11:00"}, "expires_at"),  # 09:00 UTC, the clock says 10:00
    ({"groups": [], "areas": []}, "areas"),
    ({"areas": ["LV039"]}, "areas"),
])
def test_bad_input_is_refused_next_to_the_field(app, db, users, change, field):
    _people(db)
    client = app.test_client()
    users.signed_in(client, "olga", "operator")
    response = post_form(client, "/channels/new", {**FORM, **change})
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), field)
    assert rows(db, select(Alert)) == []


def test_an_expiry_in_the_future_is_kept_in_utc(app, db, users):
    _people(db)
    client = app.test_client()
    users.signed_in(client, "olga", "operator")
    alert_id = _alert_id(post_form(client, "/channels/new", {**FORM, "expires_at": "2026-11-24T18:30"}))
    assert _alert(db, alert_id).expires_at.isoformat() == "2026-11-24T16:30:00+00:00"


def test_the_preview_counts_segments_and_the_time_to_reach_everyone(app, db, users):
    _people(db)
    client = app.test_client()
    users.signed_in(client, "olga", "operator")
    assert len(LV_TEXT) == 100
    response = post_form(client, "/channels/new/preview",
                         {**FORM, "text_lv": LV_TEXT, "channels": ["sms", "telegram"]})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _testid(page, "segments-lv", "data-segments") == "2"
    assert _testid(page, "encoding-lv", "data-encoding") == "UCS-2"
    assert _testid(page, "encoding-en", "data-encoding") == "GSM-7"
    # Ilze by Telegram (her first choice), John by SMS (in English, 1 segment),
    # the commission member by Telegram only (no SMS address)
    assert _testid(page, "estimate-telegram", "data-recipients") == "2"
    assert _testid(page, "estimate-sms", "data-recipients") == "1"
    assert _testid(page, "estimate-sms", "data-seconds") == "1"
    drill = post_form(client, "/channels/new/preview", {**FORM, "cap_status": "Test"})
    assert "TESTS: Oranžais" in drill.get_data(as_text=True)
    assert client.get("/channels/new").status_code == 200


def test_an_exercise_alert_shows_the_banner(app, db, users):
    author = users.create("olga", "operator")
    participant = resident(db, "Dalībniece", "+37120000011")
    activation = exercise_activation(db)
    drill = alerts.create_alert(db, public_orange(
        cap_status="Exercise", activation_id=activation.id,
        audience={"contacts": [participant.id]}), author.id)
    real = alerts.create_alert(db, public_orange(), author.id)
    ids = drill.id, real.id
    db.commit()
    db.close()
    client = app.test_client()
    users.signed_in(client, "auditor", "auditor")
    page = client.get(f"/channels/{ids[0]}").get_data(as_text=True)
    assert 'class="exercise-banner" data-testid="drill-banner"' in page
    assert "MĀCĪBAS:" in page
    assert 'data-testid="drill-banner"' not in client.get(f"/channels/{ids[1]}").get_data(as_text=True)


def _sent_alert(db, users):
    author = users.create("olga", "operator")
    commission_member(db, "Kārlis", "+37120000021", "7021")
    commission_member(db, "Anna", "+37120000022", "7022")
    alert = alerts.create_alert(db, public_orange(audience={"groups": ["commission"]}), author.id)
    alerts.submit(db, alert, author.id)
    alerts.start_sending(db, alert, {"telegram"})
    alert_id = alert.id
    db.commit()
    db.close()
    return alert_id


def test_the_ledger_is_searchable_masked_and_exported_with_an_audit_entry(app, db, users):
    alert_id = _sent_alert(db, users)
    client = app.test_client()
    users.signed_in(client, "karlis", "commission")
    page = client.get(f"/channels/{alert_id}/ledger").get_data(as_text=True)
    assert page.count('data-testid="delivery"') == 4
    assert "+37120000021" not in page and "*********021" in page  # masked for the commission
    voice = client.get(f"/channels/{alert_id}/ledger?channel=voice&state=held").get_data(as_text=True)
    assert voice.count('data-testid="delivery"') == 2
    one = client.get(f"/channels/{alert_id}/ledger?address=7022").get_data(as_text=True)
    assert one.count('data-testid="delivery"') == 1
    assert client.get(f"/channels/{alert_id}/ledger?state=purple").status_code == 400

    export = client.get(f"/channels/{alert_id}/ledger.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(table) == 4
    assert {(r["channel"], r["state"]) for r in table} == {("telegram", "pending"),
                                                           ("voice", "held")}
    entries = rows(db, select(AuditEntry).where(AuditEntry.action == "export",
                                                AuditEntry.object_type == "delivery"))
    assert len(entries) == 1 and entries[0].after["rows"] == 4


def test_an_auditor_reads_everything_and_changes_nothing(app, db, users):
    alert_id = _sent_alert(db, users)
    client = app.test_client()
    users.signed_in(client, "ines", "auditor")
    for path in ("/channels/", f"/channels/{alert_id}", f"/channels/{alert_id}/progress",
                 f"/channels/{alert_id}/ledger"):
        assert client.get(path).status_code == 200, path
    export = client.get(f"/channels/{alert_id}/ledger.csv")
    assert export.status_code == 200 and "+37120000021" in export.get_data(as_text=True)
    for path in (f"/channels/{alert_id}/cancel", f"/channels/{alert_id}/send", "/channels/new",
                 f"/channels/{alert_id}/approve", "/channels/new/preview"):
        assert post_form(client, path).status_code == 403, path
    assert client.get("/channels/new").status_code == 403
    assert _alert(db, alert_id).state == "sending"


@pytest.mark.parametrize(("cap_status", "text_lv", "said"), [
    ("Actual", "Vējš\x07 Jelgavā.", "vadības rakstzīmes"),
    ("Exercise", "Tās nav mācības! Dodieties uz patvertni.", "uzdod par reālu notikumu"),
])
def test_a_refused_text_says_which_rule_it_broke(app, db, users, cap_status, text_lv, said):
    _people(db)
    client = app.test_client()
    users.signed_in(client, "olga", "operator")
    form = {**FORM, "cap_status": cap_status, "text_lv": text_lv, "areas": [],
            "channels": ["telegram"]}
    if cap_status == "Exercise":
        form["activation_id"] = str(_exercise(db))
    response = post_form(client, "/channels/new", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and field_has_error(page, "text_lv")
    assert said in page
    assert rows(db, select(Alert)) == []


def _exercise(db):
    try:
        return exercise_activation(db).id
    finally:
        db.commit()
        db.close()


def test_a_manual_alert_can_name_the_open_shelters_in_its_areas(app, db, users):
    from sargs.activations.schemas import ActivationOpen
    from sargs.activations.service import open_activation
    from sargs.shelters import service as shelters
    from sargs.shelters.schemas import ShelterIn

    shelter = shelters.create_shelter(db, ShelterIn(
        name="Jelgavas Valsts ģimnāzija", address="Mātera iela 44", lat=56.6511, lon=23.7214,
        capacity=120))
    emergency = open_activation(db, ActivationOpen(title="Vētra Zemgalē", kind="emergency"),
                                by_user_id=None)
    shelters.open_shelter(db, shelter, emergency.id, notify=False)
    db.commit()
    db.close()
    client = app.test_client()
    users.signed_in(client, "olga", "operator")

    alert_id = _alert_id(post_form(client, "/channels/new", {**FORM, "shelter_guidance": "on"}))
    bodies = {t.language: t.body for t in _alert(db, alert_id).texts}
    assert bodies["lv"].startswith(FORM["text_lv"])
    assert "Jelgavas Valsts ģimnāzija" in bodies["lv"] and "/public/shelters" in bodies["lv"]
    assert "Jelgavas Valsts ģimnāzija" in bodies["en"]

    plain = _alert_id(post_form(client, "/channels/new", FORM))
    assert {t.body for t in _alert(db, plain).texts} == {FORM["text_lv"], FORM["text_en"]}
