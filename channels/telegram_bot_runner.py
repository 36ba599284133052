"""The residents' bot as a running python-telegram-bot Application.

The Application lives in a thread with its own event loop (as the Telegram
adapter's Bot does), so the web server and the scheduler never run a loop.
It gets updates by long polling (``getUpdates``; one poller per database, held
with a lock like the scheduler's) or, in webhook mode, from
:mod:`sargs.channels.telegram_webhook`, which feeds them in with :meth:`BotRunner.feed`.
Every update is turned into a :class:`~sargs.channels.telegram_bot.Incoming`,
answered by :func:`sargs.channels.telegram_bot.handle` in a worker thread (the
database work is synchronous) and the :class:`~sargs.channels.telegram_bot.Answer`
is sent back: messages with inline keyboards, the callback answer, the edited
keyboard, the export file.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sargs.audit.service import Actor, acting_as
from sargs.channels import telegram_bot
from sargs.channels.telegram_bot import Answer, Button, Incoming, Message
from sargs.channels.telegram_webhook import webhook_secret, webhook_url
from sargs.scheduler import SchedulerLock

log = logging.getLogger(__name__)
T = TypeVar("T")
CALL_TIMEOUT_S = 60
POLL_TIMEOUT_S = 10
POLLER_LOCK_KEY = 0x5A4755  # next to the scheduler's advisory lock
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
BOT_ACTOR = Actor("system", None, "telegram-bot", "telegram")
DESCRIPTIONS = {
    "lv": {"start": "Pierakstīties brīdinājumiem", "settings": "Mainīt izvēli",
           "mydata": "Mani dati", "stop": "Atteikties un dzēst datus", "help": "Palīdzība"},
    "en": {"start": "Subscribe to alerts", "settings": "Change your choices",
           "mydata": "My data", "stop": "Unsubscribe and delete your data", "help": "Help"},
}
# Commands other parts of Sargs answer, in each language's menu after the bot's own.
MENU_EXTRAS = {
    "lv": {"patvertne": "Tuvākā atvērtā patvertne",
           "brivpratigais": "Brīvprātīgā profils (saite pieteikšanās)"},
    "en": {"shelter": "The nearest open shelter",
           "volunteer": "Volunteer profile (a sign-in link)"},
}


def incoming_of(update: Update, args: list[str] | None = None) -> Incoming | None:
    """The part of a Telegram update the bot's rules read."""
    if update.my_chat_member is not None:
        member = update.my_chat_member
        return Incoming(member.chat.id, "member", text=member.new_chat_member.status)
    user = update.effective_user
    hint = user.language_code if user is not None else None
    query = update.callback_query
    if query is not None:
        chat = query.message.chat.id if query.message is not None else query.from_user.id
        return Incoming(chat, "button", text=query.data or "", language_hint=hint)
    message = update.message
    if message is None:
        return None
    if message.location is not None:
        return Incoming(message.chat.id, "location", latitude=message.location.latitude,
                        longitude=message.location.longitude, language_hint=hint)
    body = message.text or ""
    if body.startswith("/"):
        command = body.split()[0][1:].split("@")[0]
        return Incoming(message.chat.id, "command", text=command,
                        payload=" ".join(args or body.split()[1:]), language_hint=hint)
    return Incoming(message.chat.id, "text", text=body, language_hint=hint)


def _inline(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data)
                                  for b in row] for row in rows])


def _markup(message: Message) -> Any:
    if message.buttons:
        return _inline(message.buttons)
    if message.ask_location:
        return ReplyKeyboardMarkup([[KeyboardButton(message.ask_location, request_location=True)]],
                                   one_time_keyboard=True, resize_keyboard=True)
    if message.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


