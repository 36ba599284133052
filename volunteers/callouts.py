"""Call-outs (to be written)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def run_due(session: Session, settings: Any) -> None:
    return None
