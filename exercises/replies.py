"""Participants answering an exercise by replying to its SMS or writing to the bot.

A reply (an SMS, or a text to the Telegram bot) from a phone or chat that belongs to a participant of a running or paused exercise
(:attr:`Participant.contact_id` → its addresses) is recorded in that participant's log
(:func:`sargs.exercises.conduct.respond`, via "sms" or "telegram") on the latest inject sent to them,
and answered with a short thank-you. "1", "OK" … acknowledge: the engine's handler
(channels/acks.py, registered before this one) takes them first when the inject's
alert asks for acknowledgement; otherwise they acknowledge the latest inject here.
Any other text is an answer. Replies from other phones pass on to the next handler.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.channels import acks, inbound
from sargs.channels.models import Contact, ContactAddress
from sargs.exercises import conduct
from sargs.exercises.models import Exercise, Participant

TEXTS = {
    "answer": {"lv": "Paldies, jūsu atbilde mācībām ir saņemta.",
               "en": "Thank you, your answer to the exercise is recorded."},
    "acknowledgement": {"lv": "Paldies, apstiprinājums mācībām ir saņemts.",
                        "en": "Thank you, your acknowledgement is recorded."},
    "refused": {"lv": "Atbilde netika saglabāta: {reason}",
                "en": "The answer was not recorded: {reason}"},
}


# The channel a reply came on → the address channels it identifies a contact by.
REPLY_CHANNELS = {"sms": inbound.PHONE_CHANNELS, "telegram": ("telegram",)}


def _players(session: Session, reply: inbound.Reply) -> list[Participant]:
    """The participants of running or paused exercises reached at this phone or chat."""
    contacts = select(ContactAddress.contact_id).where(
        ContactAddress.address == reply.address,
        ContactAddress.channel.in_(REPLY_CHANNELS[reply.channel]))
    return list(session.scalars(
        select(Participant).join(Exercise, Exercise.id == Participant.exercise_id)
        .where(Participant.contact_id.in_(contacts), Participant.kind == "participant",
               Exercise.state.in_(("running", "paused")))
        .order_by(Participant.id)))


def _language(session: Session, participant: Participant) -> str:
    contact = session.get(Contact, participant.contact_id)
    return contact.language if contact is not None and contact.language in ("lv", "en") \
        else "lv"


def answer_by_reply(session: Session, reply: inbound.Reply) -> str | None:
    """Record the reply in the log of the participant whose phone sent it, on the latest
    inject sent to them (of all their running exercises, the one that reached them last)."""
    if reply.channel not in REPLY_CHANNELS:
        return None
    found = []
    for participant in _players(session, reply):
        sent = conduct.sent_to(participant.exercise, participant)
        found.append((sent[-1] if sent else None, participant))
    if not found:
        return None
    inject, participant = max(found, key=lambda pair: (
        pair[0] is not None, pair[0].delivered_at if pair[0] else None, pair[1].id))
    kind = "acknowledgement" if acks._word(reply.text) in acks.ACK_WORDS and inject else "answer"
    language = _language(session, participant)
    try:
        conduct.respond(session, participant.exercise, participant, kind, reply.text,
                        inject=inject, via=reply.channel)
    except conduct.ConductError as error:
        return TEXTS["refused"][language].format(reason=error.message)
    return TEXTS[kind][language]


inbound.register(answer_by_reply, name="exercise")
