"""Running an exercise: its clock and the delivery of its injects.

The clock keeps exercise time without a timer: ``clock_elapsed_s`` exercise seconds had
passed at ``clock_since`` (the last start, pause, resume, speed change or jump), and
while running every real second adds ``speed`` exercise seconds. Each change re-anchors
both fields first, so exercise time never jumps or runs backwards; a paused exercise's
time stands still. All of it reads ``clock.now()``, so tests move a frozen clock.

The scheduler's tick (``exercises/jobs.py``) calls :func:`deliver_due`: every inject
whose offset has passed is delivered once, in offset and number order. The exercise's
row is locked and ``delivered_at`` written in the same transaction, so two ticks (or a
tick and a controller's early :func:`release`) never deliver one inject twice, and an
inject that came due during a pause is delivered after the resume — never skipped.

Delivery goes through the real notification engine, as an alert of source "exercise"
with CAP status Exercise in the exercise's activation: the engine marks every text
"MĀCĪBAS"/"EXERCISE" and its audience resolver reaches only the contacts named — the
inject's recipients among the participants, nobody else. A "page" inject is only marked
delivered (the participants' page shows it).

A "warning" inject replays a recorded LVĢMC warning through the real warnings pipeline
(:func:`replay_warning`): the document, moved in time so it is issued now, with status
Exercise and an identifier of the exercise's own, is stored as a warning of the
exercise's activation and escalated by the escalation policies as a drill
(warnings/alerting.py): Exercise alerts to the inject's recipients, or to every
participant when it names none. Exercise warnings stay off the public warnings page,
the public CAP feed and the real dashboard, which all leave out an exercise's activation.

Plain functions on a session; callers commit.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from flask import has_app_context
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.activations.models import Activation
from sargs.activations.schemas import ActivationClose, ActivationOpen
from sargs.activations.service import close_activation, open_activation
from sargs.channels import alerts
from sargs.channels.ledger import configured_channels
from sargs.channels.models import Alert
from sargs.exercises import isolation  # noqa: F401  the engine's guard: participants only
from sargs.exercises.models import Exercise, Inject, Participant
from sargs.settings import Settings
from sargs.warnings import alerting, cap
from sargs.warnings import service as warnings

log = logging.getLogger(__name__)
SOURCE = "exercise"
ENGINE_CHANNELS = ("telegram", "sms", "email", "voice", "pbx")
MAX_SPEED = 600.0


class RunError(ValueError):
    """A rule of the run was broken; ``field`` names what it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- the clock ----------------------------------------------------------------------------


def elapsed(exercise: Exercise, now: datetime | None = None) -> float:
    """Exercise seconds since the start."""
    if exercise.state != "running" or exercise.clock_since is None:
        return exercise.clock_elapsed_s
    now = now or clock.now()
    return exercise.clock_elapsed_s + (now - exercise.clock_since).total_seconds() * exercise.speed


def _anchor(exercise: Exercise, seconds: float | None = None) -> None:
    """Fix the exercise time reached now (or ``seconds``) as the clock's new anchor."""
    now = clock.now()
    exercise.clock_elapsed_s = elapsed(exercise, now) if seconds is None else seconds
    exercise.clock_since = now
    exercise.updated_at = now


def _lock(session: Session, exercise: Exercise) -> None:
    """Read the exercise afresh and hold its row until the transaction ends (changes
    not yet written are written first, not lost)."""
    session.flush()
    session.refresh(exercise, with_for_update=True)


def _check_speed(speed: float) -> float:
    if not 0 < speed <= MAX_SPEED:
        raise RunError("speed", _("The speed is more than 0 and at most %(max)s.",
                                  max=int(MAX_SPEED)))
    return float(speed)


def _in_state(exercise: Exercise, *states: str) -> None:
    if exercise.state not in states:
        raise RunError("state", {
            "ready": _("Only a ready exercise can be started."),
            "running": _("The exercise is not running."),
            "paused": _("The exercise is not paused."),
        }[states[0]] if len(states) == 1 else _("The exercise is not running."))


def exercise_activation(session: Session, exercise: Exercise,
                        by_user_id: int | None) -> Activation:
    """The exercise's own open exercise activation, opened now when it has none yet (a
    communications check before the start opens it; the start then keeps it)."""
    _lock(session, exercise)
    current = session.get(Activation, exercise.activation_id) \
        if exercise.activation_id else None
    if current is not None and current.closed_at is None:
        return current
    title = exercise.title.strip()
    activation = open_activation(session, ActivationOpen(
        title=title if len(title) >= 3 else f"{_('Exercise')}: {title}", kind="exercise"),
        by_user_id)
    exercise.activation_id = activation.id
    session.flush()
    return activation


