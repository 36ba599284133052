"""Running an exercise: the clock on the frozen clock (start, pause, resume, speed, jump,
end) and inject delivery — every inject once, in order, never while paused, never
skipped after a resume — and injects over SMS, Telegram and e-mail reaching exactly
the participants, marked as an exercise, through the real engine and its simulators."""

from __future__ import annotations

from email.message import Message
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from sargs import clock
from sargs.activations.models import Activation
from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.dispatcher import drain
from sargs.channels.models import Alert, Delivery
from sargs.channels.simulators import telegram as telegram_sim
from sargs.channels.simulators.ami import AmiSimulator
from sargs.channels.simulators.smtp import SmtpSimulator
from sargs.exercises import builder, run
from sargs.exercises.builder_schemas import ExerciseIn, InjectIn, ParticipantIn
from sargs.exercises.models import Exercise, Inject
from tests.channels import conftest as channel_fixtures
from tests.channels.adapters_helpers import drain_paced, wait_until, wired

sim, telegram = channel_fixtures.sim, channel_fixtures.telegram

CHAIR = "komisijas vadītājs"
DIRECTOR = "skolas direktore"


def build(session: Any, injects: list[tuple[int, str, str]], *,
          people: list[dict[str, Any]] | None = None, title: str = "Vētra Jelgavā") -> int:
    """A ready exercise: participants (by default one chair without addresses) and the
    injects (offset minutes, channel, recipient role), numbered in the given order."""
    exercise = builder.create_exercise(session, ExerciseIn(
        title=title, scheduled_at=clock.now(), duration_minutes=180))
    for person in people or [{"name": "Jānis Ozols", "role": CHAIR}]:
        builder.add_participant(session, exercise, ParticipantIn(**person))
    for minutes, channel, role in injects:
        builder.add_inject(session, exercise, InjectIn(
            offset=minutes * 60, channel=channel, recipient_role=role, sender="LVĢMC",
            text=f"Ievads {minutes}. minūtē: stiprs vējš", expected_action="Sasaukt komisiju"))
    builder.mark_ready(session, exercise)
    session.commit()
    return exercise.id


def delivered(session: Any, exercise_id: int) -> dict[int, Any]:
    """Inject number → when it was delivered (None: not yet)."""
    session.expire_all()
    return {i.number: i.delivered_at for i in session.scalars(
        select(Inject).where(Inject.exercise_id == exercise_id))}


def tick(session: Any) -> list[int]:
    """One scheduler tick; the numbers it delivered."""
    numbers = [i.number for i in run.deliver_due(session, None)]
    session.commit()
    return numbers


@pytest.fixture
def drill(db: Any) -> Exercise:
    """Injects at 0, 10, 20 and 30 minutes, all on the exercise page."""
    exercise_id = build(db, [(0, "page", CHAIR), (10, "page", CHAIR), (20, "page", CHAIR),
                             (30, "page", CHAIR)])
    return db.get(Exercise, exercise_id)


# --- the clock ---------------------------------------------------------------------------


def test_only_a_ready_exercise_starts_and_it_opens_its_own_exercise_activation(db, drill):
    builder.mark_draft(db, drill)
    with pytest.raises(run.RunError):
        run.start(db, drill, None)
    builder.mark_ready(db, drill)
    run.start(db, drill, None)
    db.commit()
    activation = db.get(Activation, drill.activation_id)
    assert (drill.state, drill.started_at) == ("running", clock.now())
    assert activation.is_exercise and activation.title == "Vētra Jelgavā"
    assert run.elapsed(drill) == 0
    with pytest.raises(run.RunError):  # not twice
        run.start(db, drill, None)


def test_the_clock_runs_at_its_speed(db, drill, frozen_clock):
    run.start(db, drill, None, speed=60)
    db.commit()
    frozen_clock.advance(seconds=30)
    assert run.elapsed(drill) == 30 * 60  # half a minute is half an hour at 60×
    assert tick(db) == [1, 2, 3, 4]


def test_a_pause_holds_the_injects_and_the_resume_delivers_each_once(db, drill, frozen_clock):
    run.start(db, drill, None)
    db.commit()
    assert tick(db) == [1]
    frozen_clock.advance(minutes=5)
    run.pause(db, drill)
    db.commit()
    frozen_clock.advance(minutes=30)  # inject 2 would be due by the wall clock
    assert run.elapsed(drill) == 5 * 60
    assert tick(db) == [] and tick(db) == []
    assert delivered(db, drill.id)[2] is None

    run.resume(db, drill)
    db.commit()
    assert tick(db) == []  # the exercise time is still 5 minutes
    frozen_clock.advance(minutes=5)
    assert tick(db) == [2]
    frozen_clock.advance(minutes=25)  # 3 and 4 came due between two ticks: both, in order
    assert tick(db) == [3, 4]
    assert tick(db) == [] and tick(db) == []
    assert all(delivered(db, drill.id).values())


