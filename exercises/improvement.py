"""The improvement plan of an exercise: what is to be done, by whom and by when, followed
with e-mail reminders until it is done.

Reminders (:func:`due_reminders`, on every scheduler tick; the rule makes it at most daily):
an action that is not done, has an owner's e-mail, and is due within
:data:`REMIND_WITHIN_DAYS` days or overdue is reminded —

* before its due day, once a week: one heads-up when it comes within a week of its due day
  (and again if it was last reminded more than a week ago);
* from its due day on, once a day until it is done.

A done action is never reminded. The reminder goes through the notification engine as
the reserves' daily list does: a "reminder" alert by e-mail to the owner, a staff
contact of this module (owner "exercises") found again by the address, so the delivery
ledger shows it and the dispatcher retries it.

Plain functions on a session; callers commit.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import has_app_context
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.channels import alerts
from sargs.channels.contacts import register_contact
from sargs.channels.ledger import configured_channels
from sargs.channels.models import Alert, Contact, ContactAddress
from sargs.exercises.models import ACTION_STATES, Exercise, ImprovementAction
from sargs.exercises.report_schemas import ActionIn
from sargs.settings import Settings

log = logging.getLogger(__name__)
OWNER = "exercises"
SOURCE = "reminder"
REMIND_WITHIN_DAYS = 7
BEFORE_DUE_EVERY = timedelta(days=7)
OVERDUE_EVERY = timedelta(hours=24)
REPORT_PATH = "/exercises/report/{id}"

TEXTS = {
    "lv": ("Sargs atgādinājums: mācību „{exercise}” uzlabojumu plāna darbība „{action}” "
           "(atbildīgais: {owner}) jāizpilda līdz {due}. {link}"),
    "en": ("Sargs reminder: the improvement action “{action}” of the exercise “{exercise}” "
           "(owner: {owner}) is due on {due}. {link}"),
}


class ActionError(ValueError):
    """A rule of the improvement plan refused the entry; ``field`` names the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def actions(session: Session, exercise: Exercise) -> list[ImprovementAction]:
    return list(session.scalars(
        select(ImprovementAction).where(ImprovementAction.exercise_id == exercise.id)
        .order_by(ImprovementAction.due_on, ImprovementAction.id)))


def _check(exercise: Exercise, data: ActionIn) -> None:
    if data.objective_id is not None and data.objective_id not in {
            o.id for o in exercise.objectives}:
        raise ActionError("objective_id", _("Choose one of this exercise's objectives."))


def add(session: Session, exercise: Exercise, data: ActionIn) -> ImprovementAction:
    """A new open action; its due day may not be in the past."""
    _check(exercise, data)
    if data.due_on < clock.local(clock.now()).date():
        raise ActionError("due_on", _("The due date is in the past."))
    now = clock.now()
    item = ImprovementAction(exercise_id=exercise.id, objective_id=data.objective_id,
                             action=data.action, owner=data.owner,
                             owner_email=data.owner_email, due_on=data.due_on, status="open",
                             created_at=now, updated_at=now)
    session.add(item)
    session.flush()
    return item


def update(session: Session, exercise: Exercise, item: ImprovementAction,
           data: ActionIn) -> ImprovementAction:
    """A changed action (a due day already past may stay; a new one may not be past)."""
    _check(exercise, data)
    if data.due_on != item.due_on and data.due_on < clock.local(clock.now()).date():
        raise ActionError("due_on", _("The due date is in the past."))
    if data.due_on != item.due_on or data.owner_email != item.owner_email:
        item.last_reminded_at = None  # a new date or person: remind afresh
    for name in ("action", "owner", "owner_email", "due_on", "objective_id"):
        setattr(item, name, getattr(data, name))
    item.updated_at = clock.now()
    session.flush()
    return item


def set_status(session: Session, item: ImprovementAction, status: str) -> ImprovementAction:
    """Open, in progress or done; done closes it (no more reminders), reopening clears it."""
    if status not in ACTION_STATES:
        raise ActionError("status", _("Choose open, in progress or done."))
    now = clock.now()
    if status == "done" and item.status != "done":
        item.closed_at = now
    elif status != "done":
        item.closed_at = None
    item.status = status
    item.updated_at = now
    session.flush()
    return item


def close(session: Session, item: ImprovementAction) -> ImprovementAction:
    return set_status(session, item, "done")


# --- reminders -------------------------------------------------------------------------------


def needs_reminder(item: ImprovementAction) -> bool:
    """The rule of the module's docstring, on the injected clock."""
    if item.status == "done" or not item.owner_email:
        return False
    now = clock.now()
    today = clock.local(now).date()
    if item.due_on > today + timedelta(days=REMIND_WITHIN_DAYS):
        return False
    every = OVERDUE_EVERY if item.due_on <= today else BEFORE_DUE_EVERY
    return item.last_reminded_at is None or now - item.last_reminded_at >= every


def _owner_contact(session: Session, name: str, email: str) -> Contact:
    found = session.scalar(
        select(Contact).join(ContactAddress, ContactAddress.contact_id == Contact.id).where(
            Contact.owner == OWNER, ContactAddress.channel == "email",
            ContactAddress.address == email).order_by(Contact.id).limit(1))
    if found is None:
        return register_contact(session, name, [("email", email)], owner=OWNER)
    for address in found.addresses:
        if address.channel == "email" and address.address == email:
            address.active = True  # the plan says it is theirs
    found.active = True
    return found


def reminder_texts(item: ImprovementAction, exercise: Exercise, link: str) -> dict[str, str]:
    values = {"exercise": exercise.title, "action": " ".join(item.action.split()),
              "owner": item.owner, "due": item.due_on.strftime("%d.%m.%Y"), "link": link}
    return {language: text.format(**values) for language, text in TEXTS.items()}


def remind(session: Session, settings: Settings | None, item: ImprovementAction) -> Alert:
    """Send the owner one reminder now."""
    exercise = session.get(Exercise, item.exercise_id)
    assert exercise is not None
    contact = _owner_contact(session, item.owner, item.owner_email)
    base = settings.base_url if settings is not None else ""
    alert = alerts.create_alert(session, alerts.AlertDraft(
        source=SOURCE, cap_status="Actual",
        texts=reminder_texts(item, exercise, base + REPORT_PATH.format(id=exercise.id)),
        audience={"contacts": [contact.id]}, channels=["email"],
        source_ref=f"exercise_action:{item.id}"), None)
    alerts.submit(session, alert, None)  # staff only: no second person
    alerts.start_sending(session, alert,
                         configured_channels(settings) if settings is not None else set())
    item.last_reminded_at = clock.now()
    session.flush()
    return alert


def due_reminders(session: Session, settings: Settings | None = None) -> list[ImprovementAction]:
    """Remind every action the rule says is due a reminder; those reminded."""
    if settings is None and has_app_context():
        from sargs.context import settings as app_settings

        settings = app_settings()
    horizon = clock.local(clock.now()).date() + timedelta(days=REMIND_WITHIN_DAYS)
    reminded = []
    for item in list(session.scalars(
            select(ImprovementAction).where(ImprovementAction.status != "done",
                                            ImprovementAction.owner_email != "",
                                            ImprovementAction.due_on <= horizon)
            .order_by(ImprovementAction.due_on, ImprovementAction.id))):
        if needs_reminder(item):
            try:
                remind(session, settings, item)
            except alerts.AlertError as error:
                log.warning("improvement action %s: reminder not sent (%s)", item.id,
                            error.field)
                continue
            reminded.append(item)
    return reminded
