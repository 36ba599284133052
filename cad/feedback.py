"""Telling a reporter who asked for it how their report ended.

E-mail, SMS and Telegram go through the notification engine, as a one-person alert
(source "cad", not public, no second person needed): the delivery ledger then proves
who was told what and when, and the dispatcher retries like for any alert. The
reporter becomes a contact registered by this domain (owner "cad") with the one
address they gave; erasing the report's contact data erases that contact, and
pseudonymises its ledger rows, too (:func:`forget_reporter`).

Open311 reporters read the status from the city's app: nothing is pushed to them.
"""

from __future__ import annotations

import logging

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.cad.models import CadReport
from sargs.channels import alerts
from sargs.channels.contacts import AddressError, normalise, register_contact
from sargs.channels.ledger import configured_channels
from sargs.channels.models import Contact, ContactAddress
from sargs.channels.texts import sms_segments
from sargs.settings import Settings

log = logging.getLogger(__name__)
OWNER = "cad"
TOLD_STATES = ("resolved", "rejected", "duplicate")
PUSHED = ("email", "sms", "telegram")
# An SMS stays within three concatenated segments, however long the partner's note.
SMS_SEGMENTS = 3


def _address(report: CadReport, channel: str) -> str | None:
    return {"email": report.reporter_email, "sms": report.reporter_phone,
            "telegram": report.reporter_telegram}.get(channel)


def feedback_text(report: CadReport, *, channel: str) -> str:
    """What the reporter reads, in their language; for SMS cut to fit."""
    language = report.language if report.language in ("lv", "en") else "lv"
    with force_locale(language):
        category = report.category.name(language) if report.category else ""
        if report.state == "resolved":
            head = _("Your report no. %(number)s (%(category)s) was resolved",
                     number=report.id, category=category)
        else:
            head = _("Your report no. %(number)s (%(category)s) was closed",
                     number=report.id, category=category)
        place = report.address
        thanks = _("Thank you for reporting it. Jelgava 8787")
    note = " ".join(report.status_note.split())
    if channel != "sms":
        lines = [head + ".", "", note, "", place, "", thanks]
        return "\n".join(line for i, line in enumerate(lines)
                         if line or (i and lines[i - 1])).strip() + "\n"
    return _fit_sms(head, note, thanks)


def _fit_sms(head: str, note: str, thanks: str) -> str:
    """``head: note thanks`` with the note shortened until it fits SMS_SEGMENTS."""
    def compose(body: str) -> str:
        if not body:
            return f"{head}. {thanks}"
        stop = "" if body.endswith((".", "!", "?", "…")) else "."
        return f"{head}: {body}{stop} {thanks}"

    text = compose(note)
    while note and sms_segments(text)[0] > SMS_SEGMENTS:
        note = note[:max(len(note) - 10, 0)].rstrip()
        text = compose(note + "…" if note else "")
    return text


def _contact(session: Session, report: CadReport, channel: str, address: str) -> Contact:
    """The reporter's contact: this domain's contact already holding the address, or a
    new one with that address only."""
    normal = normalise(channel, address)
    existing = session.scalar(
        select(Contact).join(ContactAddress, ContactAddress.contact_id == Contact.id).where(
            Contact.owner == OWNER, ContactAddress.channel == channel,
            ContactAddress.address == normal).limit(1))
    if existing is not None:
        existing.language = report.language
        existing.active = True
        return existing
    return register_contact(session, report.reporter_name or _reporter_label(report),
                            [(channel, normal)], language=report.language, owner=OWNER)


def _reporter_label(report: CadReport) -> str:
    return f"8787 #{report.id}"


def tell_reporter(session: Session, settings: Settings, report: CadReport) -> bool:
    """Tell the reporter the outcome over the channel they chose; False when nothing
    was sent (they did not ask, have no address left, or read it in the app)."""
    from sargs.cad.service import Who, _event

    if not report.feedback_wanted or report.state not in TOLD_STATES:
        return False
    if report.feedback_sent_at is not None or report.activation_id is not None:
        return False
    channel = report.feedback_channel or ""
    address = _address(report, channel)
    if channel not in PUSHED or not address:
        return False
    try:
        contact = _contact(session, report, channel, address)
    except AddressError:
        log.warning("report %s: the reporter's address cannot be used", report.id)
        _event(session, report, "feedback", Who("system", "Sargs"), channel=channel,
               outcome="bad_address")
        return False
    draft = alerts.AlertDraft(
        source="cad", cap_status="Actual",
        texts={report.language: feedback_text(report, channel=channel)},
        audience={"contacts": [contact.id]}, channels=[channel],
        source_ref=f"cad:{report.id}",
    )
    alert = alerts.create_alert(session, draft, None)
    alerts.submit(session, alert, None)  # not public: no second person
    rows = alerts.start_sending(session, alert, configured_channels(settings))
    report.feedback_sent_at = clock.now()
    _event(session, report, "feedback", Who("system", "Sargs"), channel=channel,
           alert_id=alert.id, contact_id=contact.id, deliveries=rows)
    return True


def forget_reporter(session: Session, settings: Settings | None, report: CadReport) -> int:
    """Erase the contacts this domain registered to tell the report's reporter: their
    addresses go, their ledger rows keep only a pseudonym. Returns ledger rows changed."""
    from sargs.cad.models import CadReportEvent
    from sargs.channels.email_subscriptions import app_secret
    from sargs.channels.subscriptions import erase_contact

    ids = {event.data.get("contact_id") for event in session.scalars(select(CadReportEvent).where(
        CadReportEvent.report_id == report.id, CadReportEvent.kind == "feedback"))} - {None}
    contacts = [c for c in (session.get(Contact, i) for i in ids)
                if c is not None and c.owner == OWNER]
    if not contacts:
        return 0
    if settings is None:  # called from a page: the app's settings
        from sargs.context import settings as current_settings

        settings = current_settings()
    secret = app_secret(settings)
    return sum(erase_contact(session, contact, secret=secret) for contact in contacts)
