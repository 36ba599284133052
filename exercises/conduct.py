"""During and after the run: who may see what, what participants answer and decide,
what evaluators observe, and what the run measured.

Access is per exercise. Trainers and admins manage every exercise; a user assigned to
an exercise (:class:`~sargs.exercises.models.Participant` with their ``user_id``) sees
that exercise only, in their part: a controller runs it, an evaluator observes it, a
participant sees the injects sent to them and their own log.

The measures come from the ledger and the participants' log: for each delivered inject
and each of its recipients, when it was delivered, acknowledged (a page
acknowledgement, or the engine's — Telegram button, SMS reply, voice key) and answered
(the first answer or decision on it). Times are real seconds: people react in real
time whatever the exercise clock's speed.

Plain functions on a session; callers commit.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.channels.models import Acknowledgement, Alert, Delivery
from sargs.exercises import run
from sargs.exercises.models import (
    RATINGS,
    RESPONSE_KINDS,
    RESPONSE_VIAS,
    Exercise,
    Inject,
    Objective,
    Observation,
    Participant,
    Response,
)

MANAGERS = frozenset({"admin", "trainer"})
TEXT_LIMIT = 4000
# Delivered and neither acknowledged nor answered for this long (exercise time): missed.
MISSED_AFTER_S = 15 * 60


class ConductError(ValueError):
    """A rule of the run refused the entry; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- access -------------------------------------------------------------------------------


def assignments(exercise: Exercise, user_id: int | None) -> list[Participant]:
    """The user's rows in the exercise (one person may both control and evaluate)."""
    return [p for p in exercise.participants if user_id is not None and p.user_id == user_id]


def parts(exercise: Exercise, user: Any) -> set[str]:
    """What the user is in this exercise: "manager" (trainer, admin), "controller",
    "evaluator", "participant" — empty when they have no business with it."""
    found = {p.kind for p in assignments(exercise, getattr(user, "id", None))}
    if MANAGERS & set(getattr(user, "role_names", ()) or ()):
        found.add("manager")
    return found


def may_control(exercise: Exercise, user: Any) -> bool:
    return bool({"manager", "controller"} & parts(exercise, user))


def may_evaluate(exercise: Exercise, user: Any) -> bool:
    return bool({"manager", "controller", "evaluator"} & parts(exercise, user))


def player(exercise: Exercise, user: Any) -> Participant | None:
    """The user's participant row (the part they play), if they play one."""
    return next((p for p in assignments(exercise, getattr(user, "id", None))
                 if p.kind == "participant"), None)


def exercises_of(session: Session, user_id: int) -> list[Exercise]:
    """The exercises the user is assigned to, newest first."""
    ids = select(Participant.exercise_id).where(Participant.user_id == user_id)
    return list(session.scalars(select(Exercise).where(Exercise.id.in_(ids))
                                .order_by(Exercise.scheduled_at.desc())))


# --- what participants see and do ----------------------------------------------------------


def sent_to(exercise: Exercise, participant: Participant) -> list[Inject]:
    """The delivered injects that were sent to the participant, in delivery order."""
    return sorted((i for i in exercise.injects if i.delivered_at is not None
                   and participant in _reached(exercise, i)),
                  key=lambda i: (i.delivered_at, i.number))


def _reached(exercise: Exercise, inject: Inject) -> list[Participant]:
    """Whom the inject was meant for: its recipients, or for a warning without any, every
    participant (as exercises/run.py sends it)."""
    if inject.channel == "warning" and inject.participant_id is None \
            and not inject.recipient_role.strip():
        return [p for p in exercise.participants if p.kind == "participant"]
    return run.recipients(exercise, inject)


def own_log(session: Session, participant: Participant) -> list[Response]:
    return list(session.scalars(select(Response).where(Response.participant_id == participant.id)
                                .order_by(Response.at, Response.id)))


