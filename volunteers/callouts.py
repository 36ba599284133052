"""Call-outs: a coordinator asks for volunteers, Sargs finds and asks them, their answers
fill the roster, and on site their hours are logged.

How it works, and why:

* **Who is asked** (:func:`candidates`): active volunteers with every skill needed, in
  the area (their municipality or neighbourhood is the call-out's area; no area: all),
  available at the start (Riga weekday in their days and the time within their hours;
  a volunteer who gave no days counts as available any day — they told us nothing
  that rules them out, and the coordinator still sees them answer), reachable on
  Telegram or SMS (a reply is needed: e-mail alone cannot answer), not asked in this
  call-out before, and not already committed (said yes) to another open call-out
  overlapping in time. Reserve volunteers come only after the active ones; volunteers
  flagged as unresponsive come last.
* **Waves**: the first wave asks ``needed × WAVE_FACTOR`` people; the scheduler's tick
  (:func:`run_due`) asks more the same way every ``NEXT_WAVE_AFTER`` while the quota
  is not filled and people remain. Someone who said no is never asked again there.
* **One message per person**: the engine gives a contact named in an alert *every*
  address on the alert's channels, so each wave sends one alert per channel — people
  whose preferred address is Telegram get the Telegram one (with "yes" / "no"
  buttons, :func:`keyboard`), the others the SMS one. Every message is in the ledger.
* **Answers**: a Telegram button (``co:<id>:1`` / ``co:<id>:2``), or a text "A1" / "A2"
  (also "a 1", "A1 jā" …) by SMS or Telegram through the inbound router. The sender is
  the volunteer at the reply's address. Every reply is kept raw
  (:class:`CallOutReply`); one not understood — "varbūt", "A3", a code they were not
  asked in — waits for the coordinator (``needs_review``), who settles it.
* **Quota**: when enough said yes the call-out is "filled" and everyone still asked is
  released and told "enough, thank you"; a later yes gets the same answer and is not
  counted. A yes from someone committed to an overlapping call-out is refused politely.
  A yes turning into a no reopens a filled call-out, and the tick asks more.
* **Messages that need the channels** (waves, "enough", cancellations) are sent at once
  when the app's settings are at hand, else by the next tick: the Telegram bot's
  polling thread has no app context, so a quota filled by a button press tells the
  others a tick later. Who was already told is read from the ledger's alerts, so
  nobody is told twice.

Every function works on a session and leaves committing to the caller.
"""

from __future__ import annotations

import logging
import re
import string
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.activations.models import Activation
from sargs.areas.service import get_area
from sargs.channels import alerts, inbound, telegram, telegram_bot
from sargs.channels.models import Alert
from sargs.volunteers import messages
from sargs.volunteers.messages import configured as configured_now
from sargs.volunteers.messages import first_channels
from sargs.volunteers.models import CallOut, CallOutAsk, CallOutReply, Volunteer
from sargs.volunteers.schemas import CallOutIn
from sargs.volunteers.service import CALLABLE, VolunteerError, by_telegram_chat

log = logging.getLogger(__name__)
WAVE_FACTOR = 2  # each wave asks this many people per place still open
NEXT_WAVE_AFTER = timedelta(minutes=10)  # without enough yes, the tick asks more
UNRESPONSIVE_AFTER = 3  # unanswered call-outs in a row that flag a volunteer
ASKING = ("open", "filled")  # their codes are in use; "yes" there commits a volunteer
REACHABLE = ("telegram", "sms")  # channels a volunteer can answer on
SOURCE = "callout"
BUTTON_PREFIX = "co:"
RECENT = timedelta(days=1)  # the tick's look-back for people still to be told
RIGA = ZoneInfo("Europe/Riga")
# "A1", "a 1", "A1 jā", "AB-2 nevaru": the code, the digit, and whatever follows.
ANSWER = re.compile(r"^\s*([A-Za-z]{1,2})\s*-?\s*(\d)(?!\d)(.*)$", re.S)
TEXT_LENGTH = 1600