def test_a_new_speed_keeps_the_exercise_time_continuous(db, drill, frozen_clock):
    run.start(db, drill, None, speed=2)
    db.commit()
    frozen_clock.advance(minutes=3)
    assert run.elapsed(drill) == 6 * 60
    run.set_speed(db, drill, 10)
    db.commit()
    assert run.elapsed(drill) == 6 * 60  # no jump at the change
    frozen_clock.advance(minutes=1)
    assert run.elapsed(drill) == 16 * 60
    assert tick(db) == [1, 2]
    with pytest.raises(run.RunError):
        run.set_speed(db, drill, 0)


def test_jump_to_next_moves_the_time_to_the_next_inject(db, drill, frozen_clock):
    run.start(db, drill, None)
    db.commit()
    assert tick(db) == [1]
    frozen_clock.advance(minutes=1)
    assert run.jump_to_next(db, drill).number == 2
    db.commit()
    assert run.elapsed(drill) == 10 * 60
    assert tick(db) == [2]
    frozen_clock.advance(minutes=1)
    assert run.elapsed(drill) == 11 * 60  # the clock runs on from there


def test_a_released_inject_is_not_delivered_again_at_its_time(db, users, drill, frozen_clock):
    controller = users.create("kristaps", "trainer")
    run.start(db, drill, None)
    db.commit()
    assert tick(db) == [1]
    third = next(i for i in drill.injects if i.number == 3)
    run.release(db, third, controller.id)
    db.commit()
    assert third.released_by_id == controller.id
    with pytest.raises(run.RunError):
        run.release(db, third, controller.id)
    frozen_clock.advance(minutes=30)
    assert tick(db) == [2, 4]


def test_ending_stops_the_clock_and_closes_the_activation(db, drill, frozen_clock):
    run.start(db, drill, None)
    db.commit()
    frozen_clock.advance(minutes=12)
    run.end(db, drill)
    db.commit()
    assert drill.state == "ended" and drill.ended_at == clock.now()
    assert db.get(Activation, drill.activation_id).closed_at == clock.now()
    frozen_clock.advance(minutes=30)
    assert run.elapsed(drill) == 12 * 60
    assert tick(db) == []  # an ended exercise sends nothing more


# --- through the engine, to the simulators -----------------------------------------------

ANNA, BERTA, OUTSIDER = "+37120000401", "+37120000402", "+37120000409"
ANNA_CHAT, OUTSIDER_CHAT = 7401, 7409


@pytest.fixture
def mail():
    with SmtpSimulator(mode="test") as server:
        yield server


@pytest.fixture
def wiring(settings, sim, telegram, mail, frozen_clock):
    with wired(settings, twilio=sim, smtp_url=f"smtp://127.0.0.1:{mail.port}",
               email_from="sargs@jelgava.lv", telegram_api_url=telegram.url,
               telegram_bot_token=SecretStr(telegram_sim.TOKEN)) as wiring:
        yield wiring