def start(session: Session, exercise: Exercise, by_user_id: int | None,
          speed: float = 1.0) -> Exercise:
    """Start a ready exercise in its own exercise activation (the one a communications
    check opened, or a new one), the clock at 0."""
    speed = _check_speed(speed)
    _lock(session, exercise)
    _in_state(exercise, "ready")
    exercise_activation(session, exercise, by_user_id)
    now = clock.now()
    exercise.state = "running"
    exercise.started_at = now
    exercise.speed = speed
    _anchor(exercise, 0.0)
    session.flush()
    return exercise


def pause(session: Session, exercise: Exercise) -> Exercise:
    _lock(session, exercise)
    _in_state(exercise, "running")
    _anchor(exercise)
    exercise.state = "paused"
    session.flush()
    return exercise


def resume(session: Session, exercise: Exercise) -> Exercise:
    _lock(session, exercise)
    _in_state(exercise, "paused")
    _anchor(exercise)  # paused: the time reached stays, the real time moves on
    exercise.state = "running"
    session.flush()
    return exercise


def set_speed(session: Session, exercise: Exercise, speed: float) -> Exercise:
    """A new speed from now on; the exercise time reached so far is kept."""
    speed = _check_speed(speed)
    _lock(session, exercise)
    _in_state(exercise, "running", "paused")
    _anchor(exercise)
    exercise.speed = speed
    session.flush()
    return exercise


def next_inject(exercise: Exercise) -> Inject | None:
    """The first inject not yet delivered, by offset and number."""
    waiting = [i for i in exercise.injects if i.delivered_at is None]
    return min(waiting, key=lambda i: (i.offset_s, i.number), default=None)


def jump_to_next(session: Session, exercise: Exercise) -> Inject | None:
    """Move the exercise time on to the next undelivered inject's offset (never back);
    the next tick delivers it. None when nothing is left to deliver."""
    _lock(session, exercise)
    _in_state(exercise, "running", "paused")
    found = next_inject(exercise)
    if found is not None:
        _anchor(exercise, max(elapsed(exercise), float(found.offset_s)))
        session.flush()
    return found


def end(session: Session, exercise: Exercise, by_user_id: int | None = None) -> Exercise:
    """Stop the clock where it is and close the exercise's activation."""
    _lock(session, exercise)
    _in_state(exercise, "running", "paused")
    _anchor(exercise)
    exercise.state = "ended"
    exercise.ended_at = clock.now()
    activation = session.get(Activation, exercise.activation_id) \
        if exercise.activation_id else None
    if activation is not None and activation.closed_at is None:
        close_activation(session, activation, ActivationClose(), by_user_id)
    session.flush()
    return exercise


# --- delivery -----------------------------------------------------------------------------


def _settings(settings: Settings | None) -> Settings | None:
    if settings is None and has_app_context():
        from sargs.context import settings as app_settings

        return app_settings()
    return settings


def recipients(exercise: Exercise, inject: Inject) -> list[Participant]:
    """The inject's one participant, or the exercise's people playing its role."""
    if inject.participant_id is not None:
        return [p for p in exercise.participants if p.id == inject.participant_id]
    role = inject.recipient_role.strip().casefold()
    return [p for p in exercise.participants if role and p.role.strip().casefold() == role]


def send_alert(session: Session, settings: Settings | None, exercise: Exercise,
               contacts: list[int], texts: dict[str, str], channels: list[str],
               source_ref: str, *, ack_required: bool = False) -> Alert:
    """An Exercise alert of the exercise's activation to the named contacts only, sent
    through the engine (its ledger written); :class:`alerts.AlertError` if refused."""
    alert = alerts.create_alert(session, alerts.AlertDraft(
        source=SOURCE, cap_status="Exercise", texts=texts, audience={"contacts": contacts},
        channels=channels, activation_id=exercise.activation_id, source_ref=source_ref,
        ack_required=ack_required), None)
    alerts.submit(session, alert, None)  # an Exercise to named contacts: no second person
    alerts.start_sending(session, alert,
                         configured_channels(settings) if settings is not None else set())
    return alert


def _send(session: Session, settings: Settings | None, exercise: Exercise,
          inject: Inject) -> None:
    contacts = list(dict.fromkeys(
        p.contact_id for p in recipients(exercise, inject) if p.contact_id is not None))
    if not contacts:
        inject.data = {**(inject.data or {}), "unreached": "no recipient with an address"}
        return
    try:
        alert = send_alert(session, settings, exercise, contacts,
                           {"lv": inject.text, "en": inject.text}, [inject.channel],
                           f"exercise_inject:{inject.id}", ack_required=True)
    except alerts.AlertError as error:  # e.g. wording an exercise text may not carry
        log.warning("exercise %s inject %s not sent (%s)", exercise.id, inject.number,
                    error.field)
        inject.data = {**(inject.data or {}), "refused": error.field}
        return
    inject.alert_id = alert.id


