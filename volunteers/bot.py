"""The volunteers' part of the Telegram bot.

``/start v_…`` (the deep link from the portal's "Link Telegram" button) ties the chat
to the volunteer, so call-outs reach them there with buttons. ``/brivpratigais`` or
``/volunteer`` from a linked chat answers with a one-time sign-in link to the portal
(a "signin" code of channel "telegram", made by :func:`service.issue_code`; the
chat id is its address, so the hourly limit counts per chat); an unlinked chat is
told how to link it. The app secret and public address come from the app context
the bot runner answers in. Nothing here logs a chat id.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from sargs.channels.telegram_bot import (
    Answer,
    Incoming,
    Message,
    register_command,
    register_start_payload,
)
from sargs.context import settings
from sargs.volunteers import senders, service

COMMANDS = ("brivpratigais", "volunteer")
PORTAL_PATH = "/volunteer/"

TEXTS: dict[str, dict[str, str]] = {
    "linked": {
        "lv": "Paldies, {name}! Šis Telegram čats ir piesaistīts jūsu brīvprātīgā profilam: "
              "izsaukumus saņemsiet šeit ar pogām “Jā” un “Nē”.\n/brivpratigais — "
              "pieteikties brīvprātīgo portālā",
        "en": "Thank you, {name}! This Telegram chat is linked to your volunteer profile: "
              "call-outs come here with “Yes” and “No” buttons.\n/volunteer — sign in to "
              "the volunteer portal",
    },
    "link_refused": {
        "lv": "Šī saite jau izmantota vai novecojusi. Atveriet portālā “Mans profils” un "
              "nospiediet “Piesaistīt Telegram” vēlreiz: {url}",
        "en": "This link was used already or has expired. Open “My profile” in the portal "
              "and press “Link Telegram” again: {url}",
    },
    "signin_link": {
        "lv": "Jūsu vienreizējā pieteikšanās saite brīvprātīgo portālā (derīga 10 minūtes):"
              "\n{url}",
        "en": "Your one-time sign-in link to the volunteer portal (valid for 10 minutes):"
              "\n{url}",
    },
    "too_many": {
        "lv": "Pārāk daudz saišu stundas laikā. Mēģiniet vēlāk.",
        "en": "Too many links within an hour. Please try again later.",
    },
    "not_linked": {
        "lv": "Šis čats nav piesaistīts brīvprātīgā profilam. Pieteikšanās portālā ar tālruni "
              "vai e-pastu: {url}signin — tad sadaļā “Mans profils” nospiediet “Piesaistīt "
              "Telegram”. Vēl neesat brīvprātīgais? Reģistrējieties: {url}",
        "en": "This chat is not linked to a volunteer profile. Sign in to the portal with "
              "your phone or e-mail: {url}signin — then press “Link Telegram” under “My "
              "profile”. Not a volunteer yet? Register: {url}",
    },
}


def text(key: str, language: str, /, **values: object) -> str:
    texts = TEXTS[key]
    return texts.get(language, texts["lv"]).format(**values)


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _portal() -> str:
    return settings().base_url + PORTAL_PATH


def link_chat(session: Session, incoming: Incoming, language: str) -> Answer:
    """``/start v_<token>``: the portal's deep link ties this chat to the volunteer."""
    try:
        volunteer = service.link_telegram(session, incoming.chat_id, incoming.payload,
                                          secret=_secret())
    except service.VolunteerError:
        return Answer([Message(text("link_refused", language, url=_portal() + "profile"))])
    return Answer([Message(text("linked", volunteer.language, name=volunteer.name))])


class _Captured:
    """A ``Send`` that keeps the code's text instead of sending it: the bot answers
    with its own message, in the chat the request came from."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, channel: str, address: str, language: str, message: str) -> None:
        self.texts.append(message)


def signin_link(session: Session, incoming: Incoming, language: str) -> Answer:
    """``/brivpratigais``, ``/volunteer``: a one-time sign-in link for a linked chat."""
    volunteer = service.by_telegram_chat(session, incoming.chat_id)
    if volunteer is None or volunteer.status == "erased":
        return Answer([Message(text("not_linked", language, url=_portal()))])
    links: list[str] = []
    make_link = senders.signin_link(settings())

    def link(token: str) -> str:
        links.append(make_link(token))
        return links[-1]

    try:
        service.issue_code(session, volunteer, "signin", "telegram", str(incoming.chat_id),
                           secret=_secret(), send=_Captured(), link=link)
    except service.CodeError:
        return Answer([Message(text("too_many", volunteer.language))])
    return Answer([Message(text("signin_link", volunteer.language, url=links[-1]))])


register_start_payload(service.TELEGRAM_PREFIX, link_chat)
register_command(COMMANDS, signin_link)
