"""The demo exercise "Vētra un elektroapgādes pārtraukums Jelgavā" (storm and power outage
in Jelgava) with the continuity plans it tests.

``data/demo_plans.json`` holds three plans as :class:`~sargs.exercises.schemas.PlanIn`
takes them: the school used as a shelter (Jelgavas Valsts ģimnāzija), the water utility
and the social-care centre. ``data/demo_storm.json`` is the exercise in the exchange
format :func:`~sargs.exercises.builder.import_json` reads (20 injects over two hours, one
of them a recorded LVĢMC red wind warning for Jelgava as CAP 1.2). Its participants also
carry a name and simulator-friendly addresses (+3712000…, example.lv, Telegram chat
ids), which the import leaves out and :func:`seed_demo` gives them afterwards. Every
name and address is made up.

Plain functions on a session; callers commit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.exercises import builder, service
from sargs.exercises.builder_schemas import ParticipantIn
from sargs.exercises.models import ContinuityPlan, Exercise
from sargs.exercises.schemas import PlanIn

DATA = Path(__file__).parent / "data"
PLANS = DATA / "demo_plans.json"
EXERCISE = DATA / "demo_storm.json"


def seed_plans(session: Session) -> list[ContinuityPlan]:
    """The demo's plans; an organisation that already has an active plan keeps it."""
    plans = []
    for given in json.loads(PLANS.read_text(encoding="utf-8")):
        existing = session.scalar(
            select(ContinuityPlan).where(ContinuityPlan.organisation == given["organisation"],
                                         ContinuityPlan.active.is_(True))
            .order_by(ContinuityPlan.id).limit(1))
        plans.append(existing or service.create_plan(session, PlanIn(**given)))
    return plans


def _addresses(given: dict[str, Any]) -> ParticipantIn:
    return ParticipantIn(**{key: given.get(key) or "" for key in (
        "kind", "name", "organisation", "role", "phone", "email", "telegram")})


def seed_demo(session: Session, by_user_id: int | None = None) -> Exercise:
    """The plans (once) and a new ready demo exercise whose objectives name their
    critical services; each call makes another exercise."""
    seed_plans(session)
    text = EXERCISE.read_text(encoding="utf-8")
    exercise = builder.import_json(session, text, by_user_id)
    people = json.loads(text)["participants"]
    for participant, given in zip(exercise.participants, people, strict=True):
        builder.update_participant(session, exercise, participant, _addresses(given))
    builder.mark_ready(session, exercise)
    session.flush()
    return exercise
