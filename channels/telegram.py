"""Telegram through the Bot API (python-telegram-bot).

python-telegram-bot is asyncio; the dispatcher is not. The adapter owns one
event loop in its own thread and only that loop touches its Bot, so the web
app and the scheduler never start a loop of their own.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from sargs.channels import acks
from sargs.channels.adapters import Outgoing, PermanentError, RetryableError
from sargs.channels.rates import RATES
from sargs.channels.telegram_request import AiohttpRequest
from sargs.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
CALL_TIMEOUT_S = 30


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def ack_button(message: Outgoing) -> InlineKeyboardMarkup | None:
    """Staff who must acknowledge get a button under the message (channels/acks.py)."""
    if not message.ack_required:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        acks.text("button", message.language),
        callback_data=acks.callback_data(message.delivery_id))]])


# Reply buttons other domains put under their messages, by the alert's source_ref
# prefix ("callout" → a call-out's "yes" / "no"): (source_ref, language) → rows of
# (label, callback data).
KeyboardMaker = Callable[[str, str], list[list[tuple[str, str]]] | None]
_keyboards: dict[str, KeyboardMaker] = {}


def register_keyboard(prefix: str, maker: KeyboardMaker) -> None:
    _keyboards[prefix] = maker


def reply_keyboard(message: Outgoing) -> InlineKeyboardMarkup | None:
    """The buttons of the domain that sent the message, if it registered any."""
    if not message.source_ref:
        return None
    maker = _keyboards.get(message.source_ref.split(":", 1)[0])
    rows = maker(message.source_ref, message.language) if maker is not None else None
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in row] for row in rows])


class TelegramAdapter:
    channel = "telegram"
    delivered_on_send = True

    def __init__(self, settings: Settings, rate_per_second: float = RATES["telegram"]) -> None:
        assert settings.telegram_bot_token is not None
        self.rate_per_second = rate_per_second
        self.concurrency = settings.worker_concurrency
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="telegram-sender",
                                       daemon=True)
        self.thread.start()
        # One connection per message in flight, on aiohttp (telegram_request.py says why).
        self.request = AiohttpRequest(self.concurrency)
        self.bot = Bot(settings.telegram_bot_token.get_secret_value(),
                       base_url=f"{settings.telegram_api_url.rstrip('/')}/bot",
                       request=self.request)

    def _run(self, call: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(call, self.loop).result(CALL_TIMEOUT_S)

    def send(self, message: Outgoing) -> str:
        return self._run(self._send(message))

    def send_many(self, messages: list[Outgoing]) -> list[str | Exception]:
        """Send a batch at once on the adapter's loop, ``concurrency`` requests in flight;
        each message's provider id or its error, in order."""
        return self._run(self._send_all(messages))

    async def _send_all(self, messages: list[Outgoing]) -> list[str | Exception]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(message: Outgoing) -> str:
            async with gate:
                return await self._send(message)

        return await asyncio.gather(*(one(m) for m in messages), return_exceptions=True)

    async def _send(self, message: Outgoing) -> str:
        request: dict[str, Any] = {"chat_id": int(message.address), "text": message.text}
        button = ack_button(message) or reply_keyboard(message)
        if button is not None:
            request["reply_markup"] = button.to_dict()
        try:
            # The raw call skips building a Message object from every answer (a third
            # of the CPU a send costs). The lowercase name is the same method — Bot API
            # method names are case-insensitive — and keeps PTB from suggesting
            # send_message instead.
            sent = await self.bot.do_api_request("sendmessage", api_kwargs=request)
        except RetryAfter as error:
            raise RetryableError("Telegram 429", retry_after=_seconds(error.retry_after)) from error
        except Forbidden as error:  # the resident blocked the bot
            raise PermanentError(f"Telegram 403: {error.message}") from error
        except BadRequest as error:  # e.g. chat not found
            raise PermanentError(f"Telegram 400: {error.message}") from error
        except (TimedOut, NetworkError, TimeoutError) as error:
            raise RetryableError(f"Telegram unreachable: {type(error).__name__}",
                                 maybe_sent=isinstance(error, TimedOut | TimeoutError)) from error
        return f"{sent['chat']['id']}:{sent['message_id']}"

    def reconcile(self, message: Outgoing, provider_id: str | None) -> str | None:
        """Telegram cannot list what a bot sent: without an id the outcome is unknown."""
        if provider_id:
            return provider_id
        raise LookupError("Telegram keeps no list of sent messages")

    def close(self) -> None:
        try:
            self._run(self.request.shutdown())
        except Exception:  # closing anyway
            log.debug("telegram: closing the HTTP session failed", exc_info=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()