TEXTS: dict[str, dict[str, str]] = {
    "lv": {
        "ask": "Izsaukums {code}: {title}, {place}, {when}.{brief} "
               "Atbildiet {code}1 — nāku, {code}2 — nevaru.",
        "enough": "Izsaukums {code} ({title}): cilvēku pietiek, paldies! Jums nav jānāk.",
        "cancelled": "Izsaukums {code} ({title}, {when}) ir atcelts. Paldies par gatavību "
                     "palīdzēt!",
        "yes": "Paldies! Jūs esat sarakstā: izsaukums {code}, {title}, {place}, {when}.",
        "already_yes": "Jūs jau esat sarakstā: izsaukums {code}, {when}.",
        "no": "Paldies, atzīmējām, ka uz izsaukumu {code} nevarat ierasties.",
        "busy": "Paldies, bet šajā laikā jūs jau esat pieteicies izsaukumam {other}; divos "
                "vienlaikus pieteikt nevaram.",
        "ended": "Izsaukums {code} vairs nav aktuāls. Paldies!",
        "unclear": "Atbildi nesapratām; koordinators to izskatīs. Atbildiet {code}1 — nāku, "
                   "{code}2 — nevaru.",
        "not_asked": "Izsaukumā {code} jūs neaicinājām; koordinators jūsu atbildi izskatīs.",
        "button_yes": "✅ Nāku",
        "button_no": "❌ Nevaru",
        "stale": "Šis izsaukums vairs nav aktuāls.",
        "withdrawn": "Izsaukums {code} ({title}, {when}): koordinators jūs izņēma no "
                     "saraksta; jums nav jānāk. Paldies!",
    },
    "en": {
        "ask": "Call-out {code}: {title}, {place}, {when}.{brief} "
               "Reply {code}1 — I'm coming, {code}2 — I can't.",
        "enough": "Call-out {code} ({title}): we have enough people, thank you! You need "
                  "not come.",
        "cancelled": "Call-out {code} ({title}, {when}) is cancelled. Thank you for being "
                     "ready to help!",
        "yes": "Thank you! You are on the roster: call-out {code}, {title}, {place}, {when}.",
        "already_yes": "You are already on the roster: call-out {code}, {when}.",
        "no": "Thank you, we noted that you cannot come to call-out {code}.",
        "busy": "Thank you, but at that time you are already committed to call-out {other}; "
                "we cannot book you twice.",
        "ended": "Call-out {code} is over. Thank you!",
        "unclear": "We did not understand the reply; the coordinator will look at it. "
                   "Reply {code}1 — I'm coming, {code}2 — I can't.",
        "not_asked": "You were not asked in call-out {code}; the coordinator will look at "
                     "your reply.",
        "button_yes": "✅ I'm coming",
        "button_no": "❌ I can't",
        "stale": "This call-out is no longer open.",
        "withdrawn": "Call-out {code} ({title}, {when}): the coordinator took you off the "
                     "roster; you need not come. Thank you!",
    },
}


# --- codes and texts -------------------------------------------------------------


def _all_codes() -> Iterator[str]:
    letters = string.ascii_uppercase
    yield from letters
    for first in letters:
        for second in letters:
            yield first + second


def next_code(session: Session) -> str:
    """The first code (A…Z, then AA…ZZ) no call-out still asking uses."""
    taken = set(session.scalars(select(CallOut.code).where(CallOut.state.in_(ASKING))))
    for code in _all_codes():
        if code not in taken:
            return code
    raise VolunteerError("code", _("Too many call-outs are open at once."))


def _local(moment: datetime) -> datetime:
    return moment.astimezone(RIGA)


def when(callout: CallOut) -> str:
    """"24.11. 12:00–16:00" (Riga time); the end's date too when it is another day."""
    start, end = _local(callout.starts_at), _local(callout.ends_at)
    if start.date() == end.date():
        return f"{start:%d.%m.} {start:%H:%M}–{end:%H:%M}"
    return f"{start:%d.%m. %H:%M}–{end:%d.%m. %H:%M}"


def say(key: str, language: str, callout: CallOut, **extra: str) -> str:
    """One message in ``language`` (Latvian if we do not write that one)."""
    words = TEXTS.get(language, TEXTS["lv"])
    brief = " ".join(callout.brief.split())
    return words[key].format(
        code=callout.code, title=callout.title, place=callout.place, when=when(callout),
        brief=f" {brief.rstrip('.')}." if brief else "", **extra)


