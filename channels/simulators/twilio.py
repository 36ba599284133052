"""Twilio REST API simulator: Messages and Calls of API version 2010-04-01.

Requests use Twilio's paths, form fields and HTTP Basic auth; answers are the
JSON resources Twilio returns. Messages leave each sender at
``segments_per_second`` (Twilio queues the rest), then status callbacks are
POSTed signed with ``X-Twilio-Signature``. A phone "received" a message when
it is delivered; :attr:`TwilioSimulator.phones` records it.

A callee who presses a key during a call's ``<Gather>`` is played with
:meth:`TwilioSimulator.press`.

Faults (:meth:`fault`): ``429`` (code 20429), ``500``/``502``/``503``, ``slow``,
``hang``, ``drop`` on requests (``on=("Messages",)`` restricts them), and
``duplicate_callbacks`` / ``out_of_order_callbacks`` for the next messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import queue
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

from sargs import clock
from sargs.channels.simulators.base import (
    HttpRequest,
    HttpResponse,
    HttpSimulator,
    Record,
    Timeline,
)
from sargs.channels.texts import sms_segments

log = logging.getLogger(__name__)

API = "2010-04-01"
ACCOUNT_SID = "AC" + "5a" * 16
AUTH_TOKEN = "5a" * 16
ROUTE = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/(?P<kind>Messages|Calls)"
                   r"(?:/(?P<sid>[A-Za-z0-9]+))?\.json$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
FINAL_MESSAGE = {"delivered", "undelivered", "failed"}


def signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """``X-Twilio-Signature``: base64 HMAC-SHA1 of the URL followed by the sorted params."""
    data = url + "".join(key + params[key] for key in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _error(status: int, code: int, message: str, **headers: str) -> HttpResponse:
    return HttpResponse.json(status, {
        "code": code, "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status,
    }, **headers)


def _first(form: Mapping[str, list[str]], key: str) -> str | None:
    values = form.get(key)
    return values[0] if values else None


def _rfc2822(moment: Any = None) -> str:
    return format_datetime(moment or clock.now())


class TwilioSimulator(HttpSimulator):
    name = "twilio"
    fault_names = ("429", "500", "502", "503", "slow", "hang", "drop",
                   "duplicate_callbacks", "out_of_order_callbacks")

    def __init__(self, *, mode: str | None = None, port: int = 0,
                 account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN,
                 segments_per_second: float = 10.0, calls_per_second: float = 1.0,
                 delivery_delay: float = 0.05, unsubscribed: Iterable[str] = (),
                 undeliverable: Mapping[str, int] | None = None,
                 busy: Iterable[str] = (), no_answer: Iterable[str] = ()) -> None:
        super().__init__(mode=mode, port=port)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.segments_per_second = segments_per_second
        self.calls_per_second = calls_per_second
        self.delivery_delay = delivery_delay
        self.unsubscribed = set(unsubscribed)
        self.undeliverable = dict(undeliverable or {})  # number -> ErrorCode (e.g. 30003)
        self.busy = set(busy)
        self.no_answer = set(no_answer)
        self.phones = Record()       # number -> messages and calls it received
        self.departures = Record()   # sender -> {sid, to, segments, monotonic}
        self.callbacks = Record()    # sid -> {url, params, signature, outcome}
        self._lock = threading.Lock()
        self._resources: dict[str, dict[str, Any]] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._free_at: dict[str, float] = {}

    # --- lifecycle ---------------------------------------------------------

    def _start(self) -> None:
        self._timeline = Timeline("twilio-simulator-queue")
        self._timeline.start()
        self._outbox: queue.Queue[tuple[str, dict[str, str], str] | None] = queue.Queue()
        self._poster = threading.Thread(target=self._post_callbacks,
                                        name="twilio-simulator-callbacks", daemon=True)
        self._poster.start()
        super()._start()

    def _stop(self) -> None:
        super()._stop()
        self._timeline.stop()
        self._outbox.put(None)
        self._poster.join(timeout=5)

    # --- lookups for tests and the demo -----------------------------------

    def message(self, sid: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._resources[sid])

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._resources.values() if r["sid"].startswith("SM")]

    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._resources.values() if r["sid"].startswith("CA")]

    def wait_for_status(self, sid: str, *statuses: str, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._resources[sid]["status"] in statuses:
                    return True
            time.sleep(0.01)
        return False

    # --- HTTP --------------------------------------------------------------

    def endpoint(self, request: HttpRequest) -> str | None:
        match = ROUTE.match(request.path)
        return match["kind"] if match else None

    def _authorised(self, request: HttpRequest, account: str) -> bool:
        header = request.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (hmac.compare_digest(user, self.account_sid)
                and hmac.compare_digest(secret, self.auth_token) and account == user)

    def handle(self, request: HttpRequest) -> HttpResponse | None:
        match = ROUTE.match(request.path)
        if match is None:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        if not self._authorised(request, match["account"]):
            return HttpResponse.json(401, {
                "code": 20003, "message": "Authenticate", "status": 401,
                "more_info": "https://www.twilio.com/docs/errors/20003",
            }, **{"WWW-Authenticate": 'Basic realm="Twilio API"'})
        taken = self.faults.take_any(("429", "500", "502", "503"), match["kind"])
        if taken is not None:
            status = int(taken[0])
            if status == 429:
                return _error(429, 20429, "Too Many Requests")
            return _error(status, 20500, "An internal server error has occurred")
        kind, sid = match["kind"], match["sid"]
        if request.method == "GET" and sid:
            with self._lock:
                resource = self._resources.get(sid)
            if resource is None or not sid.startswith("SM" if kind == "Messages" else "CA"):
                return _error(404, 20404, f"The requested resource {request.path} was not found")
            return HttpResponse.json(200, self._public(resource))
        if request.method == "GET":
            return self._list(kind, request)
        if request.method == "POST" and not sid:
            form = request.form()
            if kind == "Messages":
                return self._create_message(form)
            return self._create_call(form)
        return _error(405, 20004, "Method not allowed")

    def _list(self, kind: str, request: HttpRequest) -> HttpResponse:
        query = request.query
        wanted = [r for r in (self.messages() if kind == "Messages" else self.calls())]
        for field, key in (("To", "to"), ("From", "from")):
            if _first(query, field):
                wanted = [r for r in wanted if r[key] == _first(query, field)]
        for field, test in (("DateSent", lambda d, v: d == v), ("DateSent<", lambda d, v: d <= v),
                            ("DateSent>", lambda d, v: d >= v)):
            value = _first(query, field)
            if value:
                wanted = [r for r in wanted
                          if r["_sent_day"] is not None and test(r["_sent_day"], value)]
        wanted.sort(key=lambda r: r["_order"], reverse=True)
        size = int(_first(query, "PageSize") or 50)
        page = int(_first(query, "Page") or 0)
        chunk = wanted[page * size:(page + 1) * size]
        base = f"/{API}/Accounts/{self.account_sid}/{kind}.json"
        has_more = len(wanted) > (page + 1) * size
        return HttpResponse.json(200, {
            kind.lower(): [self._public(r) for r in chunk],
            "end": page * size + max(len(chunk) - 1, 0), "start": page * size,
            "page": page, "page_size": size, "uri": f"{base}?PageSize={size}&Page={page}",
            "first_page_uri": f"{base}?PageSize={size}&Page=0", "previous_page_uri": None,
            "next_page_uri": f"{base}?PageSize={size}&Page={page + 1}" if has_more else None,
        })

    @staticmethod
    def _public(resource: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in resource.items() if not k.startswith("_")}

    def _store(self, resource: dict[str, Any], meta: dict[str, Any]) -> None:
        with self._lock:
            resource["_order"] = len(self._resources)
            resource["_sent_day"] = None
            self._resources[resource["sid"]] = resource
            self._meta[resource["sid"]] = meta

    def _slot(self, key: str, cost: float) -> float:
        """When the next item of ``cost`` seconds may leave ``key`` (Twilio's queue)."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._free_at.get(key, now))
            self._free_at[key] = start + cost
            return start

    def _update(self, sid: str, **changes: Any) -> dict[str, Any]:
        with self._lock:
            resource = self._resources[sid]
            resource.update(changes, date_updated=_rfc2822())
            return dict(resource)

    # --- messages ------------------------------------------------------------

    def _create_message(self, form: dict[str, list[str]]) -> HttpResponse:
        to, sender = _first(form, "To"), _first(form, "From")
        service, body = _first(form, "MessagingServiceSid"), _first(form, "Body") or ""
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not sender and not service:
            return _error(400, 21603,
                          "A 'From' or 'MessagingServiceSid' parameter is required to send a message.")
        if not body and not form.get("MediaUrl"):
            return _error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return _error(400, 21617,
                          "The concatenated message body exceeds the 1600 character limit.")
        if to in self.unsubscribed:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        try:
            validity = int(_first(form, "ValidityPeriod") or 36000)
        except ValueError:
            return _error(400, 21609, "Invalid ValidityPeriod")
        count, encoding = sms_segments(body)
        sid = "SM" + uuid.uuid4().hex
        now = _rfc2822()
        resource = {
            "account_sid": self.account_sid, "api_version": API, "body": body,
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": sender, "messaging_service_sid": service, "num_media": "0",
            "num_segments": str(count), "price": None, "price_unit": "USD", "sid": sid,
            "status": "queued" if sender else "accepted", "to": to,
            "subresource_uris": {"media": f"/{API}/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "uri": f"/{API}/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        meta = {"callback": _first(form, "StatusCallback"), "created": time.monotonic(),
                "validity": validity, "encoding": encoding, "held": [],
                "duplicate": self.faults.take("duplicate_callbacks") is not None,
                "out_of_order": self.faults.take("out_of_order_callbacks") is not None}
        self._store(resource, meta)
        key = sender or service or ""
        self._timeline.at(self._slot(key, count / self.segments_per_second),
                          lambda: self._depart(sid))
        return HttpResponse.json(201, self._public(resource))

    def _depart(self, sid: str) -> None:
        meta = self._meta[sid]
        if time.monotonic() - meta["created"] > meta["validity"]:
            self._message_status(sid, "failed", 30001, "Queue overflow")
            return
        message = self._update(sid, status="sent", date_sent=_rfc2822())
        with self._lock:
            self._resources[sid]["_sent_day"] = clock.now().date().isoformat()
        sender = message["from"] or message["messaging_service_sid"]
        self.departures.add(sender, {"sid": sid, "to": message["to"],
                                     "segments": int(message["num_segments"]),
                                     "monotonic": time.monotonic(),
                                     "created": meta["created"],
                                     "waited": time.monotonic() - meta["created"]})
        self._message_callback(sid, message)
        code = self.undeliverable.get(message["to"])
        if code is not None:
            self._timeline.after(self.delivery_delay, lambda: self._message_status(
                sid, "undelivered", code, "Unreachable destination handset"))
        else:
            self._timeline.after(self.delivery_delay, lambda: self._deliver(sid))

    def _deliver(self, sid: str) -> None:
        message = self._update(sid, status="delivered")
        self.phones.add(message["to"], {
            "kind": "sms", "sid": sid, "from": message["from"], "body": message["body"],
            "segments": int(message["num_segments"]), "at": clock.now(),
        })
        self._message_callback(sid, message)

    def _message_status(self, sid: str, status: str, code: int, text: str) -> None:
        message = self._update(sid, status=status, error_code=code, error_message=text)
        self._message_callback(sid, message)

    def _message_callback(self, sid: str, message: dict[str, Any]) -> None:
        params = {
            "AccountSid": self.account_sid, "ApiVersion": API, "From": message["from"] or "",
            "MessageSid": sid, "MessageStatus": message["status"], "SmsSid": sid,
            "SmsStatus": message["status"], "To": message["to"],
        }
        if message["messaging_service_sid"]:
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if message["error_code"] is not None:
            params["ErrorCode"] = str(message["error_code"])
        self._callback(sid, params, final=message["status"] in FINAL_MESSAGE)

    # --- calls -----------------------------------------------------------------

    def _create_call(self, form: dict[str, list[str]]) -> HttpResponse:
        to, sender = _first(form, "To"), _first(form, "From")
        if not to:
            return _error(400, 21201, "No 'To' number is specified")
        if not sender:
            return _error(400, 21213, "No 'From' number is specified")
        if not E164.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        twiml, url = _first(form, "Twiml"), _first(form, "Url")
        if not twiml and not url and not _first(form, "ApplicationSid"):
            return _error(400, 21205, "Url parameter is required.")
        sid = "CA" + uuid.uuid4().hex
        now = _rfc2822()
        resource = {
            "account_sid": self.account_sid, "api_version": API, "annotation": None,
            "answered_by": None, "caller_name": None, "date_created": now, "date_updated": now,
            "direction": "outbound-api", "duration": None, "end_time": None,
            "forwarded_from": None, "from": sender, "from_formatted": sender,
            "parent_call_sid": None, "phone_number_sid": None, "price": None,
            "price_unit": "USD", "sid": sid, "start_time": None, "status": "queued", "to": to,
            "to_formatted": to, "uri": f"/{API}/Accounts/{self.account_sid}/Calls/{sid}.json",
        }
        events = form.get("StatusCallbackEvent") or ["completed"]
        meta = {"callback": _first(form, "StatusCallback"), "twiml": twiml, "url": url,
                "events": {e for value in events for e in value.split()}, "sequence": 0,
                "held": [], "duplicate": self.faults.take("duplicate_callbacks") is not None,
                "out_of_order": self.faults.take("out_of_order_callbacks") is not None}
        self._store(resource, meta)
        self._timeline.at(self._slot("calls", 1 / self.calls_per_second),
                          lambda: self._call_progress(sid, "initiated"))
        return HttpResponse.json(201, self._public(resource))

    def _call_progress(self, sid: str, status: str) -> None:
        call = self._update(sid, status=status)
        to, after = call["to"], self.delivery_delay / 2
        if status == "initiated":
            self._update(sid, start_time=_rfc2822())
            self._timeline.after(0, lambda: self._call_progress(sid, "ringing"))
        elif status == "ringing":
            outcome = "busy" if to in self.busy else "no-answer" if to in self.no_answer else None
            self._timeline.after(after, lambda: self._call_progress(sid, outcome or "in-progress"))
        elif status == "in-progress":
            meta = self._meta[sid]
            self.phones.add(to, {"kind": "call", "sid": sid, "from": call["from"],
                                 "twiml": meta["twiml"], "url": meta["url"], "at": clock.now()})
            self._timeline.after(after, lambda: self._call_progress(sid, "completed"))
        else:
            call = self._update(sid, end_time=_rfc2822(),
                                duration="12" if status == "completed" else "0")
        self._call_callback(sid, call)

    def _call_callback(self, sid: str, call: dict[str, Any]) -> None:
        meta = self._meta[sid]
        event = {"in-progress": "answered", "busy": "completed",
                 "no-answer": "completed"}.get(call["status"], call["status"])
        if event not in meta["events"]:
            return
        params = {
            "AccountSid": self.account_sid, "ApiVersion": API, "CallSid": sid,
            "CallStatus": call["status"], "Called": call["to"], "Caller": call["from"],
            "CallbackSource": "call-progress-events", "Direction": "outbound-api",
            "From": call["from"], "SequenceNumber": str(meta["sequence"]),
            "Timestamp": _rfc2822(), "To": call["to"],
        }
        meta["sequence"] += 1
        if call["duration"] is not None:
            params["CallDuration"] = params["Duration"] = call["duration"]
        final = call["status"] in {"completed", "busy", "no-answer", "failed", "canceled"}
        self._callback(sid, params, final=final)

    def press(self, number: str, digits: str = "1") -> tuple[int | str, str]:
        """The callee at ``number`` presses ``digits`` during the newest call's ``<Gather>``:
        POST the signed Gather callback to its action, as Twilio does. Returns the
        answer's status and body (the TwiML said next)."""
        calls = [c for c in self.calls()
                 if c["to"] == number and c["status"] in ("in-progress", "completed")]
        if not calls:
            raise LookupError(f"no answered call to {number}")
        call = max(calls, key=lambda c: c["_order"])
        gather = ElementTree.fromstring(self._meta[call["sid"]]["twiml"] or "<Response/>") \
            .find("Gather")
        if gather is None:
            raise LookupError("the call gathers no keys")
        params = {"AccountSid": self.account_sid, "ApiVersion": API, "CallSid": call["sid"],
                  "CallStatus": "in-progress", "Called": number, "Caller": call["from"],
                  "Digits": digits, "Direction": "outbound-api", "FinishedOnKey": "",
                  "From": call["from"], "To": number}
        url = gather.get("action", "")
        request = urllib.request.Request(
            url, data=urlencode(params).encode(), method=gather.get("method", "POST"),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                     "X-Twilio-Signature": signature(self.auth_token, url, params)})
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    # --- status callbacks ----------------------------------------------------

    def _callback(self, sid: str, params: dict[str, str], final: bool) -> None:
        meta = self._meta[sid]
        url = meta["callback"]
        if not url:
            return
        if meta["out_of_order"] and not final:
            meta["held"].append(params)
            return
        batch = [params] + (meta["held"] if final else [])
        for item in batch:
            for _ in range(2 if meta["duplicate"] else 1):
                self._outbox.put((url, item, sid))

    def _post_callbacks(self) -> None:
        while (job := self._outbox.get()) is not None:
            url, params, sid = job
            sig = signature(self.auth_token, url, params)
            request = urllib.request.Request(
                url, data=urlencode(params).encode(), method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                         "X-Twilio-Signature": sig, "User-Agent": "TwilioProxy/1.1",
                         "I-Twilio-Idempotency-Token": uuid.uuid4().hex})
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    outcome: int | str = answer.status
            except urllib.error.HTTPError as exc:
                outcome = exc.code
            except OSError as exc:
                outcome = f"error: {exc}"
            self.callbacks.add(sid, {"url": url, "params": params, "signature": sig,
                                     "outcome": outcome})