def drill_identifier(identifier: str, exercise: Exercise) -> str:
    """The exercise's own identifier of a recorded warning: never the real one's, and the
    same for every document of one warning (an Update finds what it references)."""
    return f"{identifier}#exercise-{exercise.id}"


def drill_document(exercise: Exercise, recorded: cap.CapDocument) -> cap.CapDocument:
    """The recorded document as the exercise replays it: issued now (every time moved
    by the same amount), status Exercise, identifiers of the exercise's own."""
    shift = clock.now() - recorded.sent

    def moved(when: datetime | None) -> datetime | None:
        return None if when is None else when + shift

    return replace(
        recorded, identifier=drill_identifier(recorded.identifier, exercise),
        status="Exercise", sent=recorded.sent + shift,
        references=tuple(replace(r, identifier=drill_identifier(r.identifier, exercise),
                                 sent=r.sent + shift) for r in recorded.references),
        infos=tuple(replace(info, effective=moved(info.effective), onset=moved(info.onset),
                            expires=info.expires + shift) for info in recorded.infos))


def replay_warning(session: Session, settings: Settings, exercise: Exercise,
                   inject: Inject) -> None:
    """Store the inject's recorded warning as the exercise's and escalate it as a drill."""
    try:
        recorded = cap.parse((inject.cap_document or "").encode())
    except cap.CapRejected as error:  # checked when the inject was saved; kept as a record
        inject.data = {**(inject.data or {}), "refused": error.reason}
        return
    people = recipients(exercise, inject) if (
        inject.participant_id is not None or inject.recipient_role.strip()) else [
        p for p in exercise.participants if p.kind == "participant"]
    contacts = tuple(dict.fromkeys(p.contact_id for p in people if p.contact_id is not None))
    outcome = warnings.record(
        session, drill_document(exercise, recorded), inject.cap_document.encode(),
        source_url=f"exercise:{exercise.id}", home_codes=list(settings.home_areas),
        activation_id=exercise.activation_id)
    notice = alerting.on_change(session, outcome, settings, alerting.Drill(
        exercise.activation_id, contacts)) if contacts else None
    inject.data = {**(inject.data or {}),
                   "warning_id": outcome.warning.id if outcome.warning else None}
    if not contacts:
        inject.data["unreached"] = "no recipient with an address"
    elif notice is None or notice.alert_id is None:
        inject.data["unreached"] = "the warning called for no alert (not for home, " \
                                   "no policy for its level, or nothing changed)"
    inject.alert_id = notice.alert_id if notice is not None else None


def _deliver(session: Session, settings: Settings | None, exercise: Exercise,
             inject: Inject, by_user_id: int | None = None) -> None:
    """Mark the inject delivered and send it (the caller holds the exercise's row)."""
    inject.delivered_at = clock.now()
    inject.released_by_id = by_user_id
    if inject.channel == "warning":
        if settings is None:
            raise RunError("settings", "a warning inject needs the settings (home areas)")
        replay_warning(session, settings, exercise, inject)
    elif inject.channel in ENGINE_CHANNELS:
        _send(session, settings, exercise, inject)
    session.flush()


def _waiting(session: Session, exercise: Exercise) -> list[Inject]:
    return list(session.scalars(
        select(Inject).where(Inject.exercise_id == exercise.id, Inject.delivered_at.is_(None))
        .order_by(Inject.offset_s, Inject.number)
        .execution_options(populate_existing=True)))


def deliver_due(session: Session, settings: Settings | None) -> list[Inject]:
    """Deliver every inject due in every running exercise; returns those delivered."""
    settings = _settings(settings)
    delivered: list[Inject] = []
    for exercise_id in list(session.scalars(
            select(Exercise.id).where(Exercise.state == "running").order_by(Exercise.id))):
        exercise = session.get(Exercise, exercise_id)
        assert exercise is not None
        _lock(session, exercise)
        if exercise.state != "running":
            continue
        reached = elapsed(exercise)
        for inject in _waiting(session, exercise):
            if inject.offset_s > reached:
                break
            _deliver(session, settings, exercise, inject)
            delivered.append(inject)
    return delivered


def release(session: Session, inject: Inject, by_user_id: int | None,
            settings: Settings | None = None) -> Inject:
    """The controller sends one inject now, before its time; it is not sent again."""
    exercise = inject.exercise
    _lock(session, exercise)
    _in_state(exercise, "running", "paused")
    session.refresh(inject)
    if inject.delivered_at is not None:
        raise RunError("inject", _("This inject has been delivered already."))
    _deliver(session, _settings(settings), exercise, inject, by_user_id)
    return inject