def message_texts(callout: CallOut, key: str, **extra: str) -> dict[str, str]:
    """Language → the message, Latvian first."""
    return {language: say(key, language, callout, **extra) for language in TEXTS}


# --- choosing people -------------------------------------------------------------


def available(volunteer: Volunteer, at: datetime) -> bool:
    """Free at ``at`` by their stated weekdays and hours (no days given: any day)."""
    local = _local(at)
    if volunteer.available_days and local.weekday() not in volunteer.available_days:
        return False
    minute = local.hour * 60 + local.minute
    return volunteer.available_from <= minute < volunteer.available_to


def _overlapping(callout: CallOut) -> Any:
    """Other call-outs still asking whose time overlaps ``callout``'s."""
    return select(CallOut.id).where(
        CallOut.id != callout.id, CallOut.state.in_(ASKING),
        CallOut.starts_at < callout.ends_at, CallOut.ends_at > callout.starts_at)


def committed_elsewhere(session: Session, volunteer_id: int, callout: CallOut) -> CallOut | None:
    """The overlapping call-out the volunteer already said yes to, if any."""
    return session.scalar(
        select(CallOut).join(CallOutAsk, CallOutAsk.callout_id == CallOut.id).where(
            CallOutAsk.volunteer_id == volunteer_id, CallOutAsk.state == "yes",
            CallOut.id.in_(_overlapping(callout))).order_by(CallOut.starts_at).limit(1))


def candidates(session: Session, callout: CallOut, limit: int) -> list[Volunteer]:
    """Up to ``limit`` volunteers to ask next (see the module's description)."""
    asked = select(CallOutAsk.volunteer_id).where(CallOutAsk.callout_id == callout.id)
    busy = select(CallOutAsk.volunteer_id).where(
        CallOutAsk.state == "yes", CallOutAsk.callout_id.in_(_overlapping(callout)))
    query = select(Volunteer).where(
        Volunteer.status.in_(CALLABLE), Volunteer.contact_id.is_not(None),
        Volunteer.id.not_in(asked), Volunteer.id.not_in(busy))
    if callout.area_code:
        query = query.where(or_(Volunteer.municipality == callout.area_code,
                                Volunteer.neighbourhood == callout.area_code))
    needed = set(callout.skills)
    fitting = [v for v in session.scalars(query.order_by(Volunteer.id))
               if needed <= set(v.skills) and available(v, callout.starts_at)]
    reachable = first_channels(session, [v.contact_id for v in fitting
                                          if v.contact_id is not None], REACHABLE)
    fitting = [v for v in fitting if v.contact_id in reachable]
    flagged = unresponsive(session, [v.id for v in fitting])
    fitting.sort(key=lambda v: (v.status != "active", v.id in flagged, v.id))
    return fitting[:max(limit, 0)]


# --- sending ---------------------------------------------------------------------


def _send(session: Session, configured: set[str], callout: CallOut, contact_ids: list[int],
          texts: dict[str, str], suffix: str | None) -> dict[int, Alert]:
    """The message to these volunteers, each on their first channel (an exercise
    call-out sends Exercise alerts); ``suffix`` marks a follow-up, which carries no
    buttons. Contact id → its alert."""
    activation = session.get(Activation, callout.activation_id)
    assert activation is not None
    try:
        return messages.send(
            session, contact_ids, REACHABLE, texts=texts, source=SOURCE,
            source_ref=f"callout:{callout.id}" + (f":{suffix}" if suffix else ""),
            activation_id=activation.id, exercise=activation.is_exercise,
            sendable=configured)
    except alerts.AlertError as error:  # e.g. wording an exercise text may not carry
        raise VolunteerError("brief", error.message) from None


def _told(session: Session, callout: CallOut, suffix: str) -> set[int]:
    """Contacts already sent the follow-up ``suffix`` of the call-out."""
    told: set[int] = set()
    for audience in session.scalars(select(Alert.audience).where(
            Alert.source == SOURCE, Alert.source_ref == f"callout:{callout.id}:{suffix}")):
        told.update(audience.get("contacts", []))
    return told


