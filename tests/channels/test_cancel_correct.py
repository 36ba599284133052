"""Cancel and Correct after an alert went partly out: what each phone and chat
ends with, through the SMS and Telegram simulators; and the alert page's
one-click buttons with their confirm step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sargs import clock
from sargs.channels import alerts, notices
from sargs.channels.contacts import register_contact
from sargs.channels.dispatcher import drain
from sargs.channels.models import Alert, Delivery
from tests.channels.adapters_helpers import Wired, drain_paced, wait_until
from tests.channels.engine_helpers import exercise_activation, public_orange, resident
from tests.kernel.helpers import post_form

LV = "Oranžais brīdinājums: stiprs vējš Jelgavā."
EN = "Orange warning: strong wind in Jelgava."
# (name, phone, language, telegram chat) in the order their ledger rows are written
PEOPLE = [
    ("John", "+37120000701", "en", None),
    ("Ilze", "+37120000702", "lv", 7702),
    ("Pēteris", "+37120000703", "lv", None),
    ("Anna", "+37120000704", "lv", 7704),
    ("Māra", "+37120000705", "lv", None),
]
TOLD = {("sms", "+37120000701"), ("telegram", "7702")}  # the first row of each channel


def _received(sim, telegram) -> dict[tuple[str, str], list[str]]:
    got: dict[tuple[str, str], list[str]] = {}
    for _name, phone, _language, chat in PEOPLE:
        if chat is None:
            got[("sms", phone)] = [m["body"] for m in sim.phones.of(phone)]
        else:
            got[("telegram", str(chat))] = [m["text"] for m in telegram.chats.of(chat)]
    return got


def _half_sent(wiring: Wired, users, telegram, **changes: Any) -> int:
    """An orange public alert to 3 SMS and 2 Telegram residents; one row per channel sent,
    the others still pending (they would be due on the next drain)."""
    author, approver = users.create("olga", "operator"), users.create("karlis", "commission")
    with wiring.sessions() as db:
        for name, phone, language, chat in PEOPLE:
            resident(db, name, phone, language=language,
                     telegram=str(chat) if chat else None)
            if chat:
                telegram.add_chat(chat)
        draft = public_orange(audience={"public": {"areas": ["LV022"]}},
                              channels=["telegram", "sms"], **changes)
        alert = alerts.create_alert(db, draft, author.id)
        alerts.submit(db, alert, author.id)
        if alert.state == "awaiting_approval":
            alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
        alerts.start_sending(db, alert, set(wiring.adapters))
        alert_id = alert.id
        # The others wait a few seconds (as after a provider's "slow down"): still pending.
        for row in db.scalars(select(Delivery).where(Delivery.alert_id == alert_id)):
            if (row.channel, row.address) not in TOLD:
                row.due_at = clock.now() + timedelta(seconds=3)
        db.commit()
    drain(wiring.dispatcher())
    with wiring.sessions() as db:
        states = {(d.channel, d.address): d.state
                  for d in db.scalars(select(Delivery).where(Delivery.alert_id == alert_id))}
    assert {key for key, state in states.items() if state != "pending"} == TOLD, states
    return alert_id


def _drain_all(wiring: Wired, frozen) -> None:
    """Send everything due, then wait until each SMS handed over reached its phone."""
    drain_paced(wiring, frozen, rounds=5)
    drain(wiring.dispatcher())
    assert wait_until(lambda: all(d.state != "sent" for d in _rows(wiring))), \
        [(d.alert_id, d.channel, d.state) for d in _rows(wiring)]


def _rows(wiring: Wired) -> list[Delivery]:
    with wiring.sessions() as db:
        found = list(db.scalars(select(Delivery)))
        db.expunge_all()
        return found


def test_cancel_stops_pending_rows_and_tells_exactly_those_already_told(
        wiring, sim, telegram, users, frozen_clock):
    alert_id = _half_sent(wiring, users, telegram)
    with wiring.sessions() as db:
        outcome = notices.cancel(db, db.get(Alert, alert_id), None,
                                 configured=set(wiring.adapters), note="kļūdaini")
        db.commit()
        assert outcome.stopped == 3 and outcome.deliveries == 2
        notice_id = outcome.follow_up.id

    _drain_all(wiring, frozen_clock)

    got = _received(sim, telegram)
    assert got[("sms", "+37120000701")] == [
        EN, "CANCELLED: the alert \u201cOrange warning: strong wind in Jelgava.\u201d is "
            "withdrawn and no longer in force."]
    assert got[("telegram", "7702")] == [
        LV, "ATCELTS: brīdinājums „Oranžais brīdinājums: stiprs vējš Jelgavā.” ir atsaukts "
            "un vairs nav spēkā."]
    for key in set(got) - TOLD:  # the pending ones never reach a phone or a chat
        assert got[key] == [], key
    with wiring.sessions() as db:
        original, notice = db.get(Alert, alert_id), db.get(Alert, notice_id)
        assert original.state == "cancelled"
        assert (notice.msg_type, notice.references_id) == ("Cancel", alert_id)
        assert notice.state in ("sending", "done")  # done once the last receipt came
        assert not notice.requires_approval
        assert notice.priority == max(alerts.PRIORITY.values())  # ahead of other queues
        targets = {(d.channel, d.address) for d in db.scalars(
            select(Delivery).where(Delivery.alert_id == notice_id))}
        assert targets == TOLD


def test_a_second_follow_up_of_the_same_alert_is_refused(wiring, telegram, users, frozen_clock):
    alert_id = _half_sent(wiring, users, telegram)
    with wiring.sessions() as db:
        notices.cancel(db, db.get(Alert, alert_id), None, configured=set(wiring.adapters))
        db.commit()
        with pytest.raises(alerts.AlertError) as refused:
            notices.cancel(db, db.get(Alert, alert_id), None, configured=set(wiring.adapters))
        assert refused.value.field == "follow_up"
        with pytest.raises(alerts.AlertError) as refused:
            notices.correct(db, db.get(Alert, alert_id), {"lv": "Labots."}, None,
                            configured=set(wiring.adapters))
        assert refused.value.field == "follow_up"


def test_correct_leaves_everyone_with_the_corrected_text_only(
        wiring, sim, telegram, users, frozen_clock):
    alert_id = _half_sent(wiring, users, telegram)
    author = users.create("inga", "operator")
    approver = users.create("dace", "commission")
    with wiring.sessions() as db:
        outcome = notices.correct(
            db, db.get(Alert, alert_id),
            {"lv": "Dzeltenais brīdinājums: vējš Jelgavā.", "en": "Yellow warning: wind."},
            author.id, configured=set(wiring.adapters))
        db.commit()
        fixed = outcome.follow_up
        # A correction of a public Actual alert is a new public message: two people.
        assert fixed.state == "awaiting_approval" and outcome.deliveries == 0
        fixed_id = fixed.id
    # Meanwhile the wrong text is stopped.
    _drain_all(wiring, frozen_clock)
    assert {k for k, v in _received(sim, telegram).items() if v} == TOLD
    with wiring.sessions() as db:
        fixed = db.get(Alert, fixed_id)
        alerts.approve(db, fixed, approver.id, {"commission"}, clock.now())
        alerts.start_sending(db, fixed, set(wiring.adapters))
        db.commit()

    _drain_all(wiring, frozen_clock)

    got = _received(sim, telegram)
    assert got[("sms", "+37120000701")] == [EN, "CORRECTION: Yellow warning: wind."]
    assert got[("telegram", "7702")] == [LV, "LABOJUMS: Dzeltenais brīdinājums: vējš Jelgavā."]
    for key in set(got) - TOLD:
        assert got[key] == ["LABOJUMS: Dzeltenais brīdinājums: vējš Jelgavā."], key
    with wiring.sessions() as db:
        fixed = db.get(Alert, fixed_id)
        assert (fixed.msg_type, fixed.references_id) == ("Update", alert_id)
        assert db.get(Alert, alert_id).state == "cancelled"


def test_a_drills_follow_ups_carry_the_drill_mark(wiring, sim, users, frozen_clock):
    author = users.create("olga", "operator")
    with wiring.sessions() as db:
        activation = exercise_activation(db)
        people = [register_contact(db, name, [("sms", phone)], language=language)
                  for name, phone, language in (("Zane", "+37120000711", "lv"),
                                                ("Tom", "+37120000712", "en"))]
        draft = public_orange(cap_status="Exercise", activation_id=activation.id,
                              audience={"contacts": [p.id for p in people]}, channels=["sms"])
        alert = alerts.create_alert(db, draft, author.id)
        alerts.submit(db, alert, author.id)
        alerts.start_sending(db, alert, set(wiring.adapters))
        db.commit()
        alert_id = alert.id
    _drain_all(wiring, frozen_clock)
    with wiring.sessions() as db:
        outcome = notices.correct(db, db.get(Alert, alert_id),
                                  {"lv": "Vējš 20 m/s.", "en": "Wind 20 m/s."}, author.id,
                                  configured=set(wiring.adapters))
        db.commit()
        assert outcome.follow_up.state == "sending"  # a drill needs no second person
    _drain_all(wiring, frozen_clock)
    with wiring.sessions() as db:
        notices.cancel(db, db.get(Alert, outcome.follow_up.id), author.id,
                       configured=set(wiring.adapters))
        db.commit()
    _drain_all(wiring, frozen_clock)

    zane = [m["body"] for m in sim.phones.of("+37120000711")]
    tom = [m["body"] for m in sim.phones.of("+37120000712")]
    assert zane[0].startswith("MĀCĪBAS: Oranžais")
    assert zane[1] == "MĀCĪBAS: LABOJUMS: Vējš 20 m/s."
    assert zane[2] == "MĀCĪBAS: ATCELTS: brīdinājums „LABOJUMS: Vējš 20 m/s.” ir atsaukts " \
                      "un vairs nav spēkā."
    assert tom[1] == "EXERCISE: CORRECTION: Wind 20 m/s."
    assert tom[2].startswith("EXERCISE: CANCELLED: ")
    assert len(zane) == len(tom) == 3


def test_an_alert_not_yet_sent_has_no_follow_up(wiring, users, frozen_clock):
    author = users.create("olga", "operator")
    with wiring.sessions() as db:
        alert = alerts.create_alert(db, public_orange(), author.id)
        alerts.submit(db, alert, author.id)
        with pytest.raises(alerts.AlertError) as refused:
            notices.cancel(db, alert, author.id, configured=set(wiring.adapters))
        assert refused.value.field == "state"


def test_a_correction_needs_a_text(wiring, telegram, users, frozen_clock):
    alert_id = _half_sent(wiring, users, telegram)
    with wiring.sessions() as db:
        with pytest.raises(alerts.AlertError) as refused:
            notices.correct(db, db.get(Alert, alert_id), {"lv": "  ", "en": ""}, None,
                            configured=set(wiring.adapters))
        assert refused.value.field == "texts"


# --- the alert page -------------------------------------------------------------------


def test_cancel_from_the_alert_page_shows_the_notice_then_sends_it(
        wiring, sim, telegram, users, frozen_clock):
    alert_id = _half_sent(wiring, users, telegram)
    client = wiring.app.test_client()
    users.login(client, users.create("rita", "operator"))

    page = client.get(f"/channels/{alert_id}").get_data(as_text=True)
    assert 'data-testid="cancel-notice"' in page and 'data-testid="correct"' in page
    confirm = client.get(f"/channels/{alert_id}/cancel-notice")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "ATCELTS: brīdinājums „Oranžais brīdinājums: stiprs vējš Jelgavā.”" in text
    assert 'data-testid="told-count">2<' in text
    with wiring.sessions() as db:  # looking changed nothing
        assert db.get(Alert, alert_id).state == "sending"

    response = post_form(client, f"/channels/{alert_id}/cancel-notice", {"note": "kļūda"})
    assert response.status_code == 302
    _drain_all(wiring, frozen_clock)
    got = _received(sim, telegram)
    assert got[("telegram", "7702")][-1].startswith("ATCELTS: ")
    assert got[("sms", "+37120000701")][-1].startswith("CANCELLED: ")
    page = client.get(f"/channels/{alert_id}").get_data(as_text=True)
    assert 'data-testid="follow-up"' in page
    assert 'data-testid="cancel-notice"' not in page  # one cancel is enough
    assert client.get(f"/channels/{alert_id}/cancel-notice").status_code == 302


def test_correct_from_the_alert_page_with_an_edited_text(
        wiring, sim, telegram, users, frozen_clock):
    alert_id = _half_sent(wiring, users, telegram)
    client = wiring.app.test_client()
    users.login(client, users.create("rita", "operator"))

    form = client.get(f"/channels/{alert_id}/correct").get_data(as_text=True)
    assert LV in form and "LABOJUMS" in form
    empty = post_form(client, f"/channels/{alert_id}/correct", {"text_lv": "", "text_en": ""})
    assert empty.status_code == 422
    response = post_form(client, f"/channels/{alert_id}/correct",
                         {"text_lv": "Dzeltenais brīdinājums.", "text_en": "Yellow warning."})
    assert response.status_code == 302
    with wiring.sessions() as db:
        fixed = db.scalar(select(Alert).where(Alert.references_id == alert_id))
        assert fixed.state == "awaiting_approval"
        assert fixed.text_for("lv").body == "LABOJUMS: Dzeltenais brīdinājums."
    assert response.headers["Location"].endswith(f"/channels/{fixed.id}")
    _drain_all(wiring, frozen_clock)
    assert {k for k, v in _received(sim, telegram).items() if v} == TOLD


# --- the command line -------------------------------------------------------------------


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def test_cancel_and_correct_from_the_command_line(wiring, sim, telegram, users, frozen_clock):
    from click.testing import CliRunner

    from sargs.cli import cli

    alert_id = _half_sent(wiring, users, telegram)
    runner = CliRunner()
    result = runner.invoke(cli, ["alert", "correct", str(alert_id), "--text", "lv", "Labots.",
                                 "--text", "en", "Fixed."], obj=_script_info(wiring.app))
    assert result.exit_code == 0, result.output
    assert "stopped 3 unsent deliveries" in result.output and "awaiting_approval" in result.output
    with wiring.sessions() as db:
        fixed_id = db.scalar(select(Alert.id).where(Alert.references_id == alert_id))
    result = runner.invoke(cli, ["alert", "cancel", str(alert_id)],
                           obj=_script_info(wiring.app))
    assert result.exit_code == 1 and f"alert {fixed_id} already follows" in result.output
    result = runner.invoke(cli, ["alert", "cancel", "9999"], obj=_script_info(wiring.app))
    assert result.exit_code != 0 and "no alert 9999" in result.output
