"""Call-outs end to end, against the Twilio and Telegram simulators: the matching
volunteers are asked (a phone receives the SMS with the code, a Telegram chat the
buttons), answers come by button and by SMS code, unclear ones wait for the
coordinator, a filled quota tells the others "enough", a volunteer is never booked in
two overlapping call-outs, hours are logged on site, and a volunteer who never answers
is flagged."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from sargs import clock
from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.channels import telegram_bot_runner
from sargs.channels.dispatcher import drain
from sargs.channels.models import Alert, Delivery
from sargs.volunteers import callouts, service
from sargs.volunteers.models import CallOut, CallOutAsk, CallOutReply
from sargs.volunteers.schemas import CallOutIn
from sargs.volunteers.service import VolunteerError
from tests.channels import conftest as channel_fixtures
from tests.channels.adapters_helpers import wait_until

# The simulators and the app wired to them, as the engine's own tests use them.
sim, telegram, wiring = channel_fixtures.sim, channel_fixtures.telegram, channel_fixtures.wiring

ANNA, BERTA, CILDA, GINTA = "+37120000301", "+37120000302", "+37120000303", "+37120000304"
RITA, DACE, ELZA = "+37120000305", "+37120000306", "+37120000307"
BERTA_CHAT = 7301


# --- people and call-outs ------------------------------------------------------


@pytest.fixture
def person(make_volunteer, db):
    """A volunteer registered through the portal's rules and approved; ``chat`` links a
    Telegram chat (preferred over SMS). Returns the id; the test's own session is left
    without a transaction, so the simulators' app can write."""
    def make(name: str, phone: str, *, status: str = "active", chat: int | None = None,
             **fields: Any) -> int:
        fields.setdefault("skills", ["first_aid"])
        volunteer = make_volunteer(status, name=name, phone=phone, email=None,
                                   licence_categories=[], **fields)
        if chat is not None:
            volunteer.telegram_chat_id = str(chat)
            service.sync_contact(db, volunteer)
        volunteer_id = volunteer.id
        db.commit()
        return volunteer_id

    return make


@pytest.fixture
def crew(person, telegram) -> dict[str, int]:
    """Four active first-aiders in the city (Berta on Telegram), a reserve one, one
    without first aid, one in the municipality around the city."""
    telegram.add_chat(BERTA_CHAT)
    return {
        "anna": person("Anna Bērziņa", ANNA),
        "berta": person("Berta Liepa", BERTA, chat=BERTA_CHAT),
        "cilda": person("Cilda Ozola", CILDA),
        "ginta": person("Ginta Kalna", GINTA),
        "rita": person("Rita Rezerve", RITA, status="reserve"),
        "dace": person("Dace Bez", DACE, skills=["cooking"]),
        "elza": person("Elza Novada", ELZA, municipality="LV023"),
    }


def activation(wiring, *, exercise: bool = False) -> int:
    with wiring.sessions() as db:
        found = open_activation(db, ActivationOpen(
            title="Mācības 2026" if exercise else "Plūdi Lielupē",
            kind="exercise" if exercise else "emergency"), by_user_id=None)
        db.commit()
        return found.id


def call_out(wiring, activation_id: int, **fields: Any) -> int:
    """A call-out created as the page does (the first wave asked): by default in two
    hours (14:00 in Riga, a Tuesday) for ``hours`` = 4 hours."""
    start = fields.pop("starts_at", clock.now() + timedelta(hours=2))
    values: dict[str, Any] = {
        "activation_id": activation_id, "title": "Smilšu maisi", "place": "Pasta sala",
        "brief": "Ņemiet cimdus", "skills": ["first_aid"], "area_code": "LV022",
        "starts_at": start, "ends_at": start + timedelta(hours=fields.pop("hours", 4)),
        "needed": 2, **fields}
    with wiring.sessions() as db:
        callout = callouts.create(db, CallOutIn(**values), None, settings=wiring.settings)
        db.commit()
        return callout.id


def tick(wiring) -> None:
    with wiring.app.app_context(), wiring.sessions() as db:
        callouts.run_due(db, wiring.settings)
        db.commit()


def asks(wiring, callout_id: int) -> dict[int, str]:
    """Volunteer id → the state of their ask."""
    with wiring.sessions() as db:
        return {a.volunteer_id: a.state for a in db.scalars(
            select(CallOutAsk).where(CallOutAsk.callout_id == callout_id))}


