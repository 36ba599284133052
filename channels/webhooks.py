"""Provider callbacks: Twilio's signed status callbacks move ledger rows.

A forged callback (bad X-Twilio-Signature) gets 403 and changes nothing; a
duplicate or out-of-order one changes nothing either, because ledger moves
only go forward.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request
from sargs.channels import ledger
from sargs.channels.models import Delivery
from sargs.channels.sms import status_callback_url
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from sargs.auth.access import public
from sargs.context import db_session, settings
from sargs.extensions import csrf, limiter

bp = Blueprint("channel_webhooks", __name__, url_prefix="/channels")
csrf.exempt(bp)

# Twilio's message and call statuses → ledger states (None: nothing to record yet).
TWILIO_STATES = {
    "queued": None, "accepted": None, "sending": None, "scheduled": None, "ringing": None,
    "initiated": None, "in-progress": None,
    "sent": "sent", "delivered": "delivered", "read": "delivered", "completed": "delivered",
    "undelivered": "failed", "failed": "failed", "busy": "failed", "no-answer": "failed",
    "canceled": "failed",
}


@bp.route("/twilio/status/<int:delivery_id>", methods=["POST"])
@public
@limiter.limit("6000 per minute")
def twilio_status(delivery_id: int) -> Any:
    cfg = settings()
    if cfg.twilio_auth_token is None:
        abort(404)
    validator = RequestValidator(cfg.twilio_auth_token.get_secret_value())
    signature = request.headers.get("X-Twilio-Signature", "")
    if not validator.validate(status_callback_url(cfg, delivery_id), request.form.to_dict(),
                              signature):
        abort(403)
    status = request.form.get("MessageStatus") or request.form.get("CallStatus") or ""
    target = TWILIO_STATES.get(status)
    sid = request.form.get("MessageSid") or request.form.get("CallSid")
    session = db_session()
    row = session.scalar(select(Delivery).where(Delivery.id == delivery_id))
    if row is None or target is None or (row.provider_id and sid and row.provider_id != sid):
        return "", 204
    fields: dict[str, Any] = {}
    if not row.provider_id and sid:
        fields["provider_id"] = sid
    if target == "failed":
        fields["last_error"] = f"Twilio {request.form.get('ErrorCode') or status}"
    if target == "delivered" and row.state == "claimed":
        ledger.move(session, delivery_id, "sent", **fields)
    ledger.move(session, delivery_id, target, **fields)
    session.commit()
    return "", 204
