"""Voice calls through Twilio's REST API (``Calls``) with inline TwiML.

The call says the alert text twice, with a short pause, in the recipient's
language (``<Say language="lv-LV">``). When staff must acknowledge, the
text is said inside ``<Gather numDigits="1">`` with "press 1 to acknowledge";
Twilio posts the key to the signed Gather callback (channels.webhooks), which
acknowledges the row (channels.acks). The delivery id travels in the
status-callback URL; only the ``completed`` event is asked for, and Twilio
sends it with the call's final status: completed makes the row delivered,
busy / no-answer / failed make it failed (channels.webhooks).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from sargs import clock
from sargs.channels import acks
from sargs.channels.adapters import Outgoing
from sargs.channels.rates import RATES, pick_sender, twilio_senders
from sargs.channels.sms import raise_for_twilio, status_callback_url, twilio_client
from sargs.settings import Settings

# Outgoing.language → the language Twilio's <Say> speaks; others fall back to Latvian.
SAY_LANGUAGES = {"lv": "lv-LV", "en": "en-GB", "ru": "ru-RU"}
PAUSE_S = 2
GATHER_TIMEOUT_S = 8  # seconds of silence after the prompt before the call ends
RING_TIMEOUT_S = 30
# reconcile: a call to the same number created this recently is taken as this row's.
RECONCILE_WINDOW = timedelta(minutes=10)


def say_language(language: str) -> str:
    return SAY_LANGUAGES.get(language, "lv-LV")


def gather_url(settings: Settings, delivery_id: int) -> str:
    """Where Twilio posts the key the callee pressed."""
    return f"{settings.base_url}/channels/twilio/voice/{delivery_id}/gather"


def ack_prompt(verb: Any, language: str) -> None:
    """Add "press 1 to acknowledge" to ``verb`` (a response or a Gather)."""
    spoken = language if language in acks.TEXTS["press_1"] else "lv"
    verb.say(acks.text("press_1", spoken), language=say_language(spoken))


def gather(response: VoiceResponse, action: str) -> Any:
    """One key, posted to ``action``; saying continues inside it so the key may come early."""
    return response.gather(num_digits=1, action=action, method="POST", timeout=GATHER_TIMEOUT_S)


def twiml_for(message: Outgoing, gather_action: str | None = None) -> str:
    """The call's TwiML: the text said twice with a short pause between; when the
    alert asks for acknowledgement, inside a Gather that ends with the prompt."""
    response = VoiceResponse()
    verb: Any = gather(response, gather_action) if message.ack_required and gather_action \
        else response
    language = say_language(message.language)
    verb.say(message.text, language=language)
    verb.pause(length=PAUSE_S)
    verb.say(message.text, language=language)
    if verb is not response:
        ack_prompt(verb, message.language)
    return str(response)


class VoiceAdapter:
    channel = "voice"
    delivered_on_send = False  # the "completed" status callback makes the row delivered

    def __init__(self, settings: Settings, rate_per_second: float = RATES["voice"]) -> None:
        self.settings = settings
        self.client = twilio_client(settings)
        self.rate_per_second = rate_per_second
        self.senders = twilio_senders(settings)

    def send(self, message: Outgoing) -> str:
        try:
            call = self.client.calls.create(
                to=message.address, from_=pick_sender(message.address, self.senders),
                twiml=twiml_for(message, gather_url(self.settings, message.delivery_id)),
                timeout=RING_TIMEOUT_S,
                status_callback=status_callback_url(self.settings, message.delivery_id),
                status_callback_event=["completed"],
            )
        except Exception as error:  # classified below; anything unknown is re-raised
            raise_for_twilio(error)
            raise
        return str(call.sid)

    def reconcile(self, message: Outgoing, provider_id: str | None) -> str | None:
        """Find the call at Twilio after a crash lost its sid.

        A Call resource carries neither the TwiML nor the callback URL, so the
        match is by number and time: the newest call to this number created in
        the last :data:`RECONCILE_WINDOW` (the lease that expired is far
        shorter) counts as this row's. Two alerts calling one person within
        that window could be mistaken for each other; a duplicate call is the
        price of the opposite choice.
        """
        if provider_id:
            return provider_id
        try:
            found = self.client.calls.list(to=message.address, limit=20)
        except Exception as error:
            raise_for_twilio(error)
            raise
        since = clock.now() - RECONCILE_WINDOW
        recent: list[Any] = [c for c in found if c.date_created and c.date_created >= since]
        if not recent:
            return None
        return str(max(recent, key=lambda c: c.date_created).sid)
