"""The partner's e-mail: a report sent to it, with a signed link that lets it accept,
reject, plan and resolve the report without an account.

The link carries the report and the partner, signed with the app's secret key and valid
``SARGS_CAD_PARTNER_LINK_DAYS``; a report routed elsewhere since makes the old link
useless (the service checks the partner). The mail names no reporter: the partner gets
the place, the category and the description, which is what it needs to act.
"""

from __future__ import annotations

import logging

from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import (
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeTimedSerializer,
)
from sqlalchemy.orm import Session

from sargs import clock
from sargs.cad.models import CadReport
from sargs.channels.adapters import PermanentError, RetryableError
from sargs.settings import Settings

log = logging.getLogger(__name__)
SALT = "sargs.cad.partner-link"
LINK_PATH = "/cad/partner/"


class LinkError(ValueError):
    """A partner link that is forged, garbled or expired."""


class _ClockSigner(TimestampSigner):
    """Signs and checks a link's age on the injected clock (tests move it)."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    from sargs.channels.email_subscriptions import app_secret

    return URLSafeTimedSerializer(app_secret(settings), salt=SALT, signer=_ClockSigner)


def link_token(settings: Settings, report_id: int, partner_id: int) -> str:
    return _serializer(settings).dumps([report_id, partner_id])


def read_token(settings: Settings, token: str) -> tuple[int, int]:
    """(report id, partner id) of a valid link; LinkError otherwise."""
    try:
        report_id, partner_id = _serializer(settings).loads(
            token, max_age=settings.cad_partner_link_days * 86400)
    except SignatureExpired:
        raise LinkError("expired") from None
    except (BadSignature, ValueError, TypeError):
        raise LinkError("invalid") from None
    return int(report_id), int(partner_id)


def link(settings: Settings, report: CadReport) -> str:
    assert report.partner_id is not None
    return f"{settings.base_url}{LINK_PATH}{link_token(settings, report.id, report.partner_id)}"


def assignment_text(settings: Settings, report: CadReport) -> str:
    """The mail's text, in Latvian (the partners are Latvian organisations)."""
    with force_locale("lv"):
        zone = settings.zone
        lines = [
            _("Report %(number)s from the 8787 line", number=report.id),
            "",
            _("Category: %(name)s", name=report.category.name("lv") if report.category else "—"),
            _("Place: %(address)s", address=report.address or "—"),
        ]
        if report.lat is not None:
            lines.append(_("On the map: %(lat).5f, %(lon).5f", lat=report.lat, lon=report.lon))
        lines.append(_("Received: %(when)s",
                       when=report.received_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")))
        if report.response_due:
            lines.append(_("Accept by: %(when)s",
                           when=report.response_due.astimezone(zone).strftime("%Y-%m-%d")))
        if report.resolution_due:
            lines.append(_("Resolve by: %(when)s",
                           when=report.resolution_due.astimezone(zone).strftime("%Y-%m-%d")))
        lines += ["", report.title, report.description, "",
                  _("Accept, reject, plan or resolve it here:"), link(settings, report)]
        return "\n".join(line for line in lines if line is not None).strip() + "\n"


def send_assignment(session: Session, settings: Settings, report: CadReport) -> bool:
    """E-mail the report to its partner; the outcome goes on the report's timeline."""
    from sargs.cad.service import Who, _event
    from sargs.channels.email import EmailAdapter
    from sargs.channels.email_subscriptions import mail_sender

    partner = report.partner
    system = Who("system", "Sargs")
    if partner is None or not partner.email:
        _event(session, report, "partner_mail", system, outcome="no_address")
        return False
    if not settings.smtp_url:
        _event(session, report, "partner_mail", system, outcome="not_configured")
        return False
    send_mail = mail_sender(EmailAdapter(settings))
    try:
        message_id = send_mail(partner.email, "lv", assignment_text(settings, report))
    except (RetryableError, PermanentError) as exc:
        log.warning("report %s: the partner's e-mail failed: %s", report.id, type(exc).__name__)
        _event(session, report, "partner_mail", system, outcome="failed")
        return False
    _event(session, report, "partner_mail", system, outcome="sent", message_id=message_id)
    return True