def _contacts_of(session: Session, asks: list[CallOutAsk]) -> dict[int, int]:
    """Volunteer id → contact id, for those who have one."""
    ids = [a.volunteer_id for a in asks]
    if not ids:
        return {}
    return {vid: cid for vid, cid in session.execute(
        select(Volunteer.id, Volunteer.contact_id).where(Volunteer.id.in_(ids)))
        if cid is not None}


def tell_released(session: Session, configured: set[str], callout: CallOut) -> int:
    """Tell "enough, thank you" to the released volunteers not told yet (those who
    answered late were told in the answer). Returns how many were told."""
    released = [a for a in callout.asks if a.state == "released" and a.answered_at is None]
    contacts = _contacts_of(session, released)
    todo = [cid for cid in contacts.values() if cid not in _told(session, callout, "enough")]
    if todo:
        _send(session, configured, callout, todo, message_texts(callout, "enough"), "enough")
    return len(todo)


def ask_wave(session: Session, configured: set[str], callout: CallOut,
             size: int | None = None) -> int:
    """Ask the next people: ``size``, or the places still open × WAVE_FACTOR. Returns
    how many were asked."""
    if callout.state != "open":
        return 0
    if size is None:
        size = max(callout.needed - counts(session, callout)["yes"], 0) * WAVE_FACTOR
    chosen = candidates(session, callout, size)
    sent = _send(session, configured, callout,
                 [v.contact_id for v in chosen if v.contact_id is not None],
                 message_texts(callout, "ask"), None)
    now = clock.now()
    session.add_all(CallOutAsk(callout_id=callout.id, volunteer_id=v.id, state="asked",
                               alert_id=sent[v.contact_id].id, asked_at=now)
                    for v in chosen if v.contact_id in sent)
    session.flush()
    session.expire(callout, ["asks"])
    return len(chosen)


# --- creating and ending ---------------------------------------------------------


def _check(session: Session, data: CallOutIn) -> None:
    activation = session.get(Activation, data.activation_id)
    if activation is None or not activation.is_open:
        raise VolunteerError("activation_id", _("Choose an open activation."))
    if data.link_kind != "none" and not data.link_ref:
        raise VolunteerError("link_ref", _(
            "Name the alert, report or exercise the call-out is for."))
    if data.link_kind == "alert" and (not (data.link_ref or "").isdigit()
                                      or session.get(Alert, int(data.link_ref or 0)) is None):
        raise VolunteerError("link_ref", _("No alert has this number."))
    if data.area_code is not None and get_area(session, data.area_code) is None:
        raise VolunteerError("area_code", _("Choose an area from the list."))
    if data.ends_at <= clock.now():
        raise VolunteerError("ends_at", _("This time is already over."))


def create(session: Session, data: CallOutIn, by_user_id: int | None,
           settings: Any = None) -> CallOut:
    """A new call-out, and its first wave asked (by the next tick if the channels are
    not known here)."""
    _check(session, data)
    callout = CallOut(
        code=next_code(session), activation_id=data.activation_id, link_kind=data.link_kind,
        link_ref=data.link_ref if data.link_kind != "none" else None, title=data.title.strip(),
        brief=" ".join(data.brief.split()), skills=data.skills, area_code=data.area_code,
        place=data.place.strip(), lat=data.lat, lon=data.lon, starts_at=data.starts_at,
        ends_at=data.ends_at, needed=data.needed, state="open", created_by_id=by_user_id,
        created_at=clock.now())
    session.add(callout)
    session.flush()
    configured = configured_now(settings)
    if configured is not None:
        ask_wave(session, configured, callout)
    return callout


def close(session: Session, callout: CallOut, settings: Any = None) -> CallOut:
    """The work is done: nobody is asked any more; those still asked are told
    "enough, thank you"."""
    _lock(session, callout)
    if callout.state not in ASKING:
        raise VolunteerError("state", _("The call-out has already ended."))
    _release(callout)
    callout.state, callout.closed_at = "closed", clock.now()
    configured = configured_now(settings)
    if configured is not None:
        tell_released(session, configured, callout)
    return callout


