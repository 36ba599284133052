"""The daily watch: when batches expire within 90 days, have expired, or items are below
their minimum, the contacts of the "warehouse" group get one reminder a day through the
notification engine (here the SMTP simulator's inbox), however often the scheduler
ticks; nothing is sent when nothing is due, and an empty group is logged once a day."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.dispatcher import drain
from sargs.channels.models import Alert
from sargs.channels.simulators.smtp import SmtpSimulator
from sargs.reserves import service
from sargs.reserves.models import ExpiryDigest
from sargs.scheduler import run_tick
from tests.channels.adapters_helpers import wait_until, wired

KEEPER = "noliktava@jelgava.lv"
TODAY = date(2026, 11, 24)  # the frozen clock's Riga date


@pytest.fixture
def mail() -> Iterator[Any]:
    with SmtpSimulator(mode="test") as server:
        yield server


@pytest.fixture
def wiring(settings, mail, frozen_clock) -> Iterator[Any]:
    with wired(settings, smtp_url=f"smtp://127.0.0.1:{mail.port}",
               email_from="sargs@jelgava.lv") as wiring:
        yield wiring


def stock(db: Any, room: Any, *, soon: bool = True) -> None:
    """Water expiring in 20 days, food in 60, an expired lot, sandbags below minimum
    (``soon``); or only stock that lasts for years."""
    who = service.Who()
    if soon:
        for item, lot, days in ((room.water, "W-20", 20), (room.food, "F-60", 60),
                                (room.food, "F-OLD", -3)):
            service.receive(db, item, room.centre, lot, Decimal(10), who,
                            expires_on=TODAY + timedelta(days=days))
        service.set_minimum(db, room.sandbags, room.centre, Decimal(100))
    else:
        service.receive(db, room.water, room.centre, "W-2029", Decimal(10), who,
                        expires_on=date(2029, 1, 1))
    db.commit()


def keeper_in_group(db: Any) -> None:
    group = ensure_group(db, "warehouse", "Noliktavas pārziņi", "staff")
    add_to_group(db, group, register_contact(db, "Noliktavas pārzinis", [("email", KEEPER)]))
    db.commit()


def tick(wiring: Any) -> None:
    with wiring.app.app_context():
        assert run_tick(wiring.sessions)["reserves"] == "ok"


def sent(wiring: Any) -> list[tuple[str, date, int | None]]:
    """(alert source, digest day, alert id) of every day's digest."""
    with wiring.sessions() as db:
        alerts = {a.id: a.source for a in db.scalars(select(Alert))}
        return [(alerts.get(d.alert_id, "-"), d.day, d.alert_id)
                for d in db.scalars(select(ExpiryDigest).order_by(ExpiryDigest.day))]


def test_the_keepers_get_the_list_once_a_day(wiring, mail, db, stockroom, frozen_clock):
    stock(db, stockroom)
    keeper_in_group(db)
    db.close()
    tick(wiring)
    tick(wiring)  # many ticks a day: one message
    [(source, day, _id)] = sent(wiring)
    assert (source, day) == ("reminder", TODAY)

    drain(wiring.dispatcher())
    assert wait_until(lambda: len(mail.inboxes.of(KEEPER)) == 1)
    [message] = mail.inboxes.of(KEEPER)
    text = message["text"]
    assert text.startswith("Rezerves 24.11.2026: 1 partijām derīguma termiņš beidzas "
                           "30 dienu laikā, 2 — 90 dienu laikā; 1 partijām tas beidzies; "
                           "1 preces zem minimālā līmeņa.")
    assert wiring.settings.base_url + "/reserves/" in text

    frozen_clock.advance(hours=23)  # 24.11 12:00 → 25.11 11:00 in Riga: the next day
    tick(wiring)
    tick(wiring)
    assert [day for _s, day, _i in sent(wiring)] == [TODAY, TODAY + timedelta(days=1)]
    drain(wiring.dispatcher())
    assert wait_until(lambda: len(mail.inboxes.of(KEEPER)) == 2)
    # The next day counts again: the water is now 19 days from expiry, still within 30.
    assert "1 partijām derīguma termiņš beidzas 30 dienu laikā" in \
        mail.inboxes.of(KEEPER)[1]["text"]


def test_nothing_is_sent_when_nothing_expires(wiring, mail, db, stockroom):
    stock(db, stockroom, soon=False)
    keeper_in_group(db)
    db.close()
    tick(wiring)
    assert sent(wiring) == []
    with wiring.sessions() as session:
        assert session.scalars(select(Alert)).all() == []


def test_an_empty_group_is_logged_once_a_day(wiring, mail, db, stockroom, caplog):
    stock(db, stockroom)
    db.close()
    with caplog.at_level(logging.INFO, logger="sargs.reserves.notify"):
        tick(wiring)
        tick(wiring)
    said = [r.getMessage() for r in caplog.records if r.name == "sargs.reserves.notify"]
    assert said == ["reserves: the expiry list of 2026-11-24 was not sent: the group "
                    "'warehouse' has nobody with an address"]
    assert sent(wiring) == [("-", TODAY, None)]
    with wiring.sessions() as session:
        assert session.scalars(select(Alert)).all() == []
        # The group is there for the admin to fill on the contacts pages.
        assert ensure_group(session, "warehouse", "x", "staff").name == \
            "Noliktavas pārziņi (rezerves)"
