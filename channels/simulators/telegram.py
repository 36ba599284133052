"""Telegram Bot API simulator: ``POST /bot<token>/<method>``.

Parameters come as a query string, form fields (non-strings JSON-encoded, as
python-telegram-bot sends them), JSON or multipart; answers are
``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": …, "description": …}``.
Users are played with :meth:`user_sends`, :meth:`user_presses`,
:meth:`user_shares_location`, :meth:`user_blocks`; the bot reads their updates
with ``getUpdates`` (long poll) or receives them on its webhook. What each
chat received is in :attr:`TelegramSimulator.chats`; every send is in
:attr:`TelegramSimulator.sends` with its monotonic time, for rate budgets.

Faults: ``429`` (``retry_after``, default 1), ``500``/``502``, ``slow``,
``hang``, ``drop``; ``on=("sendMessage",)`` restricts a fault to methods.
Optional flood limits (``overall_limit=(30, 1.0)``, ``chat_limit=(1, 1.0)``)
answer 429 like Telegram when a budget is exceeded.
"""

from __future__ import annotations

import itertools
import json
import math
import queue
import re
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, NamedTuple

from sargs import clock
from sargs.channels.simulators.base import HttpRequest, HttpResponse, HttpSimulator, Record

TOKEN = "7000000001:AAsargs-simulator-token-000000000000"
ROUTE = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
DEFAULT_UPDATES = {"message", "edited_message", "channel_post", "edited_channel_post",
                   "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
                   "pre_checkout_query", "poll", "poll_answer", "my_chat_member",
                   "chat_join_request", "business_message"}
# Method names in the Bot API's own spelling, by their lowercase form.
METHODS = {name.lower(): name for name in (
    "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "setMyCommands",
    "getMyCommands", "deleteMyCommands", "sendMessage", "sendLocation", "sendPhoto",
    "sendDocument", "sendVenue", "editMessageText", "editMessageReplyMarkup",
    "answerCallbackQuery")}
SENDS = {"sendmessage", "sendlocation", "sendphoto", "senddocument", "sendvenue"}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")


class Upload(NamedTuple):
    """A file the bot uploaded (multipart)."""

    filename: str
    content: bytes


class ApiError(Exception):
    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def response(self) -> HttpResponse:
        payload: dict[str, Any] = {"ok": False, "error_code": self.status,
                                   "description": self.description}
        if self.parameters:
            payload["parameters"] = self.parameters
        return HttpResponse.json(self.status, payload)


def _now() -> int:
    return int(clock.now().timestamp())