def cancel(session: Session, callout: CallOut, settings: Any = None) -> CallOut:
    """Call it off: everyone who said yes or has not answered yet is told."""
    _lock(session, callout)
    if callout.state not in ASKING:
        raise VolunteerError("state", _("The call-out has already ended."))
    involved = [a for a in callout.asks if a.state in ("yes", "asked")]
    callout.state, callout.closed_at = "cancelled", clock.now()
    configured = configured_now(settings)
    contacts = _contacts_of(session, involved)
    if configured is not None and contacts:
        _send(session, configured, callout, list(contacts.values()),
              message_texts(callout, "cancelled"), "cancelled")
    return callout


def _release(callout: CallOut) -> None:
    for ask in callout.asks:
        if ask.state == "asked":
            ask.state = "released"


def _lock(session: Session, callout: CallOut) -> None:
    """Re-read the call-out under a row lock: two answers at once cannot both take the
    last place (SQLite's BEGIN IMMEDIATE already serialises writers)."""
    session.refresh(callout, with_for_update=True)


# --- answers ---------------------------------------------------------------------


def counts(session: Session, callout: CallOut) -> dict[str, int]:
    """Asks per state, every state present."""
    found = dict(session.execute(
        select(CallOutAsk.state, func.count()).where(CallOutAsk.callout_id == callout.id)
        .group_by(CallOutAsk.state)).all())
    return {state: found.get(state, 0) for state in ("yes", "no", "asked", "released",
                                                     "withdrawn")}


def ask_of(session: Session, callout: CallOut, volunteer_id: int) -> CallOutAsk | None:
    return session.scalar(select(CallOutAsk).where(
        CallOutAsk.callout_id == callout.id, CallOutAsk.volunteer_id == volunteer_id))


def respond(session: Session, callout: CallOut, ask: CallOutAsk, yes: bool, *, via: str,
            settings: Any = None) -> tuple[str, str]:
    """Apply a yes or no from the asked volunteer; (outcome, the answer to send them).

    Outcomes: ``yes``, ``no``, ``late`` (the call-out is filled or over: not counted),
    ``busy`` (committed to an overlapping call-out: refused, noted as a no)."""
    _lock(session, callout)
    volunteer = session.get(Volunteer, ask.volunteer_id)
    language = volunteer.language if volunteer is not None else "lv"
    now = clock.now()
    first_answer = ask.answered_at is None
    if first_answer or ask.state in ("yes", "no"):
        ask.answered_at, ask.answer_via = now, via
    if callout.state not in ASKING:
        return "late", say("ended", language, callout)
    if not yes:
        was_yes = ask.state == "yes"
        if ask.state != "released":
            ask.state = "no"
        if was_yes and callout.state == "filled":
            callout.state = "open"  # a place opened again: the tick asks more
        return "no", say("no", language, callout)
    if ask.state == "yes":
        return "yes", say("already_yes", language, callout)
    if callout.state == "filled" or ask.state in ("released", "withdrawn"):
        if ask.state == "asked":
            ask.state = "released"
        return "late", say("enough", language, callout)
    other = committed_elsewhere(session, ask.volunteer_id, callout)
    if other is not None:
        ask.state = "no"
        return "busy", say("busy", language, callout, other=other.code)
    ask.state = "yes"
    session.flush()
    if counts(session, callout)["yes"] >= callout.needed:
        callout.state = "filled"
        _release(callout)
        session.flush()
        configured = configured_now(settings)
        if configured is not None:
            tell_released(session, configured, callout)
    return "yes", say("yes", language, callout)


def _keep(session: Session, callout: CallOut | None, volunteer: Volunteer | None,
          channel: str, text: str, outcome: str, **data: Any) -> CallOutReply:
    reply = CallOutReply(
        callout_id=callout.id if callout else None,
        volunteer_id=volunteer.id if volunteer else None, channel=channel,
        text=text[:TEXT_LENGTH], received_at=clock.now(), outcome=outcome,
        needs_review=outcome == "unclear", data=data)
    session.add(reply)
    session.flush()
    return reply


def _waiting_asks(session: Session, volunteer_id: int) -> list[tuple[CallOutAsk, CallOut]]:
    """The volunteer's asks in call-outs still asking, newest first."""
    return [(ask, callout) for ask, callout in session.execute(
        select(CallOutAsk, CallOut).join(CallOut, CallOut.id == CallOutAsk.callout_id)
        .where(CallOutAsk.volunteer_id == volunteer_id, CallOut.state.in_(ASKING))
        .order_by(CallOutAsk.asked_at.desc(), CallOutAsk.id.desc()))]