def respond(session: Session, exercise: Exercise, participant: Participant, kind: str,
            text: str = "", inject: Inject | None = None, via: str = "page") -> Response:
    """Record an acknowledgement, an answer or a decision. An acknowledgement counts once
    per inject and person (a repeat returns the first); answers and decisions are never
    edited — a correction is a new entry."""
    if participant.exercise_id != exercise.id:
        raise ConductError("participant", _("This person is not in this exercise."))
    if exercise.state not in ("running", "paused"):
        raise ConductError("exercise", _("The exercise is not running."))
    if kind not in RESPONSE_KINDS:
        raise ConductError("kind", _("Choose acknowledgement, answer or decision."))
    if via not in RESPONSE_VIAS:
        raise ConductError("via", _("Unknown channel."))
    text = (text or "").strip()
    if kind != "acknowledgement" and not text:
        raise ConductError("text", _("Write the answer or the decision."))
    if len(text) > TEXT_LIMIT:
        raise ConductError("text", _("At most %(n)s characters.", n=TEXT_LIMIT))
    if inject is not None and (inject.exercise_id != exercise.id
                               or inject not in sent_to(exercise, participant)):
        raise ConductError("inject", _("This inject was not sent to you."))
    if kind == "acknowledgement":
        if inject is None:
            raise ConductError("inject", _("Choose the inject you acknowledge."))
        first = session.scalar(select(Response).where(
            Response.participant_id == participant.id, Response.inject_id == inject.id,
            Response.kind == "acknowledgement"))
        if first is not None:
            return first
    entry = Response(exercise_id=exercise.id, participant_id=participant.id,
                     inject_id=inject.id if inject is not None else None, kind=kind, text=text,
                     via=via, exercise_time_s=run.elapsed(exercise), at=clock.now())
    session.add(entry)
    session.flush()
    return entry


# --- evaluation --------------------------------------------------------------------------


def observe(session: Session, exercise: Exercise, objective: Objective | None, rating: str,
            text: str, *, user_id: int | None, strength: str = "",
            improvement: str = "") -> Observation:
    """An evaluator's observation on an objective, with one of the four ratings."""
    if exercise.state == "draft":
        raise ConductError("exercise", _("Observations are recorded once the exercise runs."))
    if objective is None or objective.exercise_id != exercise.id:
        raise ConductError("objective", _("Choose one of this exercise's objectives."))
    if rating not in RATINGS:
        raise ConductError("rating", _("Choose one of the four ratings."))
    for field, value in (("text", text), ("strength", strength), ("improvement", improvement)):
        if len(value or "") > TEXT_LIMIT:
            raise ConductError(field, _("At most %(n)s characters.", n=TEXT_LIMIT))
    if not (text or "").strip():
        raise ConductError("text", _("Write what you observed."))
    evaluator = next((p for p in assignments(exercise, user_id) if p.kind == "evaluator"), None)
    entry = Observation(
        exercise_id=exercise.id, objective_id=objective.id, rating=rating,
        evaluator_id=evaluator.id if evaluator else None, user_id=user_id,
        text=text.strip(), strength=(strength or "").strip(),
        improvement=(improvement or "").strip(), exercise_time_s=run.elapsed(exercise),
        at=clock.now())
    session.add(entry)
    session.flush()
    return entry


def observations(session: Session, exercise: Exercise) -> list[Observation]:
    return list(session.scalars(select(Observation).where(Observation.exercise_id == exercise.id)
                                .order_by(Observation.at, Observation.id)))


def ratings(session: Session, exercise: Exercise) -> dict[int, str | None]:
    """Objective id → its latest rating (None: not rated yet)."""
    found: dict[int, str | None] = {o.id: None for o in exercise.objectives}
    for entry in observations(session, exercise):
        if entry.objective_id in found:
            found[entry.objective_id] = entry.rating
    return found


# --- what the run measured ---------------------------------------------------------------


@dataclass
class Line:
    """One inject to one recipient, as the timeline shows it."""

    inject: Inject
    participant: Participant | None  # None: an inject that reached nobody
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    answered_at: datetime | None
    state: str  # waiting, delivered, acknowledged, answered, missed, unreached

    @property
    def ack_s(self) -> float | None:
        return _seconds(self.delivered_at, self.acknowledged_at)

    @property
    def answer_s(self) -> float | None:
        return _seconds(self.delivered_at, self.answered_at)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else max(0.0, (end - start).total_seconds())


