"""The Telegram Bot API simulator, driven by python-telegram-bot and raw HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter

from sargs.channels.simulators.telegram import TOKEN, TelegramSimulator

CHAT = 424242


@pytest.fixture
def sim() -> Iterator[TelegramSimulator]:
    with TelegramSimulator(mode="test") as simulator:
        yield simulator


def run(sim: TelegramSimulator, scenario: Any, token: str = TOKEN) -> Any:
    async def main() -> Any:
        bot = Bot(token, base_url=f"{sim.url}/bot")
        try:
            return await scenario(bot)
        finally:
            await bot.shutdown()

    return asyncio.run(main())


def test_get_me_and_send_message(sim: TelegramSimulator) -> None:
    async def scenario(bot: Bot) -> Any:
        me = await bot.get_me()
        message = await bot.send_message(CHAT, "Uzmanību! Vētra Jelgavā.")
        return me, message

    me, message = run(sim, scenario)
    assert me.username == "sargs_sim_bot" and me.is_bot
    assert message.chat.id == CHAT and message.text == "Uzmanību! Vētra Jelgavā."
    received = sim.chats.of(CHAT)
    assert [(r["kind"], r["text"], r["message_id"]) for r in received] == [
        ("sendMessage", "Uzmanību! Vētra Jelgavā.", message.message_id)]
    assert sim.requests.of("sendMessage")[0]["chat_id"] == str(CHAT)  # a form field


def test_callback_query_round_trip(sim: TelegramSimulator) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Esmu drošībā", callback_data="ok:7")]])

    async def scenario(bot: Bot) -> Any:
        sim.user_sends(CHAT, "/start abc")
        updates = await bot.get_updates(timeout=1)
        assert updates[0].message.text == "/start abc"
        sent = await bot.send_message(CHAT, "Vai esat drošībā?", reply_markup=keyboard)
        sim.user_presses(CHAT, sent.message_id, "ok:7")
        pressed = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
        query = pressed[0].callback_query
        assert query.data == "ok:7" and query.message.message_id == sent.message_id
        assert await bot.answer_callback_query(query.id, text="Paldies")
        edited = await bot.edit_message_text("Paldies, atzīmēts.", chat_id=CHAT,
                                             message_id=sent.message_id)
        with pytest.raises(BadRequest):
            await bot.answer_callback_query(query.id)  # answered already
        return sent, edited, await bot.get_updates(offset=pressed[-1].update_id + 1)

    sent, edited, left = run(sim, scenario)
    assert edited.text == "Paldies, atzīmēts." and edited.reply_markup is None
    assert left == ()
    assert sim.chats.of(CHAT)[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok:7"
    assert [r["kind"] for r in sim.chats.of(CHAT)] == ["sendMessage", "editMessageText"]
    assert list(sim.answers.all()[0][1].values()) == ["Paldies", False]


def test_long_poll_returns_when_a_user_writes(sim: TelegramSimulator) -> None:
    async def scenario(bot: Bot) -> Any:
        poll = asyncio.create_task(bot.get_updates(timeout=10, read_timeout=15))
        await asyncio.sleep(0.1)
        sim.user_shares_location(CHAT, 56.65, 23.72)
        return await asyncio.wait_for(poll, 5)

    updates = run(sim, scenario)
    assert updates[0].message.location.latitude == pytest.approx(56.65)


def test_blocked_chat_is_forbidden(sim: TelegramSimulator) -> None:
    sim.user_sends(CHAT, "/start")
    sim.user_blocks(CHAT)

    async def scenario(bot: Bot) -> Any:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(CHAT, "x")
        return await bot.get_updates(allowed_updates=["message", "my_chat_member"])

    updates = run(sim, scenario)
    change = updates[-1].my_chat_member
    assert change.new_chat_member.status == "kicked" and change.chat.id == CHAT
    assert sim.chats.of(CHAT) == []


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB itself
def test_429_raises_retry_after(sim: TelegramSimulator) -> None:
    sim.fault("429", retry_after=7, on=("sendMessage",))

    async def scenario(bot: Bot) -> Any:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CHAT, "x")
        await bot.get_me()
        await bot.send_message(CHAT, "y")
        return caught.value

    error = run(sim, scenario)
    assert error._retry_after.total_seconds() == 7
    assert [r["text"] for r in sim.chats.of(CHAT)] == ["y"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB itself
def test_flood_limits_and_send_accounting() -> None:
    with TelegramSimulator(mode="test", chat_limit=(1, 1.0)) as sim:
        async def scenario(bot: Bot) -> Any:
            await bot.send_message(1, "a")
            await bot.send_message(2, "b")
            with pytest.raises(RetryAfter):
                await bot.send_message(1, "c")

        run(sim, scenario)
        assert sim.max_sends(1.0) == 2
        assert sim.max_sends(1.0, chat_id=1) == 1


def test_wrong_token_is_unauthorised(sim: TelegramSimulator) -> None:
    async def scenario(bot: Bot) -> Any:
        with pytest.raises(InvalidToken):
            await bot.get_me()

    run(sim, scenario, token="1:wrong")
    answer = httpx.post(f"{sim.url}/bot1:wrong/getMe")
    assert answer.status_code == 401
    assert answer.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_json_body_and_unknown_chat() -> None:
    with TelegramSimulator(mode="test", known_chats_only=True) as sim:
        url = f"{sim.url}/bot{TOKEN}/sendMessage"
        refused = httpx.post(url, json={"chat_id": CHAT, "text": "x"})
        assert refused.status_code == 400
        assert refused.json()["description"] == "Bad Request: chat not found"
        sim.user_sends(CHAT, "/start")
        markup = {"inline_keyboard": [[{"text": "Jā", "callback_data": "y"}]]}
        answer = httpx.post(url, json={"chat_id": CHAT, "text": "Sveiki", "reply_markup": markup})
        assert answer.status_code == 200
        body = answer.json()
        assert body["ok"] is True and body["result"]["reply_markup"] == markup
        query = httpx.get(f"{sim.url}/bot{TOKEN}/sendLocation",
                          params={"chat_id": CHAT, "latitude": "56.6", "longitude": "23.7"})
        assert query.json()["result"]["location"] == {"latitude": 56.6, "longitude": 23.7}
        commands = httpx.post(f"{sim.url}/bot{TOKEN}/setMyCommands",
                              data={"commands": '[{"command": "start", "description": "Sākt"}]'})
        assert commands.json() == {"ok": True, "result": True}
        assert sim.commands[""][0]["command"] == "start"


def test_webhook_receives_updates(sim: TelegramSimulator, receiver: Any) -> None:
    async def scenario(bot: Bot) -> Any:
        await bot.set_webhook(f"{receiver.url}/telegram", secret_token="s3cret")
        sim.user_sends(CHAT, "/start")
        posts = await asyncio.to_thread(receiver.wait_for, 1)
        with pytest.raises(Exception, match="webhook is active"):
            await bot.get_updates()
        await bot.delete_webhook()
        return posts

    posts = run(sim, scenario)
    assert posts[0]["path"] == "/telegram"
    assert posts[0]["headers"]["X-Telegram-Bot-Api-Secret-Token"] == "s3cret"