def answer_text(session: Session, volunteer: Volunteer, channel: str, text: str,
                settings: Any = None) -> str | None:
    """A volunteer's typed reply ("A1", "a 2", "varbūt" …); the answer to send them, or
    None when it is not about a call-out (no code of one, nothing waiting for them)."""
    language = volunteer.language
    waiting = _waiting_asks(session, volunteer.id)
    match = ANSWER.match(text)
    callout = session.scalar(select(CallOut).where(
        CallOut.code == match.group(1).upper(), CallOut.state.in_(ASKING))) \
        if match else None
    if callout is None:
        if not waiting:
            return None
        latest = waiting[0][1]
        _keep(session, latest, volunteer, channel, text, "unclear",
              reason="no_code" if match is None else "unknown_code")
        return say("unclear", language, latest)
    ask = ask_of(session, callout, volunteer.id)
    if ask is None:
        _keep(session, callout, volunteer, channel, text, "unclear", reason="not_asked")
        return say("not_asked", language, callout)
    digit = match.group(2) if match else ""
    if digit not in ("1", "2"):
        _keep(session, callout, volunteer, channel, text, "unclear", reason="digit")
        return say("unclear", language, callout)
    outcome, said = respond(session, callout, ask, digit == "1", via=channel,
                            settings=settings)
    _keep(session, callout, volunteer, channel, text, outcome)
    return said


def volunteer_at(session: Session, channel: str, address: str) -> Volunteer | None:
    """The callable volunteer a reply came from, by the phone or the Telegram chat."""
    if channel == "telegram":
        found = by_telegram_chat(session, address)
    elif channel in inbound.PHONE_CHANNELS:
        found = session.scalar(select(Volunteer).where(Volunteer.phone == address))
    else:
        found = None
    return found if found is not None and found.status in CALLABLE else None


def handle_reply(session: Session, reply: inbound.Reply) -> str | None:
    """The inbound router's handler: replies of volunteers to call-outs."""
    volunteer = volunteer_at(session, reply.channel, reply.address)
    if volunteer is None:
        return None
    return answer_text(session, volunteer, reply.channel, reply.text)


def keyboard(source_ref: str, language: str) -> list[list[tuple[str, str]]] | None:
    """The "yes" / "no" buttons under a call-out's Telegram question (not under its
    follow-ups, whose source_ref has a suffix)."""
    parts = source_ref.split(":")
    if len(parts) != 2 or not parts[1].isdigit():
        return None
    words = TEXTS.get(language, TEXTS["lv"])
    return [[(words["button_yes"], f"{BUTTON_PREFIX}{parts[1]}:1"),
             (words["button_no"], f"{BUTTON_PREFIX}{parts[1]}:2")]]


def on_button(session: Session, incoming: telegram_bot.Incoming,
              language: str) -> telegram_bot.Answer:
    """A volunteer pressed "yes" or "no" under a call-out's question."""
    _prefix, callout_id, digit = (incoming.text.split(":") + ["", ""])[:3]
    volunteer = volunteer_at(session, "telegram", str(incoming.chat_id))
    callout = session.get(CallOut, int(callout_id)) if callout_id.isdigit() else None
    language = volunteer.language if volunteer is not None else language
    ask = ask_of(session, callout, volunteer.id) if callout and volunteer else None
    if callout is None or volunteer is None or ask is None or digit not in ("1", "2"):
        if callout is not None and volunteer is not None:
            _keep(session, callout, volunteer, "telegram", incoming.text, "unclear",
                  reason="not_asked")
        return telegram_bot.Answer(callback_text=TEXTS.get(language, TEXTS["lv"])["stale"],
                                   keyboard=())
    outcome, said = respond(session, callout, ask, digit == "1", via="telegram")
    _keep(session, callout, volunteer, "telegram", incoming.text, outcome)
    return telegram_bot.Answer([telegram_bot.Message(said)], callback_text=said[:200],
                               keyboard=())


inbound.register(handle_reply, name="callout")
telegram.register_keyboard("callout", keyboard)
telegram_bot.register_button(BUTTON_PREFIX, on_button)


# --- the coordinator -------------------------------------------------------------


