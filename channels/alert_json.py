"""An alert as the JSON object the alerts API answers and ``sargs alert … --json`` prints.

The audience is summarised (group codes, public areas, how many named contacts): the
object goes to integrations, and names or addresses of people have no place there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.channels import ledger
from sargs.channels.models import Alert

DEFAULT_LIMIT = 50


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _audience(definition: dict[str, Any]) -> dict[str, Any]:
    public = definition.get("public") or {}
    summary: dict[str, Any] = {
        "groups": list(definition.get("groups") or []),
        "public_areas": list(public.get("areas") or []) if isinstance(public, dict) else [],
        "contacts": len(definition.get("contacts") or []),
    }
    if definition.get("told_of") is not None:  # a cancel or correction
        summary["told_of"] = definition["told_of"]
        summary["whole_audience"] = bool(definition.get("whole_audience"))
    return summary


def alert_json(session: Session, alert: Alert, *, milestones: bool = False) -> dict[str, Any]:
    """``alert`` as a JSON-ready dict; ``milestones`` adds the seconds from sending until
    50, 90 and 100 % of its deliveries were finished (null while not reached)."""
    body: dict[str, Any] = {
        "id": alert.id,
        "source": alert.source,
        "source_ref": alert.source_ref,
        "cap_status": alert.cap_status,
        "msg_type": alert.msg_type,
        "level": alert.level,
        "state": alert.state,
        "created_at": _time(alert.created_at),
        "approved_at": _time(alert.approved_at),
        "sending_at": _time(alert.sending_at),
        "finished_at": _time(alert.finished_at),
        "expires_at": _time(alert.expires_at),
        "texts": {text.language: text.body for text in alert.texts},
        "channels": list(alert.channels),
        "audience": _audience(alert.audience),
        "references_id": alert.references_id,
        "progress": ledger.progress(session, alert.id),
    }
    if milestones:
        reached = ledger.milestones(session, alert.id, alert.sending_at)
        body["milestones"] = {str(share): (delta.total_seconds() if delta is not None else None)
                              for share, delta in reached.items()}
    return body


def recent_alerts(session: Session, state: str | None = None,
                  limit: int = DEFAULT_LIMIT) -> list[Alert]:
    """The newest alerts, optionally in one state."""
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    if state is not None:
        query = query.where(Alert.state == state)
    return list(session.scalars(query))
