"""Provider callbacks: Twilio's signed status callbacks move ledger rows, and
replies to our number go to the inbound router.

A forged callback (bad X-Twilio-Signature) gets 403 and changes nothing; a
duplicate or out-of-order one changes nothing either, because ledger moves
only go forward.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from sargs.auth.access import public
from sargs.channels import acks, inbound, ledger, voice
from sargs.channels.contacts import AddressError, normalise
from sargs.channels.models import Delivery
from sargs.channels.sms import status_callback_url
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


def _signed_by_twilio(url: str) -> bool:
    cfg = settings()
    if cfg.twilio_auth_token is None:
        abort(404)
    validator = RequestValidator(cfg.twilio_auth_token.get_secret_value())
    return bool(validator.validate(url, request.form.to_dict(),
                                   request.headers.get("X-Twilio-Signature", "")))


@bp.route("/twilio/inbound", methods=["POST"])
@public
@limiter.limit("600 per minute")
def twilio_inbound() -> Any:
    """An SMS to our number: STOP / BEIGT, START, HELP … answered with TwiML."""
    cfg = settings()
    if not _signed_by_twilio(f"{cfg.base_url}/channels/twilio/inbound"):
        abort(403)
    try:
        sender = normalise("sms", request.form.get("From", ""))
    except AddressError:
        return Response(str(MessagingResponse()), mimetype="application/xml")
    session = db_session()
    answer = inbound.route(
        session, inbound.Reply("sms", sender, request.form.get("Body", "")),
        secret=str(current_app.config["SECRET_KEY"]),
        subscribe_url=f"{cfg.base_url}/subscribe/",
    )
    session.commit()
    reply = MessagingResponse()
    reply.message(answer)
    return Response(str(reply), mimetype="application/xml")


@bp.route("/twilio/status/<int:delivery_id>", methods=["POST"])
@public
@limiter.limit("6000 per minute")
def twilio_status(delivery_id: int) -> Any:
    if not _signed_by_twilio(status_callback_url(settings(), delivery_id)):
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


@bp.route("/twilio/voice/<int:delivery_id>/gather", methods=["POST"])
@public
@limiter.limit("600 per minute")
def twilio_gather(delivery_id: int) -> Any:
    """The key a called staff member pressed: 1 acknowledges the call's alert."""
    if not _signed_by_twilio(voice.gather_url(settings(), delivery_id)):
        abort(403)
    session = db_session()
    row = session.scalar(select(Delivery).where(Delivery.id == delivery_id))
    sid = request.form.get("CallSid")
    response = VoiceResponse()
    if row is None or (row.provider_id and sid and row.provider_id != sid):
        return Response(str(response), mimetype="application/xml")
    language = row.language if row.language in acks.TEXTS["thanks"] else "lv"
    try:
        callee = normalise("voice", request.form.get("To", ""))
    except AddressError:
        callee = None
    ack = None
    if request.form.get("Digits") == "1" and callee is not None:
        ack = acks.acknowledge(session, delivery_id=delivery_id, via="voice", address=callee)
        session.commit()
    if ack is not None:
        response.say(acks.text("thanks", language, alert_id=row.alert_id),
                     language=voice.say_language(language))
    else:
        if request.form.get("Digits") != "1":  # another key: ask once more
            voice.ack_prompt(voice.gather(response, voice.gather_url(settings(), delivery_id)),
                             language)
        response.say(acks.text("not_acknowledged", language), language=voice.say_language(language))
    return Response(str(response), mimetype="application/xml")
