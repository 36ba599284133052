"""Atbildes / Replies: every reply the inbound router kept, for the operators.

Replies nobody's rules understood come first, until an operator marks them
handled with a note (the change is audited like any other). Senders are shown
by the contact's name when Sargs knows one, else by a partly masked address;
the full address stays for administrators and auditors, as on the ledger.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import case, select

from sargs import clock
from sargs.auth.access import roles
from sargs.channels.models import Alert, Contact, InboundMessage
from sargs.channels.views import CHANNEL_LABELS, FULL_ADDRESS_ROLES, mask
from sargs.context import db_session

bp = Blueprint("replies", __name__, template_folder="templates", url_prefix="/channels/replies")

HANDLERS = ("operator", "commission", "admin")
READERS = ("auditor",)
PAGE = 200
NOTE_MAX = 1000
OUTCOME_LABELS = {
    "unknown": _l("not understood"), "stop": _l("unsubscribed (STOP)"),
    "start": _l("asked how to subscribe (START)"), "help": _l("asked for help (HELP)"),
    "ack": _l("acknowledged the alert"),
}


def _waiting_first() -> Any:
    """Unknown replies nobody handled yet first, then everything else, newest first."""
    waiting = case((InboundMessage.outcome == "unknown", 0), else_=1)
    handled = case((InboundMessage.handled_at.is_(None), 0), else_=1)
    return select(InboundMessage).order_by(waiting, handled, InboundMessage.received_at.desc(),
                                           InboundMessage.id.desc())


def _sender(full: bool, names: dict[int, str], reply: InboundMessage) -> str:
    name = names.get(reply.contact_id) if reply.contact_id is not None else None
    if reply.address.startswith("erased:"):
        return str(_("erased subscriber"))
    shown = reply.address if full else mask(reply.channel, reply.address)
    return f"{name} ({shown})" if name else shown


@bp.route("/")
@roles(*HANDLERS, read=READERS)
def index() -> Any:
    session = db_session()
    found = list(session.scalars(_waiting_first().limit(PAGE)))
    contact_ids = {r.contact_id for r in found if r.contact_id is not None}
    names = {c.id: c.name for c in session.scalars(
        select(Contact).where(Contact.id.in_(contact_ids))) if c.name} if contact_ids else {}
    alert_ids = {r.alert_id for r in found if r.alert_id is not None}
    alerts = {a.id: a for a in session.scalars(
        select(Alert).where(Alert.id.in_(alert_ids)))} if alert_ids else {}
    full = bool(current_user.role_names & FULL_ADDRESS_ROLES)
    waiting = sum(1 for r in found if r.outcome == "unknown" and r.handled_at is None)
    return render_template(
        "replies/index.html", replies=found, waiting=waiting, alerts=alerts,
        sender=lambda reply: _sender(full, names, reply),
        outcome_labels=OUTCOME_LABELS, channel_labels=CHANNEL_LABELS,
        may_handle=bool(current_user.role_names & set(HANDLERS)),
    )


@bp.route("/<int:reply_id>/handled", methods=["POST"])
@roles(*HANDLERS)
def handled(reply_id: int) -> Any:
    session = db_session()
    reply = session.get(InboundMessage, reply_id)
    if reply is None:
        abort(404)
    note = request.form.get("note", "").strip()
    if len(note) > NOTE_MAX:
        flash(_("The note is at most %(n)s characters.", n=NOTE_MAX), "error")
        return redirect(url_for("replies.index"))
    if reply.handled_at is not None:
        flash(_("Someone has already marked this reply handled."), "error")
        return redirect(url_for("replies.index"))
    reply.handled_at = clock.now()
    reply.handled_by_id = current_user.id
    reply.note = note
    session.commit()
    flash(_("Reply marked handled."), "success")
    return redirect(url_for("replies.index"))