def stored_replies(wiring) -> list[tuple[str, str, bool]]:
    with wiring.sessions() as db:
        return [(r.text, r.outcome, r.needs_review) for r in db.scalars(
            select(CallOutReply).order_by(CallOutReply.id))]


# --- phones and chats ------------------------------------------------------------


def deliver(wiring) -> None:
    drain(wiring.dispatcher())


def sms(sim, phone: str, count: int = 0) -> list[str]:
    """What the phone received; waits for at least ``count`` messages."""
    def got() -> list[str]:
        return [m["body"] for m in sim.phones.of(phone) if "body" in m]

    assert wait_until(lambda: len(got()) >= count), got()
    return got()


def reply_sms(wiring, sim, phone: str, body: str) -> str:
    """The phone answers our number (a signed Twilio inbound webhook); our answer."""
    url = f"{wiring.settings.base_url}/channels/twilio/inbound"
    form = {"From": phone, "To": "+37166000000", "Body": body, "MessageSid": "SM" + "4" * 32}
    signature = RequestValidator(sim.auth_token).compute_signature(url, form)
    response = wiring.app.test_client().post("/channels/twilio/inbound", data=form,
                                             headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    found = re.search(r"<Message>(.*)</Message>", response.get_data(as_text=True), re.S)
    return html.unescape(found.group(1)) if found else ""


def said(telegram, chat: int) -> list[dict[str, Any]]:
    return [e for e in telegram.chats.of(chat) if e["kind"] == "sendMessage"]


def buttons(entry: dict[str, Any]) -> dict[str, str]:
    markup = entry.get("reply_markup") or {}
    return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", [])
            for b in row}


@pytest.fixture
def bot(wiring) -> Iterator[Any]:
    """The bot polling the simulator, as ``sargs run`` starts it."""
    runner = telegram_bot_runner.BotRunner(wiring.app, polling=True, poll_timeout=1).start()
    yield runner
    runner.stop()


def press(telegram, chat: int, label: str) -> str:
    """Press ``label`` under the newest message that has it; the answer shown."""
    entry = next(e for e in reversed(said(telegram, chat)) if label in buttons(e))
    before = len(telegram.answers)
    telegram.user_presses(chat, entry["message_id"], buttons(entry)[label])
    assert wait_until(lambda: len(telegram.answers) > before)
    return telegram.answers.all()[-1][1]["text"]


# --- asking ------------------------------------------------------------------------


def test_the_matching_volunteers_are_asked_once_each_on_their_own_channel(
        wiring, sim, telegram, crew):
    callout_id = call_out(wiring, activation(wiring))
    deliver(wiring)

    # The first wave: needed × 2 — the four active first-aiders of the city.
    assert set(asks(wiring, callout_id)) == {crew[n] for n in ("anna", "berta", "cilda",
                                                               "ginta")}
    [text] = sms(sim, ANNA, 1)
    assert text == ("Izsaukums A: Smilšu maisi, Pasta sala, 24.11. 14:00–18:00. Ņemiet "
                    "cimdus. Atbildiet A1 — nāku, A2 — nevaru.")
    assert wait_until(lambda: said(telegram, BERTA_CHAT) != [])
    [question] = said(telegram, BERTA_CHAT)
    assert question["text"] == text
    assert list(buttons(question).values()) == [f"co:{callout_id}:1", f"co:{callout_id}:2"]
    assert list(buttons(question)) == ["✅ Nāku", "❌ Nevaru"]
    # One message per person: Berta is not sent the SMS as well; the others nothing.
    for phone in (BERTA, RITA, DACE, ELZA):
        assert sms(sim, phone) == []
    with wiring.sessions() as db:
        rows = db.scalars(select(Delivery)).all()
        assert sorted(r.channel for r in rows) == ["sms", "sms", "sms", "telegram"]
        sent = db.scalars(select(Alert).order_by(Alert.id)).all()
        assert {(a.source, a.source_ref, a.cap_status) for a in sent} == {
            ("callout", f"callout:{callout_id}", "Actual")}


def test_a_volunteer_who_blocked_the_bot_is_asked_by_sms_instead(wiring, sim, telegram,
                                                                   crew):
    telegram.user_blocks(BERTA_CHAT)  # (the bot has not yet heard of it)
    call_out(wiring, activation(wiring))
    deliver(wiring)
    deliver(wiring)  # the 403 moves Berta to her next channel
    [text] = sms(sim, BERTA, 1)
    assert text.startswith("Izsaukums A: Smilšu maisi") and "A1 — nāku" in text
    with wiring.sessions() as db:
        berta = [(r.channel, r.state) for r in db.scalars(select(Delivery))
                 if r.address in (str(BERTA_CHAT), BERTA)]
    # (the SMS row is sent, or delivered once the simulator's receipt came back)
    [(sms_channel, sms_state), telegram_row] = sorted(berta)
    assert sms_channel == "sms" and sms_state in ("sent", "delivered")
    assert telegram_row == ("telegram", "undeliverable")


