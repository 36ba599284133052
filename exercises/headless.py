"""An exercise run headless, in real time, against the provider simulators
(``sargs exercises run ID``): a rehearsal of the whole chain without a trainer at the
controls and without anyone's phone ringing.

A copy of the settings, for this run only, points every channel at the simulators (no
shared Redis budgets either). The loop does what the scheduler and the worker do —
:func:`run.deliver_due`, then the dispatcher drains the ledger — and plays the
participants: each one acknowledges an inject once it reached them (a "page" inject at
its delivery, any other when their ledger row was handed to the simulator) after a
short reaction, recorded as their acknowledgement over that channel, as their reply
would be. The run ends once every inject is delivered, the exercise time has passed
the last one, and the sends and reactions have settled (or a grace period ran out).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sargs import clock
from sargs.channels.dispatcher import Dispatcher, drain
from sargs.channels.models import Alert, Delivery
from sargs.channels.rates import budgets_for
from sargs.channels.worker import build_adapters
from sargs.exercises import conduct, run
from sargs.exercises.models import RESPONSE_VIAS, Exercise, Inject, Participant
from sargs.settings import Settings

# How long simulated people take to acknowledge, in exercise seconds (a minute to
# three): real seconds shrink with the speed, so a fast run is not all waiting.
REACTIONS_S = (60.0, 90.0, 120.0, 180.0)
TICK_S = 0.05
GRACE_S = 30.0  # real seconds after the last inject for sends and reactions to settle
SIMULATED_FROM = "+37163000000"  # the sender number when none is configured
UNSETTLED = ("pending", "claimed")
REACHED = ("sent", "delivered")
SUMMARY_KEYS = ("injects", "delivered", "acknowledged", "median_ack_s",
                "leaked_to_non_participants")


def pointed_at(settings: Settings, simulators: dict[str, Any]) -> Settings:
    """A copy of the settings with every channel at the simulators."""
    twilio, telegram = simulators["twilio"], simulators["telegram"]
    configured = settings.model_copy(update={
        "twilio_api_url": twilio.url, "twilio_account_sid": twilio.account_sid,
        "twilio_from_number": settings.twilio_from_number or SIMULATED_FROM,
        "telegram_api_url": telegram.url, "smtp_url": simulators["smtp"].url,
        "pbx_ami_url": simulators["ami"].url, "sip_proxy": None, "redis_url": None})
    configured.twilio_auth_token = SecretStr(twilio.auth_token)
    configured.telegram_bot_token = SecretStr(telegram.token)
    return configured


@contextmanager
def dispatching(sessions: sessionmaker[Session], configured: Settings) -> Iterator[Dispatcher]:
    """A dispatcher sending through the channels ``configured`` names (the simulators,
    after :func:`pointed_at`), with the same budgets as the worker's; closed after."""
    adapters = build_adapters(configured)
    dispatcher = Dispatcher(sessions, adapters, budgets=budgets_for(adapters, configured))
    try:
        yield dispatcher
    finally:
        dispatcher.close()
        for adapter in adapters.values():
            getattr(adapter, "close", lambda: None)()


def _via(channel: str) -> str:
    return channel if channel in RESPONSE_VIAS else "voice"  # a PBX or SIP call


class Players:
    """The simulated participants: who was reached by what, and their acknowledgements."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.done: set[tuple[int, int]] = set()  # (inject id, participant id) acknowledged
        self.waiting = 0  # reached and not yet acknowledged, after the last round

    def reaction(self, participant: Participant) -> timedelta:
        return timedelta(seconds=REACTIONS_S[participant.id % len(REACTIONS_S)] / self.speed)

    def _reached(self, session: Session, inject: Inject, participant: Participant
                 ) -> tuple[datetime, str] | None:
        """When and over which channel the inject reached the participant, if it did."""
        if inject.channel == "page":
            return inject.delivered_at, "page"
        if inject.alert_id is None or participant.contact_id is None:
            return None
        row = session.scalar(
            select(Delivery).where(Delivery.alert_id == inject.alert_id,
                                   Delivery.contact_id == participant.contact_id,
                                   Delivery.state.in_(REACHED), Delivery.sent_at.is_not(None))
            .order_by(Delivery.sent_at, Delivery.id).limit(1))
        return (row.sent_at, _via(row.channel)) if row is not None else None

    def act(self, session: Session, exercise: Exercise) -> None:
        """Acknowledge what reached each participant and whose reaction time is up."""
        now, self.waiting = clock.now(), 0
        for participant in exercise.participants:
            for inject in conduct.sent_to(exercise, participant):
                key = (inject.id, participant.id)
                if key in self.done:
                    continue
                reached = self._reached(session, inject, participant)
                if reached is None:
                    continue
                at, via = reached
                if now < at + self.reaction(participant):
                    self.waiting += 1
                    continue
                conduct.respond(session, exercise, participant, "acknowledgement",
                                inject=inject, via=via)
                self.done.add(key)


def _unsettled(session: Session, exercise: Exercise) -> int:
    """Ledger rows of the exercise still to be sent."""
    return len(session.scalars(
        select(Delivery.id).join(Alert, Alert.id == Delivery.alert_id)
        .where(Alert.activation_id == exercise.activation_id,
               Delivery.state.in_(UNSETTLED))).all())


def run_headless(sessions: sessionmaker[Session], settings: Settings, exercise_id: int,
                 speed: float, simulators: dict[str, Any], *, by_user_id: int | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Run the ready exercise to its end; returns :func:`conduct.summary` reduced to
    :data:`SUMMARY_KEYS`. Raises :class:`run.RunError` when it cannot start."""
    configured = pointed_at(settings, simulators)
    players = Players(speed)
    with dispatching(sessions, configured) as dispatcher:
        with sessions() as session:
            exercise = session.get(Exercise, exercise_id)
            if exercise is None:
                raise run.RunError("exercise", f"no exercise {exercise_id}")
            run.start(session, exercise, by_user_id, speed)
            session.commit()
            last = max((i.offset_s for i in exercise.injects), default=0)
        settled_by: datetime | None = None
        while True:
            with sessions() as session:
                run.deliver_due(session, configured)
                session.commit()
            drain(dispatcher)
            with sessions() as session:
                exercise = session.get(Exercise, exercise_id)
                assert exercise is not None
                players.act(session, exercise)
                session.commit()
                all_out = run.next_inject(exercise) is None and run.elapsed(exercise) >= last
                if all_out and settled_by is None:
                    settled_by = clock.now() + timedelta(seconds=GRACE_S)
                if all_out and (clock.now() >= settled_by or (
                        not players.waiting and not _unsettled(session, exercise))):
                    break
            sleep(TICK_S)
        with sessions() as session:
            exercise = session.get(Exercise, exercise_id)
            assert exercise is not None
            run.end(session, exercise, by_user_id)
            session.commit()
            measured = conduct.summary(session, exercise)
    return {key: measured[key] for key in SUMMARY_KEYS}
