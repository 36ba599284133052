"""The communications check before the start: every person of the exercise is pinged
on every address they have, and the controller sees who was reached.

The check is an Exercise alert of the exercise's activation (opened by the check when
the exercise has none yet; the start then keeps it) to the contacts of all its people —
controllers, evaluators and participants — over every channel any of them has an
address on (Telegram, SMS, e-mail, voice), acknowledgement asked for. The engine marks
it "MĀCĪBAS"/"EXERCISE" and reaches nobody but the contacts named.

Who is unreachable, per person, from the ledger of the check's alert:

- *acknowledged* — they confirmed (Telegram button, SMS reply, voice key): reached;
- *reached* — at least one delivery is delivered: reached;
- *unreachable* — no address to try (no contact, or nothing on those channels), or
  every delivery finished (delivered, failed, undeliverable, cancelled, expired) and
  none was delivered, or :data:`GRACE` has passed since the check and none was
  delivered nor acknowledged (a message "sent" without a receipt does not count);
- *waiting* — otherwise: deliveries still under way, judged later.

Plain functions on a session; callers commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.channels import alerts
from sargs.channels.models import (
    FINAL_DELIVERY_STATES,
    Acknowledgement,
    ContactAddress,
    Delivery,
)
from sargs.exercises import run
from sargs.exercises.conduct import ConductError
from sargs.exercises.models import CommunicationsCheck, Exercise, Participant
from sargs.settings import Settings

CHECK_CHANNELS = ("telegram", "sms", "email", "voice")
TEXTS = {"lv": "Sakaru pārbaude: lūdzu apstipriniet saņemšanu",
         "en": "Communications check: please acknowledge"}
# After this long, whoever has no delivered message and no acknowledgement is unreachable.
GRACE = timedelta(minutes=10)
# Of one person's rows on one channel, the one shown: the furthest along.
_ORDER = ("delivered", "sent", "claimed", "pending", "held", "failed", "undeliverable",
          "expired", "cancelled")


def communications_check(session: Session, exercise: Exercise, by_user_id: int | None,
                         settings: Settings | None) -> CommunicationsCheck:
    """Ping every person of a ready or running exercise; the check records its alert
    (none when nobody has an address: then everybody is unreachable)."""
    if exercise.state not in ("ready", "running", "paused"):
        raise ConductError("exercise", _(
            "A communications check is made on a ready or running exercise."))
    contacts = list(dict.fromkeys(
        p.contact_id for p in exercise.participants if p.contact_id is not None))
    on = set(session.scalars(select(ContactAddress.channel).where(
        ContactAddress.contact_id.in_(contacts), ContactAddress.active.is_(True)))) \
        if contacts else set()
    channels = [c for c in CHECK_CHANNELS if c in on]
    check = CommunicationsCheck(exercise_id=exercise.id, by_user_id=by_user_id,
                                at=clock.now())
    if channels:
        run.exercise_activation(session, exercise, by_user_id)
        try:
            alert = run.send_alert(session, settings, exercise, contacts, dict(TEXTS),
                                   channels, f"exercise_check:{exercise.id}",
                                   ack_required=True)
        except alerts.AlertError as error:
            raise ConductError("exercise", error.message) from None
        check.alert_id = alert.id
    session.add(check)
    session.flush()
    return check


def latest_check(session: Session, exercise: Exercise) -> CommunicationsCheck | None:
    return session.scalar(select(CommunicationsCheck)
                          .where(CommunicationsCheck.exercise_id == exercise.id)
                          .order_by(CommunicationsCheck.at.desc(),
                                    CommunicationsCheck.id.desc()).limit(1))


@dataclass
class Reach:
    """One person in a check: the state of their delivery per channel and the verdict."""

    participant: Participant
    channels: dict[str, str]  # channel → ledger state
    acknowledged_at: datetime | None
    status: str  # acknowledged, reached, waiting, unreachable

    @property
    def unreachable(self) -> bool:
        return self.status == "unreachable"


def _shown(states: list[str]) -> str:
    return min(states, key=lambda s: _ORDER.index(s) if s in _ORDER else len(_ORDER))


def check_results(session: Session, check: CommunicationsCheck) -> list[Reach]:
    """Every person of the check's exercise, in the exercise's order, with the verdict
    of the module's rule."""
    exercise = session.get(Exercise, check.exercise_id)
    assert exercise is not None
    rows: dict[int, dict[str, list[str]]] = {}
    acks: dict[int, datetime] = {}
    if check.alert_id is not None:
        for delivery in session.scalars(select(Delivery).where(
                Delivery.alert_id == check.alert_id).order_by(Delivery.id)):
            if delivery.contact_id is not None:
                rows.setdefault(delivery.contact_id, {}).setdefault(
                    delivery.channel, []).append(delivery.state)
        acks = {a.contact_id: a.at for a in session.scalars(select(Acknowledgement).where(
            Acknowledgement.alert_id == check.alert_id)) if a.contact_id is not None}
    late = clock.now() - check.at >= GRACE
    found: list[Reach] = []
    for person in exercise.participants:
        mine = rows.get(person.contact_id, {}) if person.contact_id is not None else {}
        states = [s for channel in mine.values() for s in channel]
        acked = acks.get(person.contact_id) if person.contact_id is not None else None
        if acked is not None:
            status = "acknowledged"
        elif "delivered" in states:
            status = "reached"
        elif not states or late or all(s in FINAL_DELIVERY_STATES for s in states):
            status = "unreachable"
        else:
            status = "waiting"
        found.append(Reach(person, {c: _shown(s) for c, s in mine.items()}, acked, status))
    return found
