"""``sargs demo``: the Jelgava data set it seeds (once, however often it runs), the red-wind
story it plays against the provider simulators — a red warning in force, an Actual red
alert on the residents' phones, shelters open with people in them, a call-out filled by
volunteers answering "yes" — and the phones page showing what a resident's phone got.

The story runs in real time against the simulators (like the headless exercise run), so
those tests use the app on the real clock; the seed's test uses the frozen one."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from sargs.app import create_app
from sargs.audit.service import SYSTEM, acting_as
from sargs.cad.models import OPEN_STATES, CadReport
from sargs.channels import escalation
from sargs.channels.models import Acknowledgement, Alert, Contact, Delivery
from sargs.cli import cli
from sargs.demo import phones, scenario, seed
from sargs.reserves.models import StockLevel
from sargs.shelters.models import Shelter
from sargs.situation.service import snapshot
from sargs.volunteers import callouts
from sargs.volunteers.models import CallOut
from sargs.warnings.models import WeatherWarning


def _seeded(app: Any, **sizes: int) -> seed.Counts:
    state = app.extensions["sargs"]
    with app.test_request_context(), state.sessionmaker() as session, acting_as(SYSTEM):
        counts = seed.seed(session, state.settings, secret=str(app.config["SECRET_KEY"]),
                           **sizes)
        session.commit()
    return counts


def test_the_seed_makes_the_promised_data_set_and_a_second_run_adds_nothing(app, db):
    counts = _seeded(app)

    assert counts.shelters >= 40
    assert counts.volunteers == 200
    assert counts.cad_reports == 8274  # the 2025 year of the 8787 line
    assert counts.plans == 3 and counts.exercises == 1
    assert counts.reserve_items >= 10 and counts.warehouses == 3
    assert db.scalar(select(func.sum(StockLevel.quantity))) > 0
    assert counts.subscribers == seed.SUBSCRIBERS
    assert counts.users == len(seed.USERS)
    # Every volunteer can be called out: approved, phone verified, an active contact.
    assert db.scalar(select(func.count()).select_from(Contact).where(
        Contact.owner == "volunteers", Contact.active.is_(True))) == 200
    db.close()

    assert _seeded(app) == counts


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The simulators the command started, to look at what they received afterwards."""
    found: list[dict[str, Any]] = []
    start = scenario.start_simulators

    def recording(mode: str | None) -> dict[str, Any]:
        found.append(start(mode))
        return found[-1]

    monkeypatch.setattr(scenario, "start_simulators", recording)
    return found


@pytest.fixture
def live_app(settings: Any) -> Iterator[Any]:
    """The app on the real clock: the story takes real time."""
    application = create_app(settings)
    yield application
    application.extensions["sargs"].engine.dispose()


def _demo(app: Any, *args: str, mode: str = "test") -> Any:
    # The environment the command reads is the test app's (and restored afterwards).
    env = {"SARGS_MODE": mode,
           "SARGS_DATABASE_URL": app.extensions["sargs"].settings.database_url}
    return CliRunner(env=env).invoke(cli, ["demo", *args], obj=ScriptInfo(create_app=lambda: app))