def test_an_exercise_call_out_sends_exercise_alerts(wiring, sim, crew):
    call_out(wiring, activation(wiring, exercise=True), needed=1)
    deliver(wiring)
    [text] = sms(sim, ANNA, 1)
    assert text.startswith("MĀCĪBAS: Izsaukums A: Smilšu maisi")
    with wiring.sessions() as db:
        assert {a.cap_status for a in db.scalars(select(Alert))} == {"Exercise"}


def test_reserve_volunteers_are_asked_only_when_the_active_ones_are_not_enough(
        wiring, sim, crew, frozen_clock):
    callout_id = call_out(wiring, activation(wiring), needed=1)
    assert set(asks(wiring, callout_id)) == {crew["anna"], crew["berta"]}
    # Nobody answers for ten minutes: the tick asks the next two, then the reserve.
    frozen = frozen_clock
    frozen.advance(minutes=10)
    tick(wiring)
    assert set(asks(wiring, callout_id)) == {crew[n] for n in ("anna", "berta", "cilda",
                                                               "ginta")}
    frozen.advance(minutes=5)
    tick(wiring)  # not yet: the last wave is five minutes old
    assert crew["rita"] not in asks(wiring, callout_id)
    frozen.advance(minutes=5)
    tick(wiring)
    assert crew["rita"] in asks(wiring, callout_id)
    assert crew["dace"] not in asks(wiring, callout_id)
    assert crew["elza"] not in asks(wiring, callout_id)


def test_codes_are_the_first_letters_free(wiring, crew):
    activation_id = activation(wiring)
    first, second = call_out(wiring, activation_id), call_out(wiring, activation_id)
    with wiring.sessions() as db:
        assert [db.get(CallOut, i).code for i in (first, second)] == ["A", "B"]
        callouts.close(db, db.get(CallOut, first), settings=wiring.settings)
        db.commit()
    third = call_out(wiring, activation_id)
    with wiring.sessions() as db:
        assert db.get(CallOut, third).code == "A"


# --- answering ---------------------------------------------------------------------


def test_yes_by_button_and_by_sms_fill_the_quota_and_the_rest_hear_enough(
        wiring, sim, telegram, bot, crew):
    callout_id = call_out(wiring, activation(wiring))
    deliver(wiring)
    assert wait_until(lambda: said(telegram, BERTA_CHAT) != [])

    shown = press(telegram, BERTA_CHAT, "✅ Nāku")
    assert shown.startswith("Paldies! Jūs esat sarakstā: izsaukums A, Smilšu maisi")
    assert wait_until(lambda: len(said(telegram, BERTA_CHAT)) == 2)
    assert said(telegram, BERTA_CHAT)[1]["text"] == shown
    assert asks(wiring, callout_id)[crew["berta"]] == "yes"

    assert reply_sms(wiring, sim, ANNA, "a 1").startswith("Paldies! Jūs esat sarakstā")
    states = asks(wiring, callout_id)
    assert (states[crew["anna"]], states[crew["cilda"]], states[crew["ginta"]]) == (
        "yes", "released", "released")
    with wiring.sessions() as db:
        assert db.get(CallOut, callout_id).state == "filled"

    deliver(wiring)
    enough = "Izsaukums A (Smilšu maisi): cilvēku pietiek, paldies! Jums nav jānāk."
    assert sms(sim, CILDA, 2)[1] == enough
    assert sms(sim, GINTA, 2)[1] == enough
    assert len(sms(sim, ANNA)) == 1  # the two who come are not told "enough"

    # A late yes is thanked and not counted; the tick tells nobody twice.
    assert reply_sms(wiring, sim, CILDA, "A1 jā") == enough
    tick(wiring)
    deliver(wiring)
    assert len(sms(sim, CILDA)) == 2
    assert list(asks(wiring, callout_id).values()).count("yes") == 2
    assert [(text, outcome) for text, outcome, _r in stored_replies(wiring)] == [
        (f"co:{callout_id}:1", "yes"), ("a 1", "yes"), ("A1 jā", "late")]


