"""The residents' Telegram bot: the real python-telegram-bot Application, in its
thread, talking to the Telegram simulator — what each chat saw, what the
database keeps, and alerts reaching the chats the bot subscribed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from sargs import clock
from sargs.channels import alerts, telegram_bot, telegram_bot_runner
from sargs.channels.consent import CONSENT_VERSION
from sargs.channels.dispatcher import drain
from sargs.channels.models import Contact, ContactAddress, TelegramChat
from sargs.channels.simulators import telegram as telegram_sim
from sargs.channels.telegram_webhook import SECRET_HEADER
from tests.channels.adapters_helpers import Wired, wait_until, wired
from tests.channels.engine_helpers import public_orange, resident

CHAT = 5550001
CITY = (56.6511, 23.7214)  # Jelgava, the town hall square
RIGA = (56.9496, 24.1052)


@pytest.fixture
def bot(wiring) -> Iterator[telegram_bot_runner.BotRunner]:
    """The bot polling the simulator, as ``sargs run`` starts it."""
    runner = telegram_bot_runner.BotRunner(wiring.app, polling=True, poll_timeout=1).start()
    yield runner
    runner.stop()


# --- what the chat saw ---------------------------------------------------------


def said(telegram, chat: int = CHAT) -> list[dict[str, Any]]:
    return [e for e in telegram.chats.of(chat) if e["kind"] in ("sendMessage", "sendDocument")]


def texts(telegram, chat: int = CHAT) -> list[str]:
    return [e.get("text") or e.get("caption") or "" for e in said(telegram, chat)]


def buttons(entry: dict[str, Any]) -> dict[str, str]:
    """The inline buttons of a sent message, label → callback data."""
    markup = entry.get("reply_markup") or {}
    return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", [])
            for b in row}


def until_said(telegram, count: int, chat: int = CHAT) -> list[str]:
    assert wait_until(lambda: len(said(telegram, chat)) >= count), texts(telegram, chat)
    return texts(telegram, chat)


def user(telegram, action: str, *args: Any, chat: int = CHAT, expect: int = 1) -> list[str]:
    """The user does something; returns the texts of the ``expect`` answers."""
    before = len(said(telegram, chat))
    getattr(telegram, action)(chat, *args)
    return until_said(telegram, before + expect, chat)[before:]


def press(telegram, label: str, chat: int = CHAT, expect: int = 1) -> list[str]:
    """Press the button ``label`` under the newest message that has it."""
    for entry in reversed(said(telegram, chat)):
        if label in buttons(entry):
            return user(telegram, "user_presses", entry["message_id"], buttons(entry)[label],
                        chat=chat, expect=expect)
    raise AssertionError(f"no button {label!r} in {texts(telegram, chat)}")


def subscriber(wiring, chat: int = CHAT) -> Contact | None:
    with wiring.sessions() as db:
        contact = telegram_bot.subscriber(db, chat)
        db.expunge_all()
        return contact


def subscribe(telegram, language: str = "Latviešu", area: str = "Jelgavas valstspilsēta",
              levels: str = "🟠🔴 Oranžos un sarkanos (ieteicams)", chat: int = CHAT) -> None:
    user(telegram, "user_sends", "/start", chat=chat)
    press(telegram, language, chat=chat)
    press(telegram, area, chat=chat)
    press(telegram, levels, chat=chat)


def send_public_alert(wiring, users, **changes: Any) -> None:
    author, approver = users.create("olga", "operator"), users.create("karlis", "commission")
    with wiring.sessions() as db:
        draft = public_orange(channels=["telegram", "sms"], **changes)
        alert = alerts.create_alert(db, draft, author.id)
        alerts.submit(db, alert, author.id)
        alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
        alerts.start_sending(db, alert, set(wiring.adapters))
        db.commit()
    drain(wiring.dispatcher())


# --- subscribing ---------------------------------------------------------------


def test_a_resident_subscribes_in_latvian_and_the_orange_alert_reaches_the_chat(
        wiring, telegram, bot, users, frozen_clock):
    [question] = user(telegram, "user_sends", "/start")
    assert "Izvēlieties valodu / Choose your language" in question
    assert set(buttons(said(telegram)[-1])) == {"Latviešu", "English"}

    [question] = press(telegram, "Latviešu")
    assert question.startswith("Par kuru teritoriju vēlaties saņemt brīdinājumus?")
    assert set(buttons(said(telegram)[-1])) == {
        "Jelgavas valstspilsēta", "Jelgavas novads", "📍 Nosūtīt atrašanās vietu"}
    # The pressed question loses its keyboard, and the button press is answered.
    assert wait_until(lambda: any(e["kind"] == "editMessageReplyMarkup"
                                  for e in telegram.chats.of(CHAT)))
    assert len(telegram.answers) >= 1

    [question] = press(telegram, "Jelgavas valstspilsēta")
    assert question.startswith("Kādus brīdinājumus vēlaties saņemt?")
    assert "Piekrišana civilās aizsardzības brīdinājumu saņemšanai" in question  # the consent
    assert list(buttons(said(telegram)[-1])) == [
        "🟠🔴 Oranžos un sarkanos (ieteicams)", "🟡🟠🔴 Visus", "🔴 Tikai sarkanos"]

    [done] = press(telegram, "🟠🔴 Oranžos un sarkanos (ieteicams)")
    assert done.startswith("Paldies! Jūs saņemsiet oranžos un sarkanos brīdinājumus par "
                           "teritoriju: Jelgavas valstspilsēta.")
    contact = subscriber(wiring)
    assert contact is not None and contact.is_public_subscriber and contact.active
    assert (contact.language, contact.areas, contact.levels) == ("lv", ["LV022"],
                                                                 ["orange", "red"])
    assert (contact.consent_version, contact.consent_at) == (CONSENT_VERSION, frozen_clock.now())
    assert [(a.channel, a.address, a.active) for a in contact.addresses] == [
        ("telegram", str(CHAT), True)]

    send_public_alert(wiring, users)
    assert until_said(telegram, 5)[-1] == "Oranžais brīdinājums: stiprs vējš Jelgavā."
    assert wiring.rows()[str(CHAT)].state == "delivered"


def test_the_english_path_with_a_location_in_the_city(wiring, telegram, bot):
    user(telegram, "user_sends", "/start")
    [question] = press(telegram, "English")
    assert question == "Which area do you want alerts for? Choose it or share your location."
    [how] = press(telegram, "📍 Share my location")
    assert "Share my location" in how
    keyboard = said(telegram)[-1]["reply_markup"]["keyboard"]
    assert keyboard == [[{"text": "📍 Share my location", "request_location": True}]]

    found, question = user(telegram, "user_shares_location", *CITY, expect=2)
    assert found == "Your location is in: Jelgava city."
    assert said(telegram)[-2]["reply_markup"] == {"remove_keyboard": True}
    assert question.startswith("Which alerts do you want?")
    [done] = press(telegram, "🔴 Red only")
    assert done.startswith("Thank you! You will get red only alerts for: Jelgava city.")
    contact = subscriber(wiring)
    assert (contact.language, contact.areas, contact.levels) == ("en", ["LV022"], ["red"])


def test_a_location_outside_both_areas_is_refused(wiring, telegram, bot):
    user(telegram, "user_sends", "/start")
    press(telegram, "Latviešu")
    refused, question = user(telegram, "user_shares_location", *RIGA, expect=2)
    assert refused.startswith("Šī vieta nav ne Jelgavas valstspilsētā, ne Jelgavas novadā.")
    assert question.startswith("Par kuru teritoriju")  # asked again
    assert subscriber(wiring) is None
    with wiring.sessions() as db:
        assert db.scalar(select(TelegramChat.step)) == "area"


def test_deep_links_preselect_the_language_or_the_area(wiring, telegram, bot):
    [question] = user(telegram, "user_sends", "/start lv")
    assert question.startswith("Par kuru teritoriju")  # no language question

    other = CHAT + 1
    [question] = user(telegram, "user_sends", "/start sub_LV023", chat=other)
    assert "Choose your language" in question
    [question] = press(telegram, "English", chat=other)
    assert question.startswith("Which alerts do you want?")  # the area came with the link
    press(telegram, "🟡🟠🔴 All", chat=other)
    contact = subscriber(wiring, other)
    assert (contact.language, contact.areas, contact.levels) == (
        "en", ["LV023"], ["yellow", "orange", "red"])


# --- settings, my data, stop ---------------------------------------------------


def test_settings_change_the_levels(wiring, telegram, bot):
    subscribe(telegram)
    [shown] = user(telegram, "user_sends", "/settings")
    assert "Brīdinājumi: oranžos un sarkanos" in shown
    assert set(buttons(said(telegram)[-1])) == {"Valodu", "Teritoriju", "Brīdinājumu līmeņus"}
    [question] = press(telegram, "Brīdinājumu līmeņus")
    assert question.startswith("Kādus brīdinājumus vēlaties saņemt?")
    [done] = press(telegram, "🔴 Tikai sarkanos")
    assert done.startswith("Paldies! Jūs saņemsiet tikai sarkanos brīdinājumus")
    contact = subscriber(wiring)
    assert (contact.areas, contact.levels) == (["LV022"], ["red"])
    with wiring.sessions() as db:  # still one subscriber for the chat
        assert db.scalar(select(func.count()).select_from(Contact)) == 1


def test_settings_before_subscribing_say_how_to_start(wiring, telegram, bot):
    [answer] = user(telegram, "user_sends", "/settings")
    assert answer == "Šis čats nav pierakstīts brīdinājumiem. Lai pierakstītos: /start"


def test_my_data_exports_and_stop_erases_everything(wiring, telegram, bot, frozen_clock):
    subscribe(telegram)
    [shown] = user(telegram, "user_sends", "/mydata")
    assert f"Čata ID: {CHAT}" in shown and f"Piekrišana: {CONSENT_VERSION}" in shown
    [document] = telegram.documents.of(CHAT)
    assert document["file_name"] == "sargs-dati.json"
    exported = json.loads(document["content"])
    assert exported["chat_id"] == str(CHAT)
    assert exported["subscription"]["addresses"][0]["address"] == str(CHAT)
    assert exported["subscription"]["consent_at"] == frozen_clock.now().isoformat()
    assert exported["subscription"]["levels"] == ["orange", "red"]

    [stopped] = user(telegram, "user_sends", "/stop")
    assert stopped == ("Jūs vairs nesaņemsiet Jelgavas civilās aizsardzības paziņojumus; "
                       "jūsu dati ir dzēsti.")
    assert subscriber(wiring) is None
    with wiring.sessions() as db:
        assert telegram_bot.export(db, CHAT) == {
            "chat_id": str(CHAT), "subscription": None, "conversation": None}
        assert db.scalar(select(func.count()).select_from(ContactAddress)) == 0
    [nothing] = user(telegram, "user_sends", "/mydata")
    assert nothing == "Par šo čatu nekas netiek glabāts."


def test_the_word_beigt_stops_and_other_text_gets_help(wiring, telegram, bot):
    subscribe(telegram)
    [helped] = user(telegram, "user_sends", "Sveiki, kas notiek?")
    assert helped.startswith("Sargs — Jelgavas civilās aizsardzības brīdinājumi.")
    assert "/stop — atteikties un dzēst datus" in helped and "112" in helped
    [helped] = user(telegram, "user_sends", "/nezinu")
    assert helped.startswith("Sargs — Jelgavas")
    [stopped] = user(telegram, "user_sends", "beigt")
    assert stopped.startswith("Jūs vairs nesaņemsiet")
    assert subscriber(wiring) is None


def test_an_old_button_changes_nothing(wiring, telegram, bot):
    subscribe(telegram)
    first = said(telegram)[0]  # the language question, answered long ago
    telegram.user_presses(CHAT, first["message_id"], "lang:en")
    assert wait_until(lambda: any((a["text"] or "").startswith("Šī izvēle vairs nav spēkā")
                                  for _, a in telegram.answers.all()))
    assert subscriber(wiring).language == "lv"


# --- blocking ------------------------------------------------------------------


def test_blocking_the_bot_deactivates_the_subscriber(wiring, telegram, bot):
    subscribe(telegram)
    telegram.user_blocks(CHAT)
    assert wait_until(lambda: not subscriber(wiring).active)
    assert [a.active for a in subscriber(wiring).addresses] == [False]


def test_a_403_when_sending_deactivates_the_chat_and_the_alert_falls_back_to_sms(
        wiring, telegram, sim, users):
    with wiring.sessions() as db:
        resident(db, "Ilze", "+37120000501", telegram="4501")
        db.commit()
    telegram.add_chat(4501)
    telegram.blocked.add(4501)  # blocked with no update the bot could have read
    send_public_alert(wiring, users)
    assert wait_until(lambda: len(sim.phones.of("+37120000501")) == 1)
    drain(wiring.dispatcher())
    rows = wiring.rows()
    assert rows["4501"].state == "undeliverable"
    with wiring.sessions() as db:
        contact = db.scalar(select(Contact))
        assert {(a.channel, a.active) for a in contact.addresses} == {
            ("telegram", False), ("sms", True)}
        assert contact.active  # still reachable by SMS


def test_staff_blocking_the_bot_stay_in_their_groups(db):
    from tests.channels.engine_helpers import commission_member

    member = commission_member(db, "Kārlis", "+37120000601", "4601")
    db.commit()
    assert telegram_bot.chat_blocked(db, "4601") == 1
    db.commit()
    assert member.active
    assert {(a.channel, a.active) for a in member.addresses} == {
        ("telegram", False), ("voice", True)}


# --- webhook -------------------------------------------------------------------


@pytest.fixture
def webhook_wiring(settings, telegram, frozen_clock) -> Iterator[Wired]:
    with wired(settings, telegram_api_url=telegram.url, telegram_bot_mode="webhook",
               telegram_bot_token=SecretStr(telegram_sim.TOKEN)) as wiring:
        yield wiring
        started = wiring.app.extensions.get("telegram_bot")  # by a webhook post
        if started is not None:
            telegram_bot_runner.stop((started, None))


def test_a_forged_webhook_post_gets_403_and_nothing_changes(webhook_wiring, telegram):
    update = {"update_id": 1, "message": {
        "message_id": 1, "date": 0, "chat": {"id": CHAT, "type": "private"},
        "from": {"id": CHAT, "is_bot": False, "first_name": "Jānis"}, "text": "/start lv"}}
    client = webhook_wiring.app.test_client()
    for headers in ({SECRET_HEADER: "forged"}, {}):
        response = client.post("/channels/telegram/webhook", json=update, headers=headers)
        assert response.status_code == 403
    with webhook_wiring.sessions() as db:
        assert db.scalar(select(func.count()).select_from(TelegramChat)) == 0
    assert "telegram_bot" not in webhook_wiring.app.extensions  # no bot was even started
    assert said(telegram) == []


def test_a_genuine_webhook_update_is_answered(webhook_wiring, telegram):
    started = telegram_bot_runner.start(webhook_wiring.app)
    try:
        assert telegram.webhook["url"] == (
            f"{webhook_wiring.settings.base_url}/channels/telegram/webhook")
        [question] = user(telegram, "user_sends", "/start lv")
        assert question.startswith("Par kuru teritoriju")
        press(telegram, "Jelgavas novads")
        press(telegram, "🔴 Tikai sarkanos")
        # The bot answers while Telegram's post is still open; the post's status is known
        # only when Sargs' response to it arrives, a moment after the answer.
        assert wait_until(lambda: len(telegram.webhook_posts.all()) == 3)
        assert [e["status"] for _, e in telegram.webhook_posts.all()] == [200, 200, 200]
        contact = subscriber(webhook_wiring)
        assert (contact.areas, contact.levels) == (["LV023"], ["red"])
    finally:
        telegram_bot_runner.stop(started)


# --- staff acknowledgements ----------------------------------------------------


def test_a_staff_member_acknowledges_with_the_button_under_the_alert(wiring, telegram, bot,
                                                                      users):
    from sargs.channels.models import Acknowledgement
    from tests.channels.adapters_helpers import send_staff_alert
    from tests.channels.engine_helpers import commission_member

    staff_chat = 4701
    with wiring.sessions() as db:
        member = commission_member(db, "Kārlis", "+37120000701", str(staff_chat))
        db.commit()
        member_id = member.id
    telegram.add_chat(staff_chat)
    author = users.create("olga", "operator")
    send_staff_alert(wiring, author.id, ["telegram"], "commission", ack_required=True)
    drain(wiring.dispatcher())
    [alert_message] = until_said(telegram, 1, staff_chat)
    assert alert_message.startswith("Oranžais brīdinājums")
    assert list(buttons(said(telegram, staff_chat)[0])) == ["Apstiprināt ✅"]

    message_id = said(telegram, staff_chat)[0]["message_id"]
    telegram.user_presses(staff_chat, message_id, buttons(said(telegram, staff_chat)[0])[
        "Apstiprināt ✅"])
    edited = lambda: [e for e in telegram.chats.of(staff_chat)  # noqa: E731
                      if e["kind"] == "editMessageReplyMarkup"]
    assert wait_until(lambda: edited() != [])
    assert edited()[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == "✅ Apstiprināts"
    [(_, answer)] = telegram.answers.all()
    assert answer["text"].startswith("Paldies, jūsu apstiprinājums ir saņemts")
    with wiring.sessions() as db:
        [ack] = db.scalars(select(Acknowledgement))
        assert (ack.contact_id, ack.via) == (member_id, "telegram")


def test_a_foreign_chat_cannot_acknowledge_someone_elses_alert(wiring, telegram, bot, users):
    from sargs.channels.models import Acknowledgement, Delivery
    from tests.channels.adapters_helpers import send_staff_alert
    from tests.channels.engine_helpers import commission_member

    with wiring.sessions() as db:
        commission_member(db, "Kārlis", "+37120000702", "4702")
        db.commit()
    telegram.add_chat(4702)
    send_staff_alert(wiring, users.create("olga", "operator").id, ["telegram"], "commission",
                     ack_required=True)
    drain(wiring.dispatcher())
    with wiring.sessions() as db:
        delivery_id = db.scalar(select(Delivery.id))
    telegram.user_presses(CHAT, 1, f"ack:{delivery_id}")  # a stranger forging the button
    assert wait_until(lambda: len(telegram.answers) == 1)
    [(_, answer)] = telegram.answers.all()
    assert answer["text"] == "Apstiprinājums nav saņemts."
    with wiring.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Acknowledgement)) == 0


# --- one poller ----------------------------------------------------------------


def test_only_one_process_polls_the_bot(wiring, telegram):
    first = telegram_bot_runner.start(wiring.app)
    try:
        assert first is not None
        assert telegram_bot_runner.start(wiring.app) is None  # the lock is held
        [question] = user(telegram, "user_sends", "/help")
        assert question.startswith("Sargs — Jelgavas")
        assert {c["command"] for c in telegram.commands["lv"]} == {
            "start", "settings", "mydata", "stop", "help", "patvertne", "brivpratigais"}
        assert {"shelter", "volunteer"} <= {c["command"] for c in telegram.commands["en"]}
    finally:
        telegram_bot_runner.stop(first)
    second = telegram_bot_runner.start(wiring.app)  # released on stop
    assert second is not None
    telegram_bot_runner.stop(second)


def test_sargs_bot_in_webhook_mode_registers_the_webhook(webhook_wiring, telegram):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from sargs.cli import cli

    app = webhook_wiring.app
    result = CliRunner().invoke(cli, ["bot"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    url = f"{webhook_wiring.settings.base_url}/channels/telegram/webhook"
    assert f"Webhook registered at {url}" in result.output
    assert telegram.webhook["url"] == url
    # What Telegram will send is what the route accepts.
    secret = telegram.webhook["secret_token"]
    response = app.test_client().post("/channels/telegram/webhook", json={"update_id": 7},
                                      headers={SECRET_HEADER: secret})
    assert response.status_code == 200


def test_a_bad_webhook_secret_setting_is_named_and_not_shown():
    from sargs.settings import SettingsError, load_settings

    with pytest.raises(SettingsError) as refused:
        load_settings(telegram_webhook_secret="slepens vārds!")
    assert str(refused.value) == ("invalid setting SARGS_TELEGRAM_WEBHOOK_SECRET: "
                                  "1-256 characters: letters, digits, _ and -")