def _decoded(value: Any) -> Any:
    """A form value as Telegram reads it: JSON for objects and arrays, else the text."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON") from None
    return value


def _number(params: dict[str, Any], name: str, kind: type = int) -> Any:
    value = params.get(name)
    if value in (None, ""):
        raise ApiError(400, f"Bad Request: {name} is empty")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid {name} specified") from None


class TelegramSimulator(HttpSimulator):
    name = "telegram"
    fault_names = ("429", "500", "502", "slow", "hang", "drop")

    def __init__(self, *, mode: str | None = None, port: int = 0, token: str = TOKEN,
                 username: str = "sargs_sim_bot", first_name: str = "Sargs",
                 known_chats_only: bool = False,
                 overall_limit: tuple[int, float] | None = None,
                 chat_limit: tuple[int, float] | None = None) -> None:
        super().__init__(mode=mode, port=port)
        self.token = token
        self.bot = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": first_name,
                    "username": username, "can_join_groups": False,
                    "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.known_chats_only = known_chats_only
        self.overall_limit, self.chat_limit = overall_limit, chat_limit
        self.chats = Record()      # chat id -> what the chat saw (messages, locations, edits)
        self.sends = Record()      # chat id -> {method, monotonic} for every accepted send
        self.answers = Record()    # callback query id -> answerCallbackQuery parameters
        self.requests = Record()   # method -> parameters of every call
        self.webhook_posts = Record()  # update id -> {url, status}
        self.documents = Record()  # chat id -> {file_name, content} of every file sent
        self.blocked: set[int] = set()
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self._lock = threading.Condition()
        self._users: dict[int, dict[str, Any]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(100001)
        self._allowed = set(DEFAULT_UPDATES)
        self._queries: dict[str, bool] = {}
        self._query_ids = itertools.count(4200000000000001)
        self._recent: deque[tuple[float, int]] = deque()

    def _start(self) -> None:
        self._pushes: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._pusher = threading.Thread(target=self._push_updates, daemon=True,
                                        name="telegram-simulator-webhook")
        self._pusher.start()
        super()._start()

    def _stop(self) -> None:
        with self._lock:
            self._lock.notify_all()  # release long polls
        super()._stop()
        self._pushes.put(None)
        self._pusher.join(timeout=5)

    # --- users ---------------------------------------------------------------

    def add_chat(self, chat_id: int, first_name: str = "Jānis", username: str | None = None,
                 language_code: str = "lv") -> dict[str, Any]:
        with self._lock:
            user = self._users.get(chat_id)
            if user is None:
                user = {"id": chat_id, "is_bot": False, "first_name": first_name,
                        "language_code": language_code}
                if username:
                    user["username"] = username
                self._users[chat_id] = user
                self._message_ids[chat_id] = itertools.count(1)
            return user

    def _chat(self, chat_id: int) -> dict[str, Any]:
        user = self._users[chat_id]
        chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        if "username" in user:
            chat["username"] = user["username"]
        return chat

    def _user_message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        self.add_chat(chat_id)
        if chat_id in self.blocked:
            self.user_unblocks(chat_id)
        with self._lock:
            message_id = next(self._message_ids[chat_id])
            message = {"message_id": message_id, "from": self._users[chat_id],
                       "chat": self._chat(chat_id), "date": _now(), **content}
        return self._add_update("message", message)

    def user_sends(self, chat_id: int, text: str, **user: Any) -> dict[str, Any]:
        """The user writes ``text`` to the bot (a ``/command`` gets its entity)."""
        if user:
            self.add_chat(chat_id, **user)
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        return self._user_message(chat_id, **content)

    def user_shares_location(self, chat_id: int, latitude: float, longitude: float
                             ) -> dict[str, Any]:
        return self._user_message(chat_id, location={"latitude": latitude,
                                                     "longitude": longitude})

    def user_presses(self, chat_id: int, message_id: int, data: str) -> dict[str, Any]:
        """The user presses the inline button carrying ``data`` under a bot message."""
        self.add_chat(chat_id)
        with self._lock:
            message = self._messages.get((chat_id, message_id)) or {
                "message_id": message_id, "chat": self._chat(chat_id), "date": 0}
            query_id = str(next(self._query_ids))
            self._queries[query_id] = False
            query = {"id": query_id, "from": self._users[chat_id], "message": message,
                     "chat_instance": str(-abs(hash((self.bot["id"], chat_id)))), "data": data}
        return self._add_update("callback_query", query)

    def _membership(self, chat_id: int, old: str, new: str) -> dict[str, Any]:
        self.add_chat(chat_id)
        with self._lock:
            change = {"chat": self._chat(chat_id), "from": self._users[chat_id], "date": _now(),
                      "old_chat_member": {"user": self.bot, "status": old},
                      "new_chat_member": {"user": self.bot, "status": new}}
            if new == "kicked":
                change["new_chat_member"]["until_date"] = 0
                self.blocked.add(chat_id)
            else:
                self.blocked.discard(chat_id)
        return self._add_update("my_chat_member", change)

    def user_blocks(self, chat_id: int) -> dict[str, Any]:
        return self._membership(chat_id, "member", "kicked")

    def user_unblocks(self, chat_id: int) -> dict[str, Any]:
        return self._membership(chat_id, "kicked", "member")

    def _add_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            update = {"update_id": next(self._update_ids), kind: payload}
            self._updates.append(update)
            self._lock.notify_all()
            pushing = self.webhook is not None
        if pushing:
            self._pushes.put(update)
        return update

    def pending_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._updates)

    def max_sends(self, window: float = 1.0, chat_id: int | None = None) -> int:
        """The most sends seen within any ``window`` seconds (to one chat, if given)."""
        times = sorted(e["monotonic"] for a, e in self.sends.all()
                       if chat_id is None or a == str(chat_id))
        best, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    # --- HTTP ----------------------------------------------------------------

    def endpoint(self, request: HttpRequest) -> str | None:
        """The method as the Bot API documents it: names are case-insensitive."""
        match = ROUTE.match(request.path)
        return METHODS.get(match["method"].lower(), match["method"]) if match else None

    def handle(self, request: HttpRequest) -> HttpResponse | None:
        match = ROUTE.match(request.path)
        if match is None:
            return ApiError(404, "Not Found").response()
        if match["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        method = self.endpoint(request) or match["method"]
        action = getattr(self, f"_api_{method.lower()}", None)
        if action is None:
            return ApiError(404, "Not Found").response()
        taken = self.faults.take_any(("429", "500", "502"), method)
        try:
            if taken is not None:
                if taken[0] == "429":
                    after = int(taken[1].get("retry_after", 1))
                    raise ApiError(429, f"Too Many Requests: retry after {after}",
                                   retry_after=after)
                raise ApiError(int(taken[0]), "Internal Server Error")
            params = self._params(request)
            self.requests.add(method, params)
            result = action(params)
        except ApiError as exc:
            return exc.response()
        return HttpResponse.json(200, {"ok": True, "result": result})

    @staticmethod
    def _params(request: HttpRequest) -> dict[str, Any]:
        params: dict[str, Any] = {k: v[-1] for k, v in request.query.items()}
        ctype = (request.headers.get("Content-Type") or "").lower()
        if ctype.startswith("application/json"):
            try:
                body = request.json() or {}
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON") from None
            params.update(body if isinstance(body, dict) else {})
            return params
        if ctype.startswith("multipart/form-data"):
            head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
            for part in BytesParser(policy=HTTP).parsebytes(head + request.body).iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                filename = part.get_filename()
                params[name] = Upload(filename, payload) if filename else payload.decode("utf-8")
        else:
            params.update({k: v[-1] for k, v in request.form().items()})
        return {k: _decoded(v) for k, v in params.items()}

    # --- methods -------------------------------------------------------------

    def _api_getme(self, params: dict[str, Any]) -> Any:
        return self.bot

    def _api_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(float(params.get("timeout") or 0), 50.0)
        allowed = params.get("allowed_updates")
        deadline = time.monotonic() + timeout
        with self._lock:
            if isinstance(allowed, list):
                self._allowed = set(allowed) or set(DEFAULT_UPDATES)
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while True:
                ready = [u for u in self._updates if self._wanted(u)][:limit]
                left = deadline - time.monotonic()
                if ready or left <= 0 or self.stopping.is_set():
                    return ready
                self._lock.wait(left)

    def _wanted(self, update: dict[str, Any]) -> bool:
        return any(key in self._allowed for key in update if key != "update_id")

    def _api_setwebhook(self, params: dict[str, Any]) -> Any:
        url = params.get("url") or ""
        with self._lock:
            if not url:
                self.webhook = None
                return True
            self.webhook = {"url": url, "secret_token": params.get("secret_token")}
            if params.get("drop_pending_updates") in (True, "true", "True"):
                self._updates.clear()
            pending = list(self._updates)
        for update in pending:
            self._pushes.put(update)
        return True

    def _api_deletewebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.webhook = None
            if params.get("drop_pending_updates") in (True, "true", "True"):
                self._updates.clear()
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        with self._lock:
            return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": len(self._updates)}

    def _api_setmycommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: commands is empty")
        self.commands[params.get("language_code") or ""] = commands
        return True

    def _api_getmycommands(self, params: dict[str, Any]) -> Any:
        return self.commands.get(params.get("language_code") or "", [])

    def _api_deletemycommands(self, params: dict[str, Any]) -> Any:
        self.commands.pop(params.get("language_code") or "", None)
        return True

    def _target(self, params: dict[str, Any]) -> int:
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        if chat_id not in self._users:
            if self.known_chats_only:
                raise ApiError(400, "Bad Request: chat not found")
            self.add_chat(chat_id)
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _flood_check(self, chat_id: int) -> None:
        now = time.monotonic()
        with self._lock:
            for limit, key in ((self.overall_limit, None), (self.chat_limit, chat_id)):
                if limit is None:
                    continue
                count, window = limit
                recent = [t for t, c in self._recent if now - t < window and key in (None, c)]
                if len(recent) >= count:
                    after = max(1, math.ceil(window - (now - recent[0])))
                    raise ApiError(429, f"Too Many Requests: retry after {after}",
                                   retry_after=after)
            self._recent.append((now, chat_id))
            while self._recent and now - self._recent[0][0] > 3600:
                self._recent.popleft()

    def _send(self, method: str, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = self._target(params)
        self._flood_check(chat_id)
        markup = params.get("reply_markup")
        with self._lock:
            message = {"message_id": next(self._message_ids[chat_id]), "from": self.bot,
                       "chat": self._chat(chat_id), "date": _now(), **content}
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                message["reply_markup"] = markup
            self._messages[(chat_id, message["message_id"])] = message
        self.sends.add(chat_id, {"method": method, "monotonic": time.monotonic()})
        self.chats.add(chat_id, {"kind": method, "message_id": message["message_id"],
                                 "reply_markup": markup, "parse_mode": params.get("parse_mode"),
                                 "at": clock.now(), **content})
        return message

    def _api_sendmessage(self, params: dict[str, Any]) -> Any:
        text = params.get("text")
        if not text:
            self._target(params)
            raise ApiError(400, "Bad Request: message text is empty")
        if len(str(text)) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._send("sendMessage", params, text=str(text))

    def _api_senddocument(self, params: dict[str, Any]) -> Any:
        upload = params.get("document")
        if not isinstance(upload, Upload):  # a file_id or URL: Telegram would fetch it
            self._target(params)
            raise ApiError(400, "Bad Request: there is no document in the request")
        document = {"file_name": upload.filename, "file_size": len(upload.content),
                    "file_id": f"doc{len(self.documents) + 1}", "file_unique_id": "u"}
        message = self._send("sendDocument", params, document=document,
                             caption=str(params.get("caption") or ""))
        self.documents.add(message["chat"]["id"], {"file_name": upload.filename,
                                                   "content": upload.content})
        return message

    def _api_sendlocation(self, params: dict[str, Any]) -> Any:
        location = {"latitude": _number(params, "latitude", float),
                    "longitude": _number(params, "longitude", float)}
        return self._send("sendLocation", params, location=location)

    def _edit(self, params: dict[str, Any], method: str, **change: Any) -> dict[str, Any]:
        chat_id = self._target(params)
        message_id = _number(params, "message_id")
        with self._lock:
            message = self._messages.get((chat_id, message_id))
            if message is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            markup = params.get("reply_markup")
            updated = dict(message, **change)
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                updated["reply_markup"] = markup
            else:
                updated.pop("reply_markup", None)
            if {k: v for k, v in updated.items() if k != "edit_date"} == {
                    k: v for k, v in message.items() if k != "edit_date"}:
                raise ApiError(400, NOT_MODIFIED)
            updated["edit_date"] = _now()
            self._messages[(chat_id, message_id)] = updated
        self.chats.add(chat_id, {"kind": method, "message_id": message_id,
                                 "reply_markup": markup, "at": clock.now(), **change})
        return updated

    def _api_editmessagetext(self, params: dict[str, Any]) -> Any:
        if not params.get("text"):
            raise ApiError(400, "Bad Request: message text is empty")
        return self._edit(params, "editMessageText", text=str(params["text"]))

    def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        return self._edit(params, "editMessageReplyMarkup")

    def _api_answercallbackquery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        with self._lock:
            if self._queries.get(query_id, True):
                raise ApiError(400, "Bad Request: query is too old and response timeout "
                                    "expired or query ID is invalid")
            self._queries[query_id] = True
        self.answers.add(query_id, {"text": params.get("text"),
                                    "show_alert": params.get("show_alert") in (True, "true")})
        return True

    # --- webhook ---------------------------------------------------------------

    def _push_updates(self) -> None:
        while (update := self._pushes.get()) is not None:
            hook = self.webhook
            if hook is None:
                continue
            headers = {"Content-Type": "application/json"}
            if hook["secret_token"]:
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
            request = urllib.request.Request(hook["url"], data=json.dumps(update).encode(),
                                             headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    status: int | str = answer.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError as exc:
                status = f"error: {exc}"
            if isinstance(status, int) and 200 <= status < 300:
                with self._lock:
                    self._updates = [u for u in self._updates if u is not update]
            self.webhook_posts.add(str(update["update_id"]), {"url": hook["url"],
                                                              "status": status})