def _body(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    return "".join(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
                   for part in parts if part.get_content_type() == "text/plain")


def test_injects_reach_exactly_the_participants_marked_as_an_exercise(
        wiring, sim, telegram, mail, frozen_clock):
    telegram.add_chat(ANNA_CHAT)
    telegram.add_chat(OUTSIDER_CHAT)
    directors = [
        {"name": "Anna Bērziņa", "role": DIRECTOR, "phone": ANNA, "email": "anna@skola.lv",
         "telegram": str(ANNA_CHAT)},
        {"name": "Berta Liepa", "role": DIRECTOR, "phone": BERTA, "email": "berta@skola.lv"},
        {"name": "Jānis Ozols", "role": CHAIR, "phone": "+37120000403"},
    ]
    with wiring.app.app_context(), wiring.sessions() as db:
        # The same role text outside this exercise: a staff group's contact, and the
        # director of another (ready) exercise.
        group = ensure_group(db, "skolas", "Skolu direktori", "staff")
        add_to_group(db, group, register_contact(db, DIRECTOR, [
            ("sms", OUTSIDER), ("email", "outsider@skola.lv"),
            ("telegram", str(OUTSIDER_CHAT))]))
        build(db, [(0, "sms", DIRECTOR)], title="Citas mācības", people=[
            {"name": "Cits Direktors", "role": DIRECTOR, "phone": "+37120000408"}])
        exercise_id = build(db, [(0, "sms", DIRECTOR), (5, "telegram", DIRECTOR),
                                 (10, "email", DIRECTOR), (15, "page", CHAIR)],
                            people=directors)
        exercise = db.get(Exercise, exercise_id)
        run.start(db, exercise, None, speed=60)
        db.commit()
        participants = {p.contact_id for p in exercise.participants}

    def tick_and_send() -> list[int]:
        with wiring.app.app_context(), wiring.sessions() as db:
            numbers = [i.number for i in run.deliver_due(db, wiring.settings)]
            db.commit()
        drain(wiring.dispatcher())
        return numbers

    assert tick_and_send() == [1]
    frozen_clock.advance(seconds=15)  # 15 exercise minutes at 60×
    assert tick_and_send() == [2, 3, 4]
    assert tick_and_send() == []

    def texts(phone: str) -> list[str]:
        return [m["body"] for m in sim.phones.of(phone) if "body" in m]

    assert wait_until(lambda: len(texts(ANNA)) == 1 and len(texts(BERTA)) == 1)
    assert all(t.startswith("MĀCĪBAS") and "stiprs vējš" in t for t in texts(ANNA) + texts(BERTA))
    chat = [e for e in telegram.chats.of(ANNA_CHAT) if e["kind"] == "sendMessage"]
    assert len(chat) == 1 and chat[0]["text"].startswith("MĀCĪBAS")
    assert wait_until(lambda: len(mail.inboxes.of("anna@skola.lv")) == 1
                      and len(mail.inboxes.of("berta@skola.lv")) == 1)
    assert "MĀCĪBAS" in _body(mail.inboxes.of("berta@skola.lv")[0]["message"])

    # Nobody else: not the outsider with the same role, not the other exercise, not the
    # chair (whose inject stays on the page).
    assert texts(OUTSIDER) == [] and texts("+37120000408") == [] and texts("+37120000403") == []
    assert [e for e in telegram.chats.of(OUTSIDER_CHAT) if e["kind"] == "sendMessage"] == []
    assert mail.inboxes.of("outsider@skola.lv") == []
    with wiring.sessions() as db:
        rows = db.scalars(select(Delivery)).all()
        assert len(rows) == 5 and {r.contact_id for r in rows} <= participants
        alerts = db.scalars(select(Alert)).all()
        assert {(a.source, a.cap_status) for a in alerts} == {("exercise", "Exercise")}
        assert {a.activation_id for a in alerts} == {exercise.activation_id}
        kept = {i.number: i.alert_id for i in db.scalars(
            select(Inject).where(Inject.exercise_id == exercise_id))}
        assert kept[4] is None and len({kept[1], kept[2], kept[3]} & {a.id for a in alerts}) == 3


def test_the_scheduler_tick_delivers_and_a_stale_second_tick_does_not_again(
        app, db, drill, frozen_clock):
    from sargs.scheduler import handlers

    exercise_id = drill.id
    run.start(db, drill, None)
    db.commit()
    other = app.extensions["sargs"].sessionmaker(expire_on_commit=False)
    stale = other.get(Exercise, exercise_id)
    assert [i.delivered_at for i in stale.injects][0] is None  # loaded before the tick
    other.commit()  # (SQLite holds its lock for a whole transaction)
    with app.app_context():
        handlers()["exercises"](db)
    db.commit()
    assert delivered(db, exercise_id)[1] == clock.now()
    db.rollback()
    assert run.deliver_due(other, None) == []  # it reads the inject list afresh
    other.commit()
    other.close()


@pytest.fixture
def pbx():
    with AmiSimulator(mode="test", answer_delay=0.01) as server:
        yield server


def test_voice_and_pbx_injects_ring_the_participants_phone_and_the_schools_ip_phone(
        settings, sim, pbx, frozen_clock):
    """A voice inject calls the director's phone and says the text marked as an exercise; a
    PBX inject pages the school's IP phone extension through the AMI — nobody else rings."""
    with wired(settings, twilio=sim, ami_url=pbx.url) as wiring:
        with wiring.app.app_context(), wiring.sessions() as db:
            # A paging group of the city's real IP phones: never paged by an exercise.
            add_to_group(db, ensure_group(db, "skalruni", "Domes skaļruņi", "paging"),
                         register_contact(db, "Domes skaļruņi", [("pbx", "600")],
                                          kind="institution"))
            exercise_id = build(db, [(0, "voice", DIRECTOR), (1, "pbx", "skola")], people=[
                {"name": "Anna Bērziņa", "role": DIRECTOR, "phone": ANNA},
                {"name": "4. vidusskolas skaļruņi", "role": "skola", "pbx": "7001"}])
            run.start(db, db.get(Exercise, exercise_id), None, speed=60)
            db.commit()
        frozen_clock.advance(seconds=1)  # one exercise minute: both injects due
        with wiring.app.app_context(), wiring.sessions() as db:
            assert [i.number for i in run.deliver_due(db, wiring.settings)] == [1, 2]
            db.commit()
        drain_paced(wiring, frozen_clock, rounds=3)

        assert sim.phones.wait_for(1, ANNA)
        [call] = sim.phones.of(ANNA)
        assert call["kind"] == "call" and "MĀCĪBAS" in call["twiml"] and "stiprs vējš" in \
            call["twiml"]
        assert wait_until(lambda: len(pbx.calls.of("7001")) == 1)
        [page] = pbx.calls.of("7001")
        assert page["channel"] == "Local/7001@paging" and page["outcome"] == "answered"
        assert pbx.calls.of("600") == []
        with wiring.sessions() as db:
            rows = db.scalars(select(Delivery)).all()
            assert {(r.channel, r.address) for r in rows} == {("voice", ANNA), ("pbx", "7001")}