def test_a_no_is_noted_and_never_asked_again(wiring, sim, crew, frozen_clock):
    callout_id = call_out(wiring, activation(wiring), needed=1)
    deliver(wiring)
    answer = reply_sms(wiring, sim, ANNA, "A2")
    assert answer == "Paldies, atzīmējām, ka uz izsaukumu A nevarat ierasties."
    assert asks(wiring, callout_id)[crew["anna"]] == "no"
    frozen_clock.advance(minutes=30)
    tick(wiring)
    tick(wiring)
    deliver(wiring)
    assert len(sms(sim, ANNA)) == 1


def test_unclear_replies_wait_for_the_coordinator_who_settles_them(wiring, sim, crew):
    activation_id = activation(wiring)
    callout_id = call_out(wiring, activation_id, needed=1)
    other_id = call_out(wiring, activation_id, needed=1, skills=["cooking"])  # B: Dace only
    deliver(wiring)

    assert reply_sms(wiring, sim, ANNA, "varbūt").startswith("Atbildi nesapratām")
    assert reply_sms(wiring, sim, ANNA, "A3").startswith("Atbildi nesapratām")
    assert reply_sms(wiring, sim, ANNA, "B1") == (
        "Izsaukumā B jūs neaicinājām; koordinators jūsu atbildi izskatīs.")
    assert stored_replies(wiring) == [
        ("varbūt", "unclear", True), ("A3", "unclear", True), ("B1", "unclear", True)]
    assert asks(wiring, callout_id)[crew["anna"]] == "asked"
    assert crew["anna"] not in asks(wiring, other_id)

    # The coordinator reads "varbūt" as a yes: Anna comes, and is told so.
    with wiring.app.app_context(), wiring.sessions() as db:
        callout = db.get(CallOut, callout_id)
        first, second = callouts.to_review(db, callout)
        assert callouts.settle(db, first, "yes", None, settings=wiring.settings) == "yes"
        assert callouts.settle(db, second, "dismiss", None) is None
        assert callouts.to_review(db, callout) == []
        db.commit()
    assert asks(wiring, callout_id)[crew["anna"]] == "yes"
    deliver(wiring)
    assert any(text.startswith("Paldies! Jūs esat sarakstā: izsaukums A")
               for text in sms(sim, ANNA, 2))


def test_a_reply_from_someone_who_is_not_a_volunteer_passes_on(wiring, sim, crew):
    call_out(wiring, activation(wiring))
    assert "BEIGT" in reply_sms(wiring, sim, "+37120000399", "A1")  # the router's help
    assert stored_replies(wiring) == []


# --- no double booking -------------------------------------------------------------


def test_a_volunteer_is_never_booked_in_two_overlapping_call_outs(wiring, sim, crew):
    activation_id = activation(wiring)
    first = call_out(wiring, activation_id, needed=3)
    second = call_out(wiring, activation_id, needed=3, title="Evakuācija",
                      starts_at=clock.now() + timedelta(hours=3))  # overlaps the first
    deliver(wiring)
    assert crew["anna"] in asks(wiring, first) and crew["anna"] in asks(wiring, second)

    assert reply_sms(wiring, sim, ANNA, "A1").startswith("Paldies! Jūs esat sarakstā")
    answer = reply_sms(wiring, sim, ANNA, "B1")
    assert answer == ("Paldies, bet šajā laikā jūs jau esat pieteicies izsaukumam A; divos "
                      "vienlaikus pieteikt nevaram.")
    assert asks(wiring, second)[crew["anna"]] == "no"
    assert stored_replies(wiring)[-1] == ("B1", "busy", False)

    # A third overlapping call-out does not ask her at all; a later one does.
    third = call_out(wiring, activation_id, needed=5, title="Ēdiens")
    assert crew["anna"] not in asks(wiring, third)
    later = call_out(wiring, activation_id, needed=5, title="Nākamā diena",
                     starts_at=clock.now() + timedelta(hours=7))
    assert crew["anna"] in asks(wiring, later)


# --- on site -----------------------------------------------------------------------


