"""E-mail subscriptions against the SMTP simulator: double opt-in by a button
(a GET never confirms), an alert e-mail with a working unsubscribe link, and
clear refusals of wrong, used or expired links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from sargs import clock
from sargs.channels import alerts
from sargs.channels.consent import EMAIL_CONSENT_VERSION
from sargs.channels.email_subscriptions import unsubscribe_link
from sargs.channels.models import Contact, ContactAddress, Delivery, EmailConfirmation
from sargs.channels.simulators.smtp import SmtpSimulator
from tests.channels.adapters_helpers import Wired, drain_paced, wired
from tests.channels.engine_helpers import public_orange
from tests.kernel.helpers import field_has_error, post_form

ADDRESS = "ilze.berzina@example.lv"


@pytest.fixture
def mail() -> Iterator[SmtpSimulator]:
    with SmtpSimulator(mode="test") as server:
        yield server


@pytest.fixture
def wiring(settings, mail, frozen_clock) -> Iterator[Wired]:
    with wired(settings, smtp_url=mail.url, email_from="sargs@jelgava.lv") as wiring:
        yield wiring


def _subscribe(client, address: str = ADDRESS, **changes: Any) -> Any:
    form = {"email": address, "language": "lv", "areas": ["LV022"], "levels": "orange_red",
            "consent": "on", **changes}
    return post_form(client, "/subscribe/email", form)


def _link(mail: SmtpSimulator, address: str = ADDRESS) -> str:
    received = mail.inboxes.of(address)
    found = re.search(r"http://\S+/subscribe/email/confirm/\S+", received[-1]["text"])
    assert found, received[-1]["text"]
    return found.group(0).split("/subscribe/", 1)[1]


def _contacts(wiring: Wired) -> list[tuple[str, str | None]]:
    with wiring.sessions() as db:
        return [(a.address, c.consent_version) for c in db.scalars(select(Contact))
                for a in c.addresses]


def test_subscribe_confirm_by_button_get_an_alert_and_unsubscribe_by_post(
        wiring, mail, users, frozen_clock):
    client = wiring.app.test_client()
    start = client.get("/subscribe/").get_data(as_text=True)
    assert 'href="/subscribe/email"' in start  # e-mail is a channel choice
    form = client.get("/subscribe/email").get_data(as_text=True)
    assert "e-pasta adresi" in form and EMAIL_CONSENT_VERSION in form  # the e-mail consent

    response = _subscribe(client)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/subscribe/email/sent")
    confirmation, = mail.inboxes.of(ADDRESS)
    assert confirmation["subject"] == "Apstipriniet Jelgavas brīdinājumu saņemšanu e-pastā"
    assert "List-Unsubscribe" not in confirmation["message"]
    path = _link(mail)

    page = client.get(f"/subscribe/{path}")  # a mail scanner opening the link
    assert page.status_code == 200
    assert 'data-testid="email-confirm"' in page.get_data(as_text=True)
    assert _contacts(wiring) == []
    with wiring.sessions() as db:
        assert db.scalar(select(EmailConfirmation.used_at)) is None

    done = post_form(client, f"/subscribe/{path}")
    assert done.status_code == 200 and 'data-testid="subscribed"' in done.get_data(as_text=True)
    with wiring.sessions() as db:
        contact = db.scalar(select(Contact))
        assert contact.is_public_subscriber and contact.consent_at == clock.now()
        assert contact.consent_version == EMAIL_CONSENT_VERSION
        assert [(a.channel, a.address, a.verified_at is not None)
                for a in contact.addresses] == [("email", ADDRESS, True)]
    assert post_form(client, f"/subscribe/{path}").status_code == 410  # used once

    author, approver = users.create("olga", "operator"), users.create("karlis", "commission")
    with wiring.sessions() as db:
        alert = alerts.create_alert(db, public_orange(
            audience={"public": {"areas": ["LV022"]}}, channels=["email"]), author.id)
        alerts.submit(db, alert, author.id)
        alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
        alerts.start_sending(db, alert, set(wiring.adapters))
        db.commit()
    drain_paced(wiring, frozen_clock, rounds=2)

    confirmation, alert_mail = mail.inboxes.of(ADDRESS)
    assert alert_mail["text"].replace("\r\n", "\n").strip() == \
        "Oranžais brīdinājums: stiprs vējš Jelgavā."
    header = alert_mail["message"]["List-Unsubscribe"]
    assert alert_mail["message"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(http://\S+)>", header).group(1)
    assert f'href="{link}"' in alert_mail["html"]
    my_data = "/subscribe/" + link.split("/subscribe/", 1)[1]

    page = client.get(my_data)  # looking changes nothing
    assert page.status_code == 200 and ADDRESS in page.get_data(as_text=True)
    assert _contacts(wiring) != []
    download = client.get(my_data + "/export").get_json()
    assert download["email"] == ADDRESS and len(download["messages"]) == 1

    erased = post_form(client, my_data + "/erase")
    assert erased.status_code == 200 and 'data-testid="erased"' in erased.get_data(as_text=True)
    assert _contacts(wiring) == []
    with wiring.sessions() as db:
        assert db.scalar(select(Delivery.address)).startswith("erased:")
        assert db.scalar(select(EmailConfirmation)) is None
    assert client.get(my_data).status_code == 404


def test_a_wrong_or_expired_link_says_so(wiring, mail, frozen_clock):
    client = wiring.app.test_client()
    _subscribe(client)
    path = _link(mail)

    wrong = client.get("/subscribe/email/confirm/not-a-real-token")
    assert wrong.status_code == 404
    assert 'data-testid="link-error"' in wrong.get_data(as_text=True)
    assert post_form(client, "/subscribe/email/confirm/not-a-real-token").status_code == 404

    frozen_clock.advance(hours=25)
    expired = post_form(client, f"/subscribe/{path}")
    assert expired.status_code == 410
    assert 'data-testid="link-error"' in expired.get_data(as_text=True)
    assert _contacts(wiring) == []
    assert client.get("/subscribe/email/my/" + "0" * 40).status_code == 404


def test_bad_input_and_too_many_mails_are_refused_by_field(wiring, mail):
    client = wiring.app.test_client()
    page = _subscribe(client, address="nav-adrese")
    assert page.status_code == 422 and field_has_error(page.get_data(as_text=True), "email")
    page = _subscribe(client, consent="")
    assert page.status_code == 422 and field_has_error(page.get_data(as_text=True), "consent")
    for _ in range(3):
        assert _subscribe(client).status_code == 302
    page = _subscribe(client)
    assert page.status_code == 429 and field_has_error(page.get_data(as_text=True), "email")
    assert len(mail.inboxes.of(ADDRESS)) == 3


def test_without_smtp_the_page_says_email_is_unavailable(app, client):
    page = client.get("/subscribe/email")
    assert 'data-testid="email-unavailable"' in page.get_data(as_text=True)
    with app.extensions["sargs"].sessionmaker() as db:
        assert db.scalar(select(ContactAddress)) is None


def _without_token(page: str) -> str:
    return re.sub(r'(name="csrf[-_]token" (?:value|content)=)"[^"]*"', r"\1", page)


def test_a_subscriber_gets_the_data_link_again_and_nobody_learns_who_is_subscribed(
        wiring, mail):
    client = wiring.app.test_client()
    _subscribe(client)
    post_form(client, f"/subscribe/{_link(mail)}")

    known = post_form(client, "/subscribe/email/manage", {"email": ADDRESS.upper()})
    unknown = post_form(client, "/subscribe/email/manage", {"email": "cits@example.lv"})
    assert known.status_code == unknown.status_code == 200
    # The same page either way (its CSRF token carries the second it was made in).
    assert _without_token(known.get_data(as_text=True)) == _without_token(
        unknown.get_data(as_text=True))
    assert mail.inboxes.of("cits@example.lv") == []
    data_mail = mail.inboxes.of(ADDRESS)[-1]
    found = re.search(r"http://\S+(/subscribe/email/my/\S+)", data_mail["text"])
    page = client.get(found.group(1))
    assert page.status_code == 200 and ADDRESS in page.get_data(as_text=True)
    assert _contacts(wiring) == [(ADDRESS, _contacts(wiring)[0][1])]  # looking changed nothing


def test_the_mail_programs_one_click_unsubscribe_erases(wiring, mail):
    client = wiring.app.test_client()
    _subscribe(client)
    post_form(client, f"/subscribe/{_link(mail)}")
    link = unsubscribe_link(wiring.settings)(ADDRESS)
    path = "/subscribe/" + link.split("/subscribe/", 1)[1]

    assert client.post(path, data={"something": "else"}).status_code == 400
    assert client.post(path + "/erase").status_code == 400  # our own button needs CSRF
    assert _contacts(wiring) != []
    # What Gmail and others POST (RFC 8058): no CSRF token, the link's token authorises it.
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert _contacts(wiring) == []
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 404