def to_review(session: Session, callout: CallOut) -> list[CallOutReply]:
    """Replies not understood, waiting for the coordinator, oldest first."""
    return list(session.scalars(select(CallOutReply).where(
        CallOutReply.callout_id == callout.id, CallOutReply.needs_review.is_(True))
        .order_by(CallOutReply.received_at, CallOutReply.id)))


def replies(session: Session, callout: CallOut) -> list[CallOutReply]:
    return list(session.scalars(select(CallOutReply).where(
        CallOutReply.callout_id == callout.id).order_by(CallOutReply.received_at.desc(),
                                                         CallOutReply.id.desc())))


def settle(session: Session, reply: CallOutReply, decision: str, by_user_id: int | None,
           settings: Any = None) -> str | None:
    """The coordinator decides what an unclear reply meant: ``yes``, ``no`` or
    ``dismiss``. A yes or no is applied as if the volunteer had answered so (a volunteer
    not asked is added), and they are told the outcome. Returns the outcome."""
    if not reply.needs_review:
        raise VolunteerError("decision", _("This reply is already settled."))
    if decision not in ("yes", "no", "dismiss"):
        raise VolunteerError("decision", _("Choose yes, no or dismiss."))
    callout = session.get(CallOut, reply.callout_id) if reply.callout_id else None
    volunteer = session.get(Volunteer, reply.volunteer_id) if reply.volunteer_id else None
    outcome = None
    if decision != "dismiss":
        if callout is None or volunteer is None:
            raise VolunteerError("decision", _("The reply has no call-out or volunteer left."))
        if callout.state not in ASKING:
            raise VolunteerError("decision", _("The call-out has already ended."))
        ask = ask_of(session, callout, volunteer.id)
        if ask is None:
            ask = CallOutAsk(callout_id=callout.id, volunteer_id=volunteer.id, state="asked",
                             asked_at=clock.now())
            session.add(ask)
            session.flush()
        outcome, said = respond(session, callout, ask, decision == "yes", via="staff",
                                settings=settings)
        configured = configured_now(settings)
        if configured is not None and volunteer.contact_id is not None:
            _send(session, configured, callout, [volunteer.contact_id],
                  {volunteer.language: said}, "settled")
    reply.needs_review = False
    reply.settled_by_id, reply.settled_at = by_user_id, clock.now()
    reply.data = {**reply.data, "settled": decision, "outcome": outcome}
    session.flush()
    return outcome


def withdraw(session: Session, callout: CallOut, ask: CallOutAsk,
             settings: Any = None) -> None:
    """The coordinator takes a volunteer who said yes off the roster (they are told);
    a filled call-out opens again, and the tick asks more."""
    _lock(session, callout)
    if ask.state != "yes" or callout.state not in ASKING:
        raise VolunteerError("withdraw", _(
            "Only a volunteer on the roster of a call-out still running can be taken off."))
    if ask.checked_in_at is not None:
        raise VolunteerError("withdraw", _("The volunteer has checked in: check them out."))
    ask.state = "withdrawn"
    if callout.state == "filled":
        callout.state = "open"
    session.flush()
    configured = configured_now(settings)
    contacts = _contacts_of(session, [ask])
    if configured is not None and contacts:
        _send(session, configured, callout, list(contacts.values()),
              message_texts(callout, "withdrawn"), f"withdrawn:{ask.id}")


def check_in(session: Session, ask: CallOutAsk) -> None:
    if ask.state != "yes":
        raise VolunteerError("check_in", _("Only a volunteer who comes can check in."))
    if ask.checked_in_at is not None:
        raise VolunteerError("check_in", _("Already checked in."))
    ask.checked_in_at = clock.now()
    session.flush()


def check_out(session: Session, ask: CallOutAsk) -> None:
    if ask.checked_in_at is None:
        raise VolunteerError("check_out", _("Check in first."))
    if ask.checked_out_at is not None:
        raise VolunteerError("check_out", _("Already checked out."))
    ask.checked_out_at = clock.now()
    session.flush()


