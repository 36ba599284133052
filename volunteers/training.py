"""The training module (to be written): courses, sessions, enrolment with a waiting list."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def cancel(session: Session, enrolment: Any) -> None:
    enrolment.state = "cancelled"


def run_due(session: Session, settings: Any) -> None:
    return None