class BotRunner:
    """One PTB Application in a thread of its own; ``polling`` reads getUpdates."""

    def __init__(self, app: Any, *, polling: bool, poll_timeout: float = POLL_TIMEOUT_S) -> None:
        self.app = app
        self.state = app.extensions["sargs"]
        self.settings = self.state.settings
        assert self.settings.telegram_bot_token is not None
        self.polling = polling
        self.poll_timeout = poll_timeout
        self.secret = str(app.config["SECRET_KEY"])
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="telegram-bot",
                                       daemon=True)
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None

    # --- life --------------------------------------------------------------

    def start(self) -> BotRunner:
        self.thread.start()
        self._run(self._start())
        return self

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        try:
            self._run(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            if not self.thread.is_alive():
                self.loop.close()

    def _run(self, call: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(call, self.loop).result(CALL_TIMEOUT_S)

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        api = self.settings.telegram_api_url.rstrip("/")
        builder = (ApplicationBuilder()
                   .token(self.settings.telegram_bot_token.get_secret_value())
                   .base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
                   .rate_limiter(AIORateLimiter(max_retries=3)))
        if not self.polling:
            builder = builder.updater(None)
        application = builder.build()
        application.add_handler(ChatMemberHandler(self._on_update, ChatMemberHandler.MY_CHAT_MEMBER))
        application.add_handler(CommandHandler(list(telegram_bot.COMMANDS), self._on_update))
        application.add_handler(CallbackQueryHandler(self._on_update))
        application.add_handler(MessageHandler(
            filters.LOCATION & filters.UpdateType.MESSAGE, self._on_update))
        application.add_handler(MessageHandler(
            (filters.TEXT | filters.COMMAND) & filters.UpdateType.MESSAGE, self._on_update))
        application.add_error_handler(self._on_error)
        return application

    async def _start(self) -> None:
        self.application = self._build()
        await self.application.initialize()
        await self.application.start()
        await self._describe_commands()
        if self.polling and self.application.updater is not None:
            await self.application.updater.start_polling(
                timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES)

    async def _stop(self) -> None:
        application = self.application
        if application is None:
            return
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

    async def _describe_commands(self) -> None:
        assert self.application is not None
        bot = self.application.bot
        for language, descriptions in DESCRIPTIONS.items():
            commands = [BotCommand(name, descriptions[name]) for name in telegram_bot.COMMANDS]
            commands += [BotCommand(name, text) for name, text in MENU_EXTRAS[language].items()]
            try:
                await bot.set_my_commands(commands, language_code=language)
                if language == "lv":  # Latvian first: also for every other app language
                    await bot.set_my_commands(commands)
            except TelegramError:
                log.warning("could not set the bot's command list", exc_info=True)

    # --- webhook -----------------------------------------------------------

    def register_webhook(self) -> None:
        """Tell Telegram to post updates to this installation's webhook URL."""
        assert self.application is not None
        self._run(self.application.bot.set_webhook(
            webhook_url(self.settings), secret_token=webhook_secret(self.settings, self.secret),
            allowed_updates=ALLOWED_UPDATES))

    def feed(self, data: dict[str, Any]) -> None:
        """Process one update posted to the webhook; returns when it is answered."""
        assert self.application is not None
        update = Update.de_json(data, self.application.bot)
        self._run(self.application.process_update(update))

    # --- updates -----------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        incoming = incoming_of(update, context.args)
        if incoming is None:
            return
        answer = await asyncio.to_thread(self._answer, incoming)
        await self._send(update, incoming, answer)

    def _answer(self, incoming: Incoming) -> Answer:
        # In the app's context: other domains' handlers read its settings and secret.
        with self.app.app_context(), acting_as(BOT_ACTOR), self.state.sessionmaker() as session:
            answer = telegram_bot.handle(session, incoming, secret=self.secret,
                                         subscribe_url=f"{self.settings.base_url}/subscribe/")
            session.commit()
            return answer

    def _blocked(self, chat_id: int) -> None:
        with acting_as(BOT_ACTOR), self.state.sessionmaker() as session:
            telegram_bot.chat_blocked(session, chat_id)
            session.commit()

    async def _send(self, update: Update, incoming: Incoming, answer: Answer) -> None:
        assert self.application is not None
        bot = self.application.bot
        query = update.callback_query
        if query is not None:
            await query.answer(answer.callback_text or None)
            if answer.keyboard is not None and query.message is not None:
                try:
                    await query.edit_message_reply_markup(
                        _inline(answer.keyboard) if answer.keyboard else None)
                except BadRequest:  # already without a keyboard, or too old to edit
                    pass
        try:
            for message in answer.messages:
                if message.document is not None:
                    name, content = message.document
                    await bot.send_document(incoming.chat_id, InputFile(content, filename=name),
                                            caption=message.text, reply_markup=_markup(message))
                else:
                    await bot.send_message(incoming.chat_id, message.text,
                                           reply_markup=_markup(message))
        except Forbidden:  # blocked between the question and the answer
            await asyncio.to_thread(self._blocked, incoming.chat_id)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The update holds chat ids and texts: only the error is logged.
        log.error("the Telegram bot failed to answer an update", exc_info=context.error)


# --- in a process ---------------------------------------------------------------

_webhook_lock = threading.Lock()


def webhook_runner(app: Any) -> BotRunner:
    """This process's bot for webhook posts, started on the first post."""
    with _webhook_lock:
        runner = app.extensions.get("telegram_bot")
        if runner is None:
            runner = BotRunner(app, polling=False).start()
            app.extensions["telegram_bot"] = runner
        return runner


def start(app: Any) -> tuple[BotRunner, Any] | None:
    """Start the bot for ``sargs run`` / ``sargs bot`` if a token is configured.

    Polling: only the holder of the poller lock polls (Telegram allows one
    getUpdates reader); None when another process holds it. Webhook: the webhook
    is registered and the runner answers what the web server is posted.
    Returns the runner and the lock to release.
    """
    state = app.extensions["sargs"]
    settings = state.settings
    if settings.telegram_bot_token is None:
        return None
    if settings.telegram_bot_mode == "webhook":
        runner = webhook_runner(app)
        runner.register_webhook()
        return runner, None
    lock = SchedulerLock(state.engine, settings.instance_path, POLLER_LOCK_KEY, "telegram-bot")
    if not lock.acquire():
        log.warning("another process polls the Telegram bot; this one will not")
        return None
    try:
        runner = BotRunner(app, polling=True).start()
    except Exception:
        lock.release()
        raise
    app.extensions["telegram_bot"] = runner
    return runner, lock


def stop(started: tuple[BotRunner, Any] | None) -> None:
    if started is None:
        return
    runner, lock = started
    runner.stop()
    runner.app.extensions.pop("telegram_bot", None)
    if lock is not None:
        lock.release()
