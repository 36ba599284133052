"""The Twilio simulator, driven by the real twilio client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from sargs.channels.simulators.twilio import ACCOUNT_SID, AUTH_TOKEN, TwilioSimulator

SENDER = "+37120000001"


class LocalHttpClient(TwilioHttpClient):
    def __init__(self, base: str) -> None:
        super().__init__(timeout=5)
        self.base = base

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, url.replace("https://api.twilio.com", self.base),
                               *args, **kwargs)


@pytest.fixture
def sim() -> Iterator[TwilioSimulator]:
    with TwilioSimulator(mode="test", segments_per_second=1000, unsubscribed={"+37129999999"},
                         delivery_delay=0.01) as simulator:
        yield simulator


def client_for(sim: TwilioSimulator, token: str = AUTH_TOKEN) -> Client:
    return Client(ACCOUNT_SID, token, http_client=LocalHttpClient(sim.url))


def test_message_is_created_delivered_and_called_back_signed(
        sim: TwilioSimulator, receiver: Any) -> None:
    client = client_for(sim)
    callback = f"{receiver.url}/twilio/status/41"
    message = client.messages.create(to="+37126000001", from_=SENDER, status_callback=callback,
                                     body="Uzmanību! Vētra Jelgavā.", validity_period=3600)
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.num_segments == "1"
    assert message.to == "+37126000001"
    assert message.date_created is not None

    posts = receiver.wait_for(2)
    assert [p["form"]["MessageStatus"] for p in posts] == ["sent", "delivered"]
    validator = RequestValidator(AUTH_TOKEN)
    for post in posts:
        assert post["form"]["MessageSid"] == message.sid
        assert post["form"]["AccountSid"] == ACCOUNT_SID
        url = receiver.url + post["path"]
        assert validator.validate(url, post["form"], post["headers"]["X-Twilio-Signature"])
    tampered = dict(posts[0]["form"], MessageStatus="failed")
    assert not validator.validate(receiver.url + posts[0]["path"], tampered,
                                  posts[0]["headers"]["X-Twilio-Signature"])

    inbox = sim.phones.of("+37126000001")
    assert [(m["body"], m["from"], m["sid"]) for m in inbox] == [
        ("Uzmanību! Vētra Jelgavā.", SENDER, message.sid)]
    assert client.messages(message.sid).fetch().status == "delivered"


def test_messages_are_listed_and_filtered(sim: TwilioSimulator) -> None:
    client = client_for(sim)
    first = client.messages.create(to="+37126000001", from_=SENDER, body="one")
    client.messages.create(to="+37126000002", from_=SENDER, body="two")
    assert {m.body for m in client.messages.list()} == {"one", "two"}
    assert [m.sid for m in client.messages.list(to="+37126000001")] == [first.sid]
    assert len(client.messages.list(page_size=1, limit=2)) == 2


def test_call_is_placed_and_answered(sim: TwilioSimulator, receiver: Any) -> None:
    client = client_for(sim)
    twiml = '<Response><Say language="lv-LV">Trauksme</Say></Response>'
    call = client.calls.create(to="+37126000003", from_=SENDER, twiml=twiml,
                               status_callback=f"{receiver.url}/voice",
                               status_callback_event=["initiated", "answered", "completed"])
    assert call.sid.startswith("CA") and len(call.sid) == 34
    assert call.status == "queued"
    posts = receiver.wait_for(3)
    assert [p["form"]["CallStatus"] for p in posts] == ["initiated", "in-progress", "completed"]
    validator = RequestValidator(AUTH_TOKEN)
    assert all(validator.validate(receiver.url + p["path"], p["form"],
                                  p["headers"]["X-Twilio-Signature"]) for p in posts)
    assert sim.phones.of("+37126000003")[0]["twiml"] == twiml


def test_wrong_token_is_refused(sim: TwilioSimulator) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client_for(sim, token="wrong").messages.create(to="+37126000001", from_=SENDER, body="x")
    assert caught.value.status == 401
    assert caught.value.code == 20003


def test_refusals_invalid_number_and_unsubscribed(sim: TwilioSimulator) -> None:
    client = client_for(sim)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to="12345", from_=SENDER, body="x")
    assert (caught.value.status, caught.value.code) == (400, 21211)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to="+37129999999", from_=SENDER, body="x")
    assert (caught.value.status, caught.value.code) == (400, 21610)
    assert sim.messages() == []


def test_429_and_5xx_faults(sim: TwilioSimulator) -> None:
    client = client_for(sim)
    sim.fault("429", count=2)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(to="+37126000001", from_=SENDER, body="x")
        assert (caught.value.status, caught.value.code) == (429, 20429)
    sim.fault("503")
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to="+37126000001", from_=SENDER, body="x")
    assert caught.value.status == 503
    assert client.messages.create(to="+37126000001", from_=SENDER, body="x").status == "queued"


def test_drop_hang_and_slow_faults(sim: TwilioSimulator) -> None:
    import requests

    client = client_for(sim)
    sim.fault("drop")
    with pytest.raises(requests.ConnectionError):
        client.messages.create(to="+37126000001", from_=SENDER, body="x")
    sim.fault("hang", seconds=5)
    hanging = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=LocalHttpClient(sim.url))
    hanging.http_client.timeout = 0.3
    with pytest.raises(requests.Timeout):
        hanging.messages.create(to="+37126000001", from_=SENDER, body="x")
    sim.fault("slow", seconds=0.2)
    assert client.messages.create(to="+37126000001", from_=SENDER, body="x").status == "queued"
    assert len(sim.messages()) == 1


def test_queue_per_sender_keeps_the_rate() -> None:
    body = "Uzmanību! " * 20  # UCS-2, 200 characters: 3 segments
    with TwilioSimulator(mode="test", segments_per_second=50, delivery_delay=0.01) as sim:
        client = client_for(sim)
        for n in range(5):
            assert client.messages.create(to=f"+3712600001{n}", from_=SENDER,
                                          body=body).num_segments == "3"
        client.messages.create(to="+37126000020", from_="+37120000002", body="other sender")
        assert sim.departures.wait_for(5, SENDER)
        assert sim.departures.wait_for(1, "+37120000002")
        departures = sim.departures.of(SENDER)
        first_created = departures[0]["created"]
        for n, departure in enumerate(departures):  # 3 segments at 50 per second: 60 ms each
            assert departure["monotonic"] - first_created >= n * 0.06
        assert sim.departures.of("+37120000002")[0]["waited"] < 0.05  # its own queue


def test_duplicate_and_out_of_order_callbacks(sim: TwilioSimulator, receiver: Any) -> None:
    client = client_for(sim)
    sim.fault("duplicate_callbacks")
    client.messages.create(to="+37126000001", from_=SENDER, body="a",
                           status_callback=f"{receiver.url}/dup")
    posts = receiver.wait_for(4)
    assert [p["form"]["MessageStatus"] for p in posts] == ["sent", "sent", "delivered", "delivered"]
    sim.fault("out_of_order_callbacks")
    client.messages.create(to="+37126000001", from_=SENDER, body="b",
                           status_callback=f"{receiver.url}/ooo")
    posts = [p for p in receiver.wait_for(6) if p["path"] == "/ooo"]
    assert [p["form"]["MessageStatus"] for p in posts] == ["delivered", "sent"]


def test_undeliverable_number_gets_error_code(receiver: Any) -> None:
    with TwilioSimulator(mode="test", undeliverable={"+37126000009": 30003},
                         delivery_delay=0.01) as sim:
        message = client_for(sim).messages.create(
            to="+37126000009", from_=SENDER, body="x", status_callback=f"{receiver.url}/s")
        posts = receiver.wait_for(2)
        assert posts[-1]["form"]["MessageStatus"] == "undelivered"
        assert posts[-1]["form"]["ErrorCode"] == "30003"
        assert sim.message(message.sid)["error_code"] == 30003
        assert sim.phones.of("+37126000009") == []
