"""The volunteers' part of the Telegram bot: the portal's deep link ties a chat to the
volunteer, and /brivpratigais (/volunteer) answers a linked chat with a one-time
sign-in link to the portal — once through the bot's rules, once through the real
bot runner and the Telegram simulator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from sargs.channels import telegram_bot, telegram_bot_runner
from sargs.channels.models import ContactAddress
from sargs.channels.telegram_bot import Incoming
from sargs.volunteers.models import VerificationCode, Volunteer
from tests.channels.adapters_helpers import wait_until
from tests.channels.conftest import sim, telegram, wiring  # noqa: F401 (the simulators)
from tests.volunteers.test_portal import english, token_of

CHAT = 5550701
OTHER_CHAT = 5550702
LINK = re.compile(r"(https?://\S+)(/volunteer/signin/\S+)")


def signed_in(app: Any, volunteer: Volunteer) -> Any:
    """A browser with the volunteer signed in to the portal (sign-in itself is tested
    in test_portal)."""
    from sargs import clock

    client = english(app)
    with client.session_transaction() as cookie:
        cookie["volunteer_id"] = volunteer.id
        cookie["volunteer_since"] = clock.now().isoformat()
    return client


def payload_from_profile(client: Any) -> str:
    """Press "Link Telegram" on the profile: without the bot's name set, the page shows
    the /start message to send."""
    response = client.post("/volunteer/profile/telegram", data={
        "csrf_token": token_of(client, "/volunteer/profile")})
    found = re.search(r"<code>/start (v_[A-Za-z0-9_-]+)</code>", response.get_data(as_text=True))
    assert found, "no /start payload on the page"
    return found.group(1)


def say(app: Any, chat: int, command: str, payload: str = "") -> str:
    """What the bot answers to a command, in the app's context as the runner asks."""
    with app.app_context(), app.extensions["sargs"].sessionmaker() as db:
        answer = telegram_bot.handle(db, Incoming(chat, "command", command, payload),
                                     secret=app.config["SECRET_KEY"],
                                     subscribe_url="http://x/subscribe/")
        db.commit()
    return "\n".join(message.text for message in answer.messages)


def reload(app: Any, volunteer: Volunteer) -> Volunteer:
    with app.extensions["sargs"].sessionmaker() as db:
        found = db.get(Volunteer, volunteer.id)
        db.expunge_all()
        return found


def test_the_deep_link_ties_the_chat_to_the_volunteer_once(app, make_volunteer) -> None:
    volunteer = make_volunteer("active")
    client = signed_in(app, volunteer)
    payload = payload_from_profile(client)
    answer = say(app, CHAT, "start", payload)
    assert "Paldies, Ilze Kalniņa" in answer  # in the volunteer's language
    assert reload(app, volunteer).telegram_chat_id == str(CHAT)
    with app.extensions["sargs"].sessionmaker() as db:
        addresses = db.scalars(select(ContactAddress.channel).where(
            ContactAddress.contact_id == reload(app, volunteer).contact_id)
            .order_by(ContactAddress.preference)).all()
    assert addresses[0] == "telegram"  # call-outs come with buttons first
    assert "jau izmantota" in say(app, OTHER_CHAT, "start", payload)  # once only
    assert reload(app, volunteer).telegram_chat_id == str(CHAT)
    assert 'data-testid="telegram-linked"' in client.get("/volunteer/profile").get_data(
        as_text=True)


def test_a_deep_link_opens_telegram_when_the_bots_name_is_known(app, make_volunteer,
                                                                 monkeypatch) -> None:
    from sargs.volunteers import portal_views

    monkeypatch.setattr(portal_views, "_bot_username", lambda: "SargsJelgavaBot")
    client = signed_in(app, make_volunteer())
    response = client.post("/volunteer/profile/telegram", data={
        "csrf_token": token_of(client, "/volunteer/profile")})
    assert re.search(r'href="https://t\.me/SargsJelgavaBot\?start=v_[A-Za-z0-9_-]+"',
                     response.get_data(as_text=True))


def test_a_linked_chat_gets_a_one_time_signin_link(app, make_volunteer) -> None:
    volunteer = make_volunteer("active", language="en")
    say(app, CHAT, "start", payload_from_profile(signed_in(app, volunteer)))
    answer = say(app, CHAT, "volunteer")
    assert "one-time sign-in link" in answer
    found = LINK.search(answer)
    assert found and found.group(1) == app.extensions["sargs"].settings.base_url
    path = found.group(2)
    browser = english(app)
    assert browser.get(path).status_code == 200  # a chat preview opening it uses nothing
    response = browser.post(path, data={"csrf_token": token_of(browser, path)})
    assert response.headers["Location"] == "/volunteer/profile"
    assert "Ilze Kalniņa" in browser.get("/volunteer/profile").get_data(as_text=True)
    assert browser.post(path, data={"csrf_token": token_of(browser, path)}).status_code == 410
    assert LINK.search(say(app, CHAT, "brivpratigais"))  # the Latvian command too


def test_an_unlinked_chat_is_told_how_to_link_it(app) -> None:
    answer = say(app, OTHER_CHAT, "brivpratigais")
    assert "/volunteer/signin" in answer and "Piesaistīt Telegram" in answer
    with app.extensions["sargs"].sessionmaker() as db:
        assert db.scalar(select(func.count()).select_from(VerificationCode)) == 0


@pytest.fixture
def bot(wiring) -> Iterator[Any]:  # noqa: F811 (the fixture imported above)
    runner = telegram_bot_runner.BotRunner(wiring.app, polling=True, poll_timeout=1).start()
    yield runner
    runner.stop()


def test_through_the_bot_runner_and_the_telegram_simulator(wiring, telegram, bot,  # noqa: F811
                                                            make_volunteer_in) -> None:
    volunteer = make_volunteer_in(wiring.app)
    payload = payload_from_profile(signed_in(wiring.app, volunteer))

    def texts() -> list[str]:
        return [e.get("text") or "" for e in telegram.chats.of(CHAT) if e["kind"] == "sendMessage"]

    telegram.user_sends(CHAT, f"/start {payload}")
    assert wait_until(lambda: len(texts()) >= 1), texts()
    assert "Paldies" in texts()[0]
    telegram.user_sends(CHAT, "/brivpratigais")
    assert wait_until(lambda: len(texts()) >= 2), texts()
    found = LINK.search(texts()[1])
    assert found and found.group(1) == wiring.settings.base_url


@pytest.fixture
def make_volunteer_in() -> Any:
    """A registered volunteer in another app's database (the wired one)."""
    def make(app: Any) -> Volunteer:
        from sargs.volunteers import service
        from sargs.volunteers.schemas import VolunteerIn
        from tests.volunteers.conftest import registration

        with app.extensions["sargs"].sessionmaker() as db:
            volunteer = service.register(db, VolunteerIn(**registration()))
            db.commit()
            db.expunge_all()
            return volunteer

    return make