def test_the_coordinator_takes_a_volunteer_off_the_roster_and_they_are_told(wiring, sim,
                                                                            crew):
    callout_id = call_out(wiring, activation(wiring), needed=1)
    reply_sms(wiring, sim, ANNA, "A1")  # the one place is taken: the call-out is filled
    with wiring.app.app_context(), wiring.sessions() as db:
        callout = db.get(CallOut, callout_id)
        assert callout.state == "filled"
        callouts.withdraw(db, callout, callouts.ask_of(db, callout, crew["anna"]),
                          settings=wiring.settings)
        db.commit()
        assert callout.state == "open"  # a place is free again: the tick asks more
    assert asks(wiring, callout_id)[crew["anna"]] == "withdrawn"
    deliver(wiring)
    assert ("Izsaukums A (Smilšu maisi, 24.11. 14:00–18:00): koordinators jūs izņēma no "
            "saraksta; jums nav jānāk. Paldies!") in sms(sim, ANNA, 2)
    with wiring.app.app_context(), wiring.sessions() as db:
        callout = db.get(CallOut, callout_id)
        with pytest.raises(VolunteerError):  # not on the roster any more
            callouts.withdraw(db, callout, callouts.ask_of(db, callout, crew["anna"]))


def test_check_in_and_out_log_the_hours(wiring, sim, crew, frozen_clock):
    callout_id = call_out(wiring, activation(wiring))
    reply_sms(wiring, sim, ANNA, "A1")
    reply_sms(wiring, sim, CILDA, "A1")
    frozen = frozen_clock
    with wiring.sessions() as db:
        callout = db.get(CallOut, callout_id)
        anna = callouts.ask_of(db, callout, crew["anna"])
        with pytest.raises(VolunteerError):
            callouts.check_out(db, anna)  # not checked in yet
        callouts.check_in(db, anna)
        callouts.check_in(db, callouts.ask_of(db, callout, crew["cilda"]))
        with pytest.raises(VolunteerError):
            callouts.check_in(db, callouts.ask_of(db, callout, crew["ginta"]))  # released
        db.commit()
    frozen.advance(hours=3, minutes=30)
    with wiring.sessions() as db:
        callout = db.get(CallOut, callout_id)
        callouts.check_out(db, callouts.ask_of(db, callout, crew["anna"]))
        frozen.advance(minutes=30)
        callouts.check_out(db, callouts.ask_of(db, callout, crew["cilda"]))
        rows = callouts.roster(db, callout)
        assert [(r.volunteer.name, r.ask.state, r.hours) for r in rows[:2]] == [
            ("Anna Bērziņa", "yes", 3.5), ("Cilda Ozola", "yes", 4.0)]
        assert callouts.total_hours(rows) == 7.5


def test_cancelling_tells_those_who_said_yes(wiring, sim, crew):
    callout_id = call_out(wiring, activation(wiring), needed=3)
    reply_sms(wiring, sim, ANNA, "A1")
    with wiring.app.app_context(), wiring.sessions() as db:
        callouts.cancel(db, db.get(CallOut, callout_id), settings=wiring.settings)
        db.commit()
    deliver(wiring)
    # (the question and the cancellation may reach the phone in either order)
    assert ("Izsaukums A (Smilšu maisi, 24.11. 14:00–18:00) ir atcelts. Paldies par "
            "gatavību palīdzēt!") in sms(sim, ANNA, 2)


def test_a_volunteer_who_did_not_answer_three_call_outs_is_flagged(wiring, sim, crew):
    activation_id = activation(wiring)
    for hour in (2, 4, 6):
        callout_id = call_out(wiring, activation_id, needed=4, hours=2,
                              starts_at=clock.now() + timedelta(hours=hour))
        reply_sms(wiring, sim, ANNA, f"{_code(wiring, callout_id)}1")
        with wiring.sessions() as db:
            callouts.close(db, db.get(CallOut, callout_id), settings=wiring.settings)
            db.commit()
    with wiring.sessions() as db:
        assert callouts.unresponsive(db, [crew["anna"], crew["cilda"]]) == {crew["cilda"]}
    # Someone still waiting to answer an open call-out is not judged on it yet; the
    # roster shows the flag.
    open_id = call_out(wiring, activation_id, needed=4, hours=1,
                       starts_at=clock.now() + timedelta(hours=8))
    with wiring.sessions() as db:
        assert callouts.unresponsive(db, [crew["cilda"]]) == {crew["cilda"]}
        rows = callouts.roster(db, db.get(CallOut, open_id))
        assert {r.volunteer.name: r.flagged for r in rows}["Cilda Ozola"] is True
        assert {r.volunteer.name: r.flagged for r in rows}["Anna Bērziņa"] is False


def _code(wiring, callout_id: int) -> str:
    with wiring.sessions() as db:
        return db.get(CallOut, callout_id).code