def hours(ask: CallOutAsk) -> float | None:
    """Hours on site, to the minute; None until checked out."""
    if ask.checked_in_at is None or ask.checked_out_at is None:
        return None
    minutes = int((ask.checked_out_at - ask.checked_in_at).total_seconds() // 60)
    return round(minutes / 60, 2)


def unresponsive(session: Session, volunteer_ids: list[int]) -> set[int]:
    """Volunteers who did not answer their last UNRESPONSIVE_AFTER call-outs. Asks still
    waiting in an open call-out do not count yet; cancelled call-outs do not count."""
    if not volunteer_ids:
        return set()
    rows = session.execute(
        select(CallOutAsk.volunteer_id, CallOutAsk.answered_at, CallOutAsk.state,
               CallOut.state)
        .join(CallOut, CallOut.id == CallOutAsk.callout_id)
        .where(CallOutAsk.volunteer_id.in_(volunteer_ids), CallOut.state != "cancelled")
        .order_by(CallOutAsk.volunteer_id, CallOutAsk.asked_at.desc(), CallOutAsk.id.desc()))
    last: dict[int, list[bool]] = defaultdict(list)
    for volunteer_id, answered_at, ask_state, callout_state in rows:
        if ask_state == "asked" and callout_state == "open":
            continue
        if len(last[volunteer_id]) < UNRESPONSIVE_AFTER:
            last[volunteer_id].append(answered_at is None)
    return {vid for vid, silent in last.items()
            if len(silent) == UNRESPONSIVE_AFTER and all(silent)}


@dataclass
class RosterRow:
    ask: CallOutAsk
    volunteer: Volunteer
    hours: float | None
    flagged: bool


ROSTER_ORDER = {"yes": 0, "asked": 1, "no": 2, "released": 3, "withdrawn": 4}


def roster(session: Session, callout: CallOut) -> list[RosterRow]:
    """Everyone asked: who comes first, then who has not answered, who cannot, who was
    released."""
    asks = list(callout.asks)
    people = {v.id: v for v in session.scalars(select(Volunteer).where(
        Volunteer.id.in_([a.volunteer_id for a in asks])))} if asks else {}
    flagged = unresponsive(session, list(people))
    rows = [RosterRow(a, people[a.volunteer_id], hours(a), a.volunteer_id in flagged)
            for a in asks if a.volunteer_id in people]
    rows.sort(key=lambda r: (ROSTER_ORDER.get(r.ask.state, 9), r.volunteer.name))
    return rows


def total_hours(rows: list[RosterRow]) -> float:
    return round(sum(r.hours or 0 for r in rows), 2)


def list_callouts(session: Session, limit: int = 200) -> list[CallOut]:
    """Call-outs still asking first (soonest first), then the ended ones, newest first."""
    asking = list(session.scalars(select(CallOut).where(CallOut.state.in_(ASKING))
                                  .order_by(CallOut.starts_at)))
    ended = list(session.scalars(select(CallOut).where(CallOut.state.not_in(ASKING))
                                 .order_by(CallOut.starts_at.desc()).limit(limit)))
    return asking + ended


# --- the scheduler's tick --------------------------------------------------------


def run_due(session: Session, settings: Any) -> None:
    """Ask the next wave where the quota is not filled and the last wave is
    NEXT_WAVE_AFTER old (or none was asked yet); tell released volunteers who have not
    been told (a quota filled from the Telegram bot's thread). A call-out that cannot
    be sent (its text refused) is logged and left; the others go on."""
    configured = configured_now(settings)
    if configured is None:
        return
    now = clock.now()
    for callout in session.scalars(select(CallOut).where(
            CallOut.state == "open", CallOut.ends_at > now)).all():
        last = session.scalar(select(func.max(CallOutAsk.asked_at)).where(
            CallOutAsk.callout_id == callout.id, CallOutAsk.alert_id.is_not(None)))
        if last is None or now - last >= NEXT_WAVE_AFTER:
            _guarded(session, callout, lambda c: ask_wave(session, configured, c))
    for callout in session.scalars(select(CallOut).where(
            CallOut.state.in_(("filled", "closed")), CallOut.ends_at > now - RECENT)).all():
        _guarded(session, callout, lambda c: tell_released(session, configured, c))


def _guarded(session: Session, callout: CallOut, work: Any) -> None:
    try:
        with session.begin_nested():
            work(callout)
    except VolunteerError as error:
        log.warning("call-out %s: not sent (%s)", callout.id, error.field)
