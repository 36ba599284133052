"""From a warning's change to alerts, through the notification engine.

Only upstream status Actual and scope Public escalate, only warnings that affect
home, and only while they are in force. What a change calls for:

- a warning now in force for home, nobody told yet → an alert;
- the level went up → a new alert that says so (upgrade);
- the level went down, or the validity moved → an update to those already told;
- the warning ended (Cancel, AllClear, left LVĢMC's list) → an all-clear to those
  already told;
- the same level and times again (a re-issue) → nothing.

Quiet hours: a notice whose policy keeps quiet hours (yellow by default), and every
all-clear, is held between 21:00 and 07:00 Europe/Riga and re-checked when it
comes due: dropped if the warning expired, ended or changed level meanwhile. The
alert is built when it is released, from the warning as it is then.

A drill (:class:`Drill`): a recorded warning replayed in an exercise
(exercises/run.py) belongs to the exercise's activation and carries CAP status
Exercise. It takes the same path with three differences: its alerts are Exercise
alerts of that activation, they reach only the exercise's participants (named
contacts; the audience resolver refuses everyone else for a non-Actual alert), and
exercise time knows no quiet hours. Real warnings never escalate as drills, and drills
never as real warnings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.areas import service as areas
from sargs.channels import alerts
from sargs.channels.ledger import configured_channels
from sargs.channels.models import Alert
from sargs.settings import Settings
from sargs.shelters import guidance
from sargs.warnings import alert_texts, policies
from sargs.warnings.models import WarningNotice, WeatherWarning
from sargs.warnings.service import LEVEL_RANK, Outcome

log = logging.getLogger(__name__)

QUIET_FROM, QUIET_UNTIL = time(21, 0), time(7, 0)
ANNOUNCING = ("alert", "upgrade", "update")


def settings_of_app() -> Settings:
    return current_app.extensions["sargs"].settings


def quiet_until(now: datetime, zone: Any) -> datetime | None:
    """The next 07:00 local when ``now`` is in quiet hours, else None."""
    local = now.astimezone(zone)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return None
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=zone)


def _notices(session: Session, warning_id: int) -> list[WarningNotice]:
    return list(session.scalars(select(WarningNotice).where(WarningNotice.warning_id == warning_id)
                                .order_by(WarningNotice.id)))


@dataclass(frozen=True)
class Drill:
    """An exercise's replay: its activation, and the participants' contacts."""

    activation_id: int
    contacts: tuple[int, ...]


def escalates(warning: WeatherWarning, drill: Drill | None = None) -> bool:
    if drill is not None:
        return (warning.cap_status == "Exercise" and warning.scope == "Public"
                and warning.activation_id == drill.activation_id)
    return (warning.cap_status == "Actual" and warning.scope == "Public"
            and warning.activation_id is None)


def decide(warning: WeatherWarning, notices: list[WarningNotice]) -> str | None:
    """The kind of notice the warning's current state calls for, or None."""
    announced = [n for n in notices if n.state == "sent" and n.kind in ANNOUNCING]
    if warning.state == "ended":
        told = [n for n in notices if n.state == "sent"]
        cleared = any(n.kind == "all_clear" and n.state != "dropped" for n in notices)
        return "all_clear" if told and not cleared else None
    if warning.state != "active" or not warning.affects_home or warning.expires <= clock.now():
        return None
    if not announced:
        return "alert"
    last = announced[-1]
    if LEVEL_RANK[warning.level] > LEVEL_RANK[last.level]:
        return "upgrade"
    if LEVEL_RANK[warning.level] < LEVEL_RANK[last.level]:
        return "update"
    if (warning.onset, warning.expires) != (last.onset, last.expires):
        return "update"
    return None


def on_change(session: Session, outcome: Outcome, settings: Settings | None = None,
              drill: Drill | None = None) -> WarningNotice | None:
    """Act on what one document did to its warning (called by the ingest, and by an
    exercise replaying a recorded warning with its ``drill``)."""
    warning = outcome.warning
    if warning is None or outcome.version is None or outcome.superseded:
        return None
    if not escalates(warning, drill):
        return None
    if warning.state != "ended" and not warning.affects_home:
        return None  # elsewhere: nothing to tell (the common case in a national feed)
    notices = _notices(session, warning.id)
    kind = decide(warning, notices)
    if kind is None:
        return None
    settings = settings or settings_of_app()
    policy = policies.choose(session, warning.level, warning.awareness_type, warning.home_areas)
    if policy is None:
        log.warning("no escalation policy for %s warnings; warning %s not alerted",
                    warning.level, warning.id)
        return None
    now = clock.now()
    for held in notices:  # a newer notice replaces what still waited for the morning
        if held.state == "held":
            held.state, held.reason, held.decided_at = "dropped", "superseded", now
    frozen = policies.frozen(policy)
    quiet = drill is None and (
        (frozen["quiet_hours"] and kind != "upgrade") or kind == "all_clear")
    until = quiet_until(now, settings.zone) if quiet else None
    # An all-clear is worth sending until the end residents were told of (the ending
    # document's own expires is often its issue time).
    told = [n for n in notices if n.state == "sent" and n.kind in ANNOUNCING]
    onset, expires = (told[-1].onset, told[-1].expires) if kind == "all_clear" else (
        warning.onset, warning.expires)
    notice = WarningNotice(
        warning_id=warning.id, version_id=outcome.version.id, kind=kind, level=warning.level,
        onset=onset, expires=expires, state="held", due_at=until or now,
        policy=frozen, created_at=now, reason="quiet hours" if until else None,
    )
    session.add(notice)
    session.flush()
    if until is None:
        release(session, notice, settings, drill)
    return notice