def _sign_in(client: Any, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post("/login", data={"username": username, "password": seed.DEMO_PASSWORD,
                                            "csrf_token": token.group(1)})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_the_demo_plays_the_red_wind_story_to_its_end(live_app, started):
    result = _demo(live_app, "--no-serve", "--volunteers", "40", "--subscribers", "50")
    assert result.exit_code == 0, result.output
    [simulators] = started
    sessions = live_app.extensions["sargs"].sessionmaker

    with sessions() as db:
        warning = db.scalar(select(WeatherWarning).where(WeatherWarning.level == "red"))
        assert warning is not None and warning.state == "active" and warning.affects_home
        alert = db.scalar(select(Alert).where(Alert.source_ref == f"warning:{warning.id}"))
        assert alert is not None and (alert.cap_status, alert.level) == ("Actual", "red")
        texted = set(db.scalars(select(Delivery.address).join(
            Contact, Contact.id == Delivery.contact_id).where(
            Delivery.alert_id == alert.id, Delivery.channel == "sms",
            Contact.is_public_subscriber.is_(True))))
        assert len(texted) == 20  # two in five of the 50 residents subscribed by SMS
        phones_texted = {number for number, entry in simulators["twilio"].phones.all()
                         if entry["kind"] == "sms" and "Jelgav" in entry["body"]}
        assert texted <= phones_texted
        chats = {chat for chat, entry in simulators["telegram"].chats.all()
                 if "Jelgav" in (entry.get("text") or "")}
        assert len(chats) >= 20  # the residents' Telegram chats and the staff's
        # The chair acknowledged by SMS: the call chain stops ringing.
        [ack] = db.scalars(select(Acknowledgement).where(Acknowledgement.alert_id == alert.id))
        assert ack.via == "sms" and escalation.waiting(db, alert.id) == 0

        opened = list(db.scalars(select(Shelter).where(Shelter.opening_id.is_not(None))))
        assert len(opened) == len(scenario.SHELTERS)
        assert all(shelter.occupancy > 0 for shelter in opened)

        callout = db.scalar(select(CallOut))
        assert callout is not None and callout.state == "filled"
        assert callouts.counts(db, callout)["yes"] == scenario.CALLOUT_NEEDED

        # The residents' storm reports are with the partners, and the dashboard counts them
        # open (the seeded 2025 year is all closed).
        reports = list(db.scalars(select(CadReport).where(CadReport.channel == "phone",
                                                          CadReport.state.in_(OPEN_STATES))))
        assert len(reports) == len(scenario.STORM_REPORTS)
        assert {r.state for r in reports} == {"routed", "accepted"}
        assert all(r.partner_id is not None and r.jurisdiction == "city" for r in reports)
        with live_app.test_request_context():
            situation = snapshot(db, live_app.extensions["sargs"].settings)
        assert situation.cad.open == len(scenario.STORM_REPORTS)

    # The phones page lists what a resident's phone received.
    live_app.extensions["sargs"].extra[phones.SIMULATORS] = simulators
    client = live_app.test_client()
    _sign_in(client, "operator")
    page = client.get("/demo/phones?who=resident").get_data(as_text=True)
    number = sorted(texted)[0]
    assert re.search(rf'data-kind="resident".*?data-channel="sms" data-address="\{number}"',
                     page, re.S)
    assert 'data-kind="volunteer"' not in page


def test_the_demo_refuses_production_mode(live_app, started):
    result = _demo(live_app, "--no-serve", mode="production")
    assert result.exit_code != 0
    assert "demo mode only" in result.output
    assert started == []  # no simulator was started, nothing seeded
    with live_app.extensions["sargs"].sessionmaker() as db:
        assert db.scalar(select(func.count()).select_from(Shelter)) == 0


def test_the_phones_page_exists_only_in_demo_and_test_mode(settings):
    production = create_app(settings.model_copy(update={"mode": "production"}))
    assert production.test_client().get("/demo/phones").status_code == 404
    production.extensions["sargs"].engine.dispose()

    testing = create_app(settings)
    assert testing.test_client().get("/demo/phones").status_code == 302  # to the sign-in
    testing.extensions["sargs"].engine.dispose()


def test_the_demo_keeps_to_a_database_of_its_own(monkeypatch, tmp_path):
    """Run without settings, the demo never seeds its users with a known password into the
    database `sargs run` uses by default."""
    from sargs.demo import cli as demo_cli

    monkeypatch.chdir(tmp_path)
    for name in ("SARGS_DATABASE_URL", "SARGS_MODE"):
        monkeypatch.setenv(name, "")  # remembered, so the test leaves the environment as it was
        monkeypatch.delenv(name)
    demo_cli._demo_mode()
    assert os.environ["SARGS_MODE"] == "demo"
    assert os.environ["SARGS_DATABASE_URL"] == "sqlite:///instance/demo.db"
