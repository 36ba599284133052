"""The 8787 line end to end, as its people use it: an operator registers a phone call on
the intake form and routes it from the report's page; the partner's inbox (a real SMTP
server) receives the report with its link; the partner, with no account, accepts and
resolves it through that link; the caller's phone (the Twilio simulator) is told the
outcome, and the ledger and the timeline show it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from sargs.cad.models import CadPartner, CadReport
from sargs.channels.dispatcher import drain
from sargs.channels.simulators.smtp import SmtpSimulator
from sargs.channels.simulators.twilio import TwilioSimulator
from tests.cad.conftest import CITY_POINT
from tests.channels.adapters_helpers import wait_until, wired
from tests.conftest import Users, csrf_token

CALLER = "+37129111222"
PARTNER_INBOX = "pilsetsaimnieciba@example.lv"


@pytest.fixture
def wiring(settings, frozen_clock):
    with TwilioSimulator(mode="test", delivery_delay=0.01) as sms, \
            SmtpSimulator(mode="test") as mail, \
            wired(settings, twilio=sms, smtp_url=f"smtp://127.0.0.1:{mail.port}",
                  email_from="8787@jelgava.lv") as wiring:
        wiring.sms, wiring.mail = sms, mail
        yield wiring


def _post(client, path, data, token_page):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, token_page)})


def test_a_phone_report_goes_to_the_partner_and_back_to_the_caller(wiring):
    app = wiring.app
    operator = app.test_client()
    Users(app).signed_in(operator, "ilze", "operator")

    created = _post(operator, "/cad/new", {
        "category": "streets", "description": "Dziļa bedre pie krustojuma",
        "address": "Lielā iela 11", "lat": str(CITY_POINT[0]), "lon": str(CITY_POINT[1]),
        "reporter_name": "Jānis Bērziņš", "reporter_phone": "+371 29111222",
        "feedback_wanted": "on", "feedback_channel": "sms", "channel": "phone"}, "/cad/new")
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    number = int(created.headers["Location"].rsplit("/", 1)[1])
    with wiring.sessions() as db:
        jvpi = db.scalar(select(CadPartner.id).where(CadPartner.code == "jvpi"))
    routed = _post(operator, f"/cad/{number}/route", {"partner_id": str(jvpi)}, f"/cad/{number}")
    assert routed.status_code == 302

    # The partner's inbox: the report, its place, and the link — but not the caller.
    mail, = wiring.mail.inboxes.of(PARTNER_INBOX)
    assert str(number) in mail["subject"] and "Lielā iela 11" in mail["text"]
    assert "Bērziņš" not in mail["text"] and "29111222" not in mail["text"]
    link = re.search(r"https?://\S+/cad/partner/\S+", mail["text"]).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]

    partner = app.test_client()  # no account, no sign-in
    page = partner.get("/" + path)
    assert page.status_code == 200 and "Dziļa bedre pie krustojuma" in page.get_data(as_text=True)
    assert "29111222" not in page.get_data(as_text=True)
    assert _post(partner, "/" + path, {"action": "accept"}, "/" + path).status_code in (302, 303)
    assert _post(partner, "/" + path, {"action": "resolve", "note": "Bedre aizlāpīta"},
                 "/" + path).status_code in (302, 303)

    # The caller's phone is told, and the ledger proves it.
    drain(wiring.dispatcher())
    assert wait_until(lambda: wiring.sms.phones.of(CALLER))
    text, = [m["body"] for m in wiring.sms.phones.of(CALLER)]
    assert str(number) in text and "Bedre aizlāpīta" in text
    rows = wiring.rows()
    assert rows[CALLER].channel == "sms" and rows[CALLER].state in ("sent", "delivered")

    with wiring.sessions() as db:
        report = db.get(CadReport, number)
        assert report.state == "resolved" and report.feedback_sent_at is not None
        kinds = [e.kind for e in report.events if e.kind != "partner_mail"]
    assert kinds == ["created", "routed", "accepted", "resolved", "feedback"]
    detail = operator.get(f"/cad/{number}").get_data(as_text=True)
    assert re.findall(r'data-kind="(feedback|resolved)"', detail) == ["resolved", "feedback"]