def _still_true(warning: WeatherWarning, notice: WarningNotice) -> str | None:
    """Why a held notice must not go out now, or None when it still says the truth."""
    if notice.kind == "all_clear":
        if warning.state != "ended":
            return "warning in force again"
        # Past the end it announced, everyone told already knows it is over.
        return "expired" if notice.expires <= clock.now() else None
    if warning.state != "active" or warning.expires <= clock.now():
        return "expired" if warning.state == "expired" or warning.expires <= clock.now() \
            else "ended"
    if warning.level != notice.level:
        return "level changed"
    return None


def release(session: Session, notice: WarningNotice, settings: Settings,
            drill: Drill | None = None) -> Alert | None:
    """Send a notice now: build its alert from the warning as it is, submit, send."""
    warning = session.get(WeatherWarning, notice.warning_id)
    assert warning is not None
    why_not = _still_true(warning, notice)
    if why_not:
        notice.state, notice.reason, notice.decided_at = "dropped", why_not, clock.now()
        session.flush()
        return None
    alert = _create_alert(session, warning, notice, settings, drill)
    notice.state, notice.alert_id, notice.decided_at = "sent", alert.id, clock.now()
    session.flush()
    alerts.submit(session, alert, None)
    if alert.state == "approved":
        alerts.start_sending(session, alert, configured_channels(settings))
    return alert


def _area_names(session: Session, warning: WeatherWarning) -> list[str]:
    names = []
    for code in warning.home_areas:
        area = areas.get_area(session, code)
        names.append(area.name if area is not None else code)
    return names


def _told_alerts(session: Session, warning_id: int) -> list[int]:
    return [n.alert_id for n in _notices(session, warning_id)
            if n.state == "sent" and n.alert_id is not None]


def _create_alert(session: Session, warning: WeatherWarning, notice: WarningNotice,
                  settings: Settings, drill: Drill | None = None) -> Alert:
    policy = notice.policy
    names = _area_names(session, warning)
    told = _told_alerts(session, warning.id)
    msg_type = "Alert"
    references_id = None
    chain = None
    channels = list(policy["channels"])
    if notice.kind in ("all_clear", "update"):
        # Follow-ups go wherever the alerts they follow reached people.
        channels = list(dict.fromkeys(
            c for alert_id in told for c in (session.get(Alert, alert_id).channels or [])))
    if notice.kind == "all_clear":
        bodies = alert_texts.ended_texts(warning, warning.home_areas, names)
        audience: dict[str, Any] = {"told_of": told}
        msg_type, references_id = "Update", told[-1]
    elif notice.kind == "update":
        previous = session.get(Alert, told[-1])
        lower = previous is not None and LEVEL_RANK[warning.level] < LEVEL_RANK.get(
            previous.level or "", 0)
        change = alert_texts.DOWNGRADED if lower else alert_texts.CHANGED
        bodies = alert_texts.warning_texts(warning, warning.home_areas, names, settings.zone,
                                           change=change)
        audience = {"told_of": told}
        msg_type, references_id = "Update", told[-1]
    else:
        change = alert_texts.UPGRADED if notice.kind == "upgrade" else None
        # Orange and red alerts name the open shelters, when there are any.
        hint = guidance.shelter_hint(session, warning.home_areas, base_url=settings.base_url) \
            if warning.level in ("orange", "red") else None
        bodies = alert_texts.warning_texts(warning, warning.home_areas, names, settings.zone,
                                           change=change, shelter_hint=hint)
        audience = {"groups": list(policy["audience"].get("groups", []))}
        if policy["audience"].get("public"):
            audience["public"] = {"areas": list(warning.home_areas)}
        if drill is not None:  # the participants, and they acknowledge: the report times it
            audience = {"contacts": list(drill.contacts)}
        elif policy.get("ack_chain"):
            contacts = policies.chain_contacts(session, policy["ack_chain"])
            if contacts:
                chain = {"contacts": contacts, "minutes": policy["ack_chain"]["minutes"],
                         "rounds": policy["ack_chain"]["rounds"],
                         "channels": policy["ack_chain"]["channels"]}
    draft = alerts.AlertDraft(
        source="warning", cap_status="Actual" if drill is None else "Exercise", texts=bodies,
        audience=audience, channels=channels, level=warning.level,
        activation_id=None if drill is None else drill.activation_id,
        expires_at=warning.expires if warning.expires > clock.now() else None,
        source_ref=f"warning:{warning.id}",
        ack_required=chain is not None or (drill is not None and notice.kind != "all_clear"),
        escalation=chain,
    )
    alert = alerts.create_alert(session, draft, None)
    alert.msg_type, alert.references_id = msg_type, references_id
    # A drill is sent as the policy would send it, without the commission's approval.
    alert.requires_approval = drill is None and bool(policy.get("approval_required"))
    session.flush()
    return alert


def release_due(session: Session, settings: Settings) -> int:
    """Release the held notices that came due (each re-checked); returns how many."""
    due = session.scalars(select(WarningNotice).where(
        WarningNotice.state == "held", WarningNotice.due_at <= clock.now())
        .order_by(WarningNotice.due_at)).all()
    for notice in due:
        release(session, notice, settings)
    return len(due)
