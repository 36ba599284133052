"""SMS through Twilio's REST API (``Messages``).

The delivery id travels in the status-callback URL, so Twilio's signed
callbacks find their ledger row; ValidityPeriod comes from the alert's expiry
so a late SMS is dropped by the network instead of arriving after the danger.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import Timeout
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from sargs.channels import acks
from sargs.channels.adapters import Outgoing, PermanentError, RetryableError
from sargs.channels.rates import RATES, pick_sender, twilio_senders
from sargs.settings import Settings

TWILIO_API = "https://api.twilio.com"
# Twilio error codes after which this number will never take an SMS from us.
PERMANENT_CODES = {21211, 21214, 21408, 21610, 21612, 21614}
VALIDITY_MAX_S = 36000


class EndpointHttpClient(TwilioHttpClient):
    """Twilio's HTTP client sending to a configured endpoint (SARGS_TWILIO_API_URL)."""

    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.endpoint = endpoint.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(TWILIO_API):
            url = self.endpoint + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


def twilio_client(settings: Settings) -> Client:
    assert settings.twilio_auth_token is not None
    return Client(settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(),
                  http_client=EndpointHttpClient(settings.twilio_api_url))


def status_callback_url(settings: Settings, delivery_id: int) -> str:
    return f"{settings.base_url}/channels/twilio/status/{delivery_id}"


def body_of(message: Outgoing) -> str:
    """The SMS text: staff asked to acknowledge are told how, on a line of its own."""
    if message.ack_required:
        return f"{message.text}\n{acks.text('reply_1', message.language)}"
    return message.text


def raise_for_twilio(error: Exception) -> None:
    """Turn what the twilio library raised into the dispatcher's two kinds of failure."""
    if isinstance(error, TwilioRestException):
        if error.status == 429 or error.code == 20429:
            raise RetryableError(f"Twilio {error.code or 429}: too many requests") from error
        if error.code in PERMANENT_CODES:
            raise PermanentError(f"Twilio {error.code}: {error.msg}") from error
        if error.status >= 500:
            raise RetryableError(f"Twilio HTTP {error.status}") from error
        raise PermanentError(f"Twilio {error.code}: {error.msg}") from error
    if isinstance(error, RequestsConnectionError | Timeout):
        # A connection lost or an answer late may come after Twilio took the request:
        # asking Twilio first (one list request) costs less than telling someone twice.
        raise RetryableError(f"Twilio unreachable: {type(error).__name__}",
                             maybe_sent=True) from error
    raise error


class SmsAdapter:
    channel = "sms"
    delivered_on_send = False

    def __init__(self, settings: Settings, rate_per_second: float = RATES["sms"]) -> None:
        self.settings = settings
        self.client = twilio_client(settings)
        self.rate_per_second = rate_per_second
        self.senders = twilio_senders(settings)
        self.concurrency = settings.worker_concurrency
        self._pool: ThreadPoolExecutor | None = None
        self._local = threading.local()

    def send_many(self, messages: list[Outgoing]) -> list[str | Exception]:
        """Send a batch through ``concurrency`` threads, each with its own HTTP session
        (the twilio client's session is not shared between threads)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="sms-sender")
        return list(self._pool.map(self._send_caught, messages))

    def _send_caught(self, message: Outgoing) -> str | Exception:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = twilio_client(self.settings)
        try:
            return self._send(client, message)
        except Exception as error:  # handed back to the dispatcher with its kind
            return error

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def send(self, message: Outgoing) -> str:
        return self._send(self.client, message)

    def _send(self, client: Client, message: Outgoing) -> str:
        extra: dict[str, Any] = {}
        if message.expires_in_s is not None:
            extra["validity_period"] = min(message.expires_in_s, VALIDITY_MAX_S)
        try:
            sent = client.messages.create(
                to=message.address, from_=pick_sender(message.address, self.senders),
                body=body_of(message),
                status_callback=status_callback_url(self.settings, message.delivery_id), **extra,
            )
        except Exception as error:  # classified below; anything unknown is re-raised
            raise_for_twilio(error)
            raise
        return str(sent.sid)

    def reconcile(self, message: Outgoing, provider_id: str | None) -> str | None:
        """Find the message at Twilio by recipient and text (a crash lost its sid)."""
        if provider_id:
            return provider_id
        try:
            found = self.client.messages.list(to=message.address, limit=50)
        except Exception as error:
            raise_for_twilio(error)
            raise
        for item in found:
            if item.body == body_of(message):
                return str(item.sid)
        return None