def _engine_acks(session: Session, exercise: Exercise) -> dict[tuple[int, int], datetime]:
    """(alert id, contact id) → when the engine recorded the person's acknowledgement."""
    alert_ids = [i.alert_id for i in exercise.injects if i.alert_id is not None]
    if not alert_ids:
        return {}
    return {(a.alert_id, a.contact_id): a.at for a in session.scalars(
        select(Acknowledgement).where(Acknowledgement.alert_id.in_(alert_ids)))
        if a.contact_id is not None}


def timeline(session: Session, exercise: Exercise) -> list[Line]:
    """Every inject × recipient with its delivery, acknowledgement and answer, in order."""
    acks = _engine_acks(session, exercise)
    firsts: dict[tuple[int, int, str], datetime] = {}
    for entry in session.scalars(select(Response).where(Response.exercise_id == exercise.id,
                                                         Response.inject_id.is_not(None))
                                 .order_by(Response.at, Response.id)):
        kind = "ack" if entry.kind == "acknowledgement" else "answer"
        firsts.setdefault((entry.inject_id, entry.participant_id, kind), entry.at)
    now_s = run.elapsed(exercise)
    lines: list[Line] = []
    for inject in exercise.injects:
        people = _reached(exercise, inject)
        if not people:
            lines.append(Line(inject, None, inject.delivered_at, None, None,
                              "unreached" if inject.delivered_at else "waiting"))
            continue
        for person in people:
            answered = firsts.get((inject.id, person.id, "answer"))
            engine = acks.get((inject.alert_id, person.contact_id)) if inject.alert_id else None
            acked = min((t for t in (firsts.get((inject.id, person.id, "ack")), engine,
                                     answered) if t is not None), default=None)
            if inject.delivered_at is None:
                state = "waiting"
            elif answered is not None:
                state = "answered"
            elif acked is not None:
                state = "acknowledged"
            elif exercise.state == "ended" or now_s - inject.offset_s >= MISSED_AFTER_S:
                state = "missed"
            else:
                state = "delivered"
            lines.append(Line(inject, person, inject.delivered_at, acked, answered, state))
    return lines


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def leaked(session: Session, exercise: Exercise) -> int:
    """Ledger rows of the exercise's activation that went to anyone but its participants,
    or that belong to an alert that is not an Exercise alert. Always 0, or a bug."""
    if exercise.activation_id is None:
        return 0
    allowed = {p.contact_id for p in exercise.participants if p.contact_id is not None}
    rows = session.execute(
        select(Delivery.contact_id, Alert.cap_status).join(Alert, Alert.id == Delivery.alert_id)
        .where(Alert.activation_id == exercise.activation_id))
    return sum(1 for contact_id, status in rows
               if status != "Exercise" or contact_id not in allowed)


def summary(session: Session, exercise: Exercise) -> dict[str, Any]:
    """The measured summary (the headless run prints it; the report shows it)."""
    lines = timeline(session, exercise)
    reached = [line for line in lines if line.participant is not None
               and line.delivered_at is not None]
    by_role: dict[str, dict[str, Any]] = {}
    for line in reached:
        role = line.participant.role or line.participant.name
        entry = by_role.setdefault(role, {"deliveries": 0, "acks": [], "answers": []})
        entry["deliveries"] += 1
        if line.ack_s is not None:
            entry["acks"].append(line.ack_s)
        if line.answer_s is not None:
            entry["answers"].append(line.answer_s)
    return {
        "injects": len(exercise.injects),
        "delivered": sum(1 for i in exercise.injects if i.delivered_at is not None),
        "deliveries": len(reached),
        "acknowledged": sum(1 for line in reached if line.acknowledged_at is not None),
        "answered": sum(1 for line in reached if line.answered_at is not None),
        "missed": sum(1 for line in reached if line.state == "missed"),
        "median_ack_s": _median([x.ack_s for x in reached if x.ack_s is not None]),
        "median_answer_s": _median([x.answer_s for x in reached if x.answer_s is not None]),
        "by_role": {role: {"deliveries": e["deliveries"], "acknowledged": len(e["acks"]),
                           "median_ack_s": _median(e["acks"]),
                           "median_answer_s": _median(e["answers"])}
                    for role, e in sorted(by_role.items())},
        "leaked_to_non_participants": leaked(session, exercise),
    }


def responses_count(session: Session, exercise: Exercise) -> int:
    return session.scalar(select(func.count(Response.id))
                          .where(Response.exercise_id == exercise.id)) or 0
