"""The demo's red-wind story, played step by step against the provider simulators.

1. LVĢMC issues a red wind warning for Jelgava: the CAP document (sargs/demo/lvgmc.py,
   issued now) is read by the real ingest, which escalates it by the red policy.
2. The alert goes out to the residents who subscribed and to the commission, the duty
   officers and the institutions' IP phones; the dispatcher sends the ledger until it is
   drained and the simulated phones, chats and inboxes have received it.
3. Residents call 8787: the operators register six storm reports (fallen trees, a torn
   roof, a power line down, flooded streets) and send each to the partner routing picks;
   the first partner accepts its report.
4. The commission opens an emergency activation and four shelters; households are
   registered and people counted in at the door.
5. A volunteer call-out asks the first wave by SMS; the simulated volunteers answer
   through the same inbound router a Twilio reply reaches, until the call-out fills.
6. The commission's journal records the warning, the reports, the decision and the task.

Each step prints what happened and how long it took. The settings are a copy pointed at
the simulators (:func:`demo_settings`), so nothing reaches a real phone; the app must be
made with them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sargs import clock
from sargs.activations import service as activations
from sargs.activations.schemas import ActivationOpen
from sargs.audit.service import SYSTEM, Actor, acting_as
from sargs.auth.service import find_user
from sargs.cad import service as cad
from sargs.cad.schemas import PartnerAction, ReportIn
from sargs.channels import inbound
from sargs.channels.models import (
    Alert,
    ContactAddress,
    ContactGroup,
    ContactGroupMember,
    Delivery,
)
from sargs.channels.simulators import suite
from sargs.demo import lvgmc, seed
from sargs.exercises.headless import dispatching, pointed_at
from sargs.settings import Settings
from sargs.shelters import evacuees
from sargs.shelters import service as shelters
from sargs.shelters.models import Shelter
from sargs.volunteers import callouts
from sargs.volunteers.models import CallOut, CallOutAsk, Volunteer
from sargs.volunteers.schemas import CallOutIn
from sargs.warnings.ingest import ingest
from sargs.warnings.models import WeatherWarning

TICK_S = 0.05
SETTLE_S = 120.0  # at most this long for the ledger to drain and the phones to ring
SHELTERS = ("Zemgales Olimpiskais centrs", "Jelgavas Valsts ģimnāzija",
            "Jelgavas kultūras nams", "Jelgavas 6. vidusskola")
CALLOUT_PLACE = ("Zemgales Olimpiskais centrs, Kalnciema iela 10", 56.6546, 23.7111)
CALLOUT_NEEDED = 8
# What residents report to 8787 as the storm arrives: category, address, point, text.
STORM_REPORTS = (
    ("greenery", "Lielā iela 19", 56.6499, 23.7269,
     "Vējš nogāzis koku pāri ietvei pie autobusu pieturas, zari uz brauktuves."),
    ("buildings", "Dobeles šoseja 34", 56.6398, 23.7083,
     "Daudzdzīvokļu mājai norauts jumta segums, skārda loksnes krīt pagalmā."),
    ("other", "Rīgas iela 22", 56.6571, 23.7377,
     "Uz ielas nokritis elektrolīnijas vads, dzirksteles pie staba."),
    ("greenery", "Kalnciema iela 28", 56.6562, 23.7036,
     "Nolūzis liels kļavas zars, aizšķērsojis ietvi pie skolas."),
    ("hydro", "Pasta iela 47", 56.6479, 23.7304,
     "Lietus kanalizācija aizsērējusi ar lapām un zariem, applūst krustojums."),
    ("streets", "Satiksmes iela 41", 56.6458, 23.7392,
     "Uz brauktuves gāzies žogs un koka zari, satiksme apgrūtināta."),
)
UNSETTLED = ("pending", "claimed")
# The demo's SMS sender is a messaging service of ten numbers (segments a second), so
# the residents' SMS go out in seconds rather than the minutes one long code needs.
SMS_RATE = 100.0


def start_simulators(mode: str | None) -> dict[str, Any]:
    """The provider simulators (refused outside test and demo mode), the SMS one sending
    at the demo's rate; stop them with :func:`suite.stop_all`."""
    simulators = suite.start_all(mode)
    simulators["twilio"].segments_per_second = SMS_RATE
    return simulators


def demo_settings(settings: Settings, simulators: dict[str, Any]) -> Settings:
    """The settings for the demo: every channel at the simulators (SMS at the demo's
    rate), and no warning feed polled (the story's warning is the recorded one, not
    whatever the sky does today)."""
    return pointed_at(settings, simulators).model_copy(update={
        "feed_urls": [], "channel_rates": {**settings.channel_rates, "sms": SMS_RATE}})


@dataclass
class Outcome:
    """What the story made, for the command to point at and the tests to check."""

    warning_id: int | None = None
    alert_id: int | None = None
    activation_id: int | None = None
    shelter_ids: list[int] = field(default_factory=list)
    callout_id: int | None = None
    report_ids: list[int] = field(default_factory=list)
    journal_entries: int = 0


class Story:
    """One playing of the story on ``app`` (made with :func:`demo_settings`)."""

    def __init__(self, app: Flask, simulators: dict[str, Any],
                 echo: Callable[[str], None] = print,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.app = app
        self.state = app.extensions["sargs"]
        self.sessions: sessionmaker[Session] = self.state.sessionmaker
        self.settings: Settings = self.state.settings
        self.simulators = simulators
        self.echo = echo
        self.sleep = sleep
        self.outcome = Outcome()
        self.rng = random.Random(seed.SEED)
        self.began = clock.now()

    # --- the pieces every step uses ---------------------------------------------------

    def _wait(self, done: Callable[[], bool], timeout: float = SETTLE_S) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                return False
            self.sleep(TICK_S)
        return True

    def settle(self, dispatcher: Any) -> None:
        """Send what the ledger holds now, then wait for the SMS the simulator queued."""
        def drained() -> bool:
            dispatcher.run_once()
            with self.sessions() as session:
                return not session.scalar(select(func.count()).select_from(Delivery).where(
                    Delivery.state.in_(UNSETTLED), Delivery.due_at <= clock.now()))

        if not self._wait(drained):
            self.echo("   (some messages are still waiting to be sent)")
        twilio = self.simulators["twilio"]
        with self.sessions() as session:
            texted = set(session.scalars(select(Delivery.address).where(
                Delivery.channel == "sms", Delivery.state.in_(("sent", "delivered")),
                Delivery.sent_at >= self.began)))
        if not self._wait(lambda: texted <= {a for a, e in twilio.phones.all()
                                             if e["kind"] == "sms"}):
            self.echo("   (some SMS are still queued at the provider)")

    def _step(self, number: int, title: str, act: Callable[[], list[str]]) -> None:
        started = time.monotonic()
        self.echo(f"{number}. {title}")
        with self.app.app_context():
            lines = act()
        for line in lines:
            self.echo(f"   {line}")
        self.echo(f"   ({time.monotonic() - started:.1f} s)")

    def _commission(self, session: Session) -> Actor:
        user = find_user(session, "commission")
        if user is None:
            return SYSTEM
        return Actor("user", user.id, user.username, "demo")

    # --- the story --------------------------------------------------------------------

    def play(self) -> Outcome:
        started = time.monotonic()
        with dispatching(self.sessions, self.settings) as dispatcher:
            self._step(1, "LVĢMC issues a red wind warning for Jelgava", self.warning_arrives)
            self._step(2, "The alert reaches residents and staff",
                       lambda: self.alert_goes_out(dispatcher))
            self._step(3, "Residents call 8787", self.residents_call)
            self._step(4, "The commission opens an activation and shelters",
                       lambda: self.shelters_open(dispatcher))
            self._step(5, "A volunteer call-out fills", lambda: self.callout_fills(dispatcher))
            self._step(6, "The commission's journal", self.journal)
        self.echo(f"The story took {time.monotonic() - started:.1f} s.")
        return self.outcome

    def warning_arrives(self) -> list[str]:
        folder = self.settings.instance_path / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"lvgmc-red-wind-{clock.now():%Y%m%d%H%M%S}.xml"
        path.write_bytes(lvgmc.red_wind(clock.now()))
        with acting_as(SYSTEM):
            report = ingest(self.sessions, [str(path)], self.settings)
        with self.sessions() as session:
            warning = session.scalar(select(WeatherWarning).order_by(
                WeatherWarning.id.desc()).limit(1))
            alert = session.scalar(select(Alert).where(
                Alert.source == "warning", Alert.source_ref == f"warning:{warning.id}")
                .order_by(Alert.id.desc()).limit(1)) if warning else None
            self.outcome.warning_id = warning.id if warning else None
            self.outcome.alert_id = alert.id if alert else None
            lines = [f"ingested {path.name}: {report.new} new, {report.updated} updated"]
            if warning is not None:
                lines.append(f"warning {warning.id}: {warning.level}, {warning.state}, "
                             f"until {warning.expires:%Y-%m-%d %H:%M} UTC")
            lines.append(f"escalated by the red policy: alert {alert.id}, {alert.state}"
                         if alert else "no alert was made (see the warning's page)")
        return lines

    def alert_goes_out(self, dispatcher: Any) -> list[str]:
        self.settle(dispatcher)
        with self.sessions() as session:
            rows = session.execute(
                select(Delivery.channel, Delivery.state, func.count())
                .where(Delivery.alert_id == self.outcome.alert_id)
                .group_by(Delivery.channel, Delivery.state)
                .order_by(Delivery.channel, Delivery.state)).all()
        lines = [f"{channel}: {count} {state}" for channel, state, count in rows]
        return lines + [self._received(), self._chair_acknowledges()]

    def _chair_acknowledges(self) -> str:
        """The commission's chair answers "1" to the alert's SMS, as the staff text asks:
        the acknowledgement stops the call chain that would otherwise keep ringing."""
        with self.sessions() as session:
            phone = session.scalar(
                select(ContactAddress.address)
                .join(ContactGroupMember, ContactGroupMember.contact_id == ContactAddress.contact_id)
                .join(ContactGroup, ContactGroup.id == ContactGroupMember.group_id)
                .where(ContactGroup.code == "commission-chair", ContactAddress.channel == "sms")
                .order_by(ContactAddress.id).limit(1))
            if phone is None:
                return "nobody chairs the commission: the call chain goes on"
            answer = inbound.route(session, inbound.Reply("sms", phone, "1"),
                                   secret=str(self.app.config["SECRET_KEY"]),
                                   subscribe_url=f"{self.settings.base_url}/subscribe/")
            session.commit()
        return f"the commission's chair acknowledged by SMS: {answer}"

    def _received(self) -> str:
        sims = self.simulators
        sms = sum(1 for _a, e in sims["twilio"].phones.all() if e["kind"] == "sms")
        calls = sum(1 for _a, e in sims["twilio"].phones.all() if e["kind"] == "call")
        return (f"the simulators received: {sms} SMS, {calls} calls, "
                f"{len(sims['telegram'].chats)} Telegram messages, "
                f"{len(sims['smtp'].messages)} e-mails, {len(sims['ami'].calls)} IP-phone pages")

    def residents_call(self) -> list[str]:
        lines = []
        with self.sessions() as session:
            operator = find_user(session, "operator")
            actor = Actor("user", operator.id, operator.username, "demo") if operator \
                else SYSTEM
            with acting_as(actor):
                for number, (category, address, lat, lon, text) in enumerate(STORM_REPORTS):
                    name, _sex = seed.person(self.rng, set())
                    report = cad.create_report(session, self.settings, ReportIn(
                        channel="phone", category=category, description=text, address=address,
                        lat=lat, lon=lon, reporter_name=name,
                        reporter_phone=f"+3712{self.rng.randint(0, 9_999_999):07d}"))
                    cad.route(session, self.settings, report)
                    if number == 0:  # the first partner is quick to take its report on
                        cad.partner_act(session, self.settings, report,
                                        PartnerAction(action="accept"), partner=report.partner)
                    self.outcome.report_ids.append(report.id)
                    lines.append(f"report {report.id}: {address}, {category}, "
                                 f"{report.state} to {report.partner.name}")
            session.commit()
        return lines

    def shelters_open(self, dispatcher: Any) -> list[str]:
        lines = []
        with self.sessions() as session:
            actor = self._commission(session)
            with acting_as(actor):
                activation = activations.open_activation(session, ActivationOpen(
                    title="Vētra Jelgavā — sarkanais vēja brīdinājums", kind="emergency",
                    description="LVĢMC sarkanais brīdinājums: brāzmas 28-33 m/s."), actor.id)
                self.outcome.activation_id = activation.id
                lines.append(f"activation {activation.id}: {activation.title}")
                for name in SHELTERS:
                    shelter = session.scalar(select(Shelter).where(
                        Shelter.name == name, Shelter.active.is_(True)).limit(1))
                    if shelter is None:
                        continue
                    if shelter.opening_id is None:  # a story played before left it open
                        shelters.open_shelter(session, shelter, activation.id,
                                              settings=self.settings)
                    for _household in range(self.rng.randint(3, 6)):
                        name_of, _sex = seed.person(self.rng, set())
                        evacuees.register(session, shelter, name_of, None,
                                          self.rng.randint(1, 5), None)
                    shelters.change_occupancy(session, shelter, self.rng.randint(15, 60))
                    self.outcome.shelter_ids.append(shelter.id)
                    lines.append(f"{shelter.name}: open, {shelter.occupancy} people, "
                                 f"{shelters.free_places(shelter)} free places")
            session.commit()
        self.settle(dispatcher)
        return lines

    def callout_fills(self, dispatcher: Any) -> list[str]:
        place, lat, lon = CALLOUT_PLACE
        with self.sessions() as session:
            actor = self._commission(session)
            with acting_as(actor):
                link = {"link_kind": "alert", "link_ref": str(self.outcome.alert_id)} \
                    if self.outcome.alert_id else {}
                callout = callouts.create(session, CallOutIn(
                    activation_id=self.outcome.activation_id, title="Palīdzība patvertnē",
                    brief="Gultu izvietošana un cilvēku uzņemšana.", area_code="LV022",
                    place=place, lat=lat, lon=lon, starts_at=clock.now(),
                    ends_at=clock.now() + timedelta(hours=8), needed=CALLOUT_NEEDED, **link),
                    actor.id, self.settings)
            session.commit()
            self.outcome.callout_id, code = callout.id, callout.code
            asked = list(session.scalars(
                select(Volunteer.phone).join(CallOutAsk,
                                             CallOutAsk.volunteer_id == Volunteer.id)
                .where(CallOutAsk.callout_id == callout.id)
                .order_by(CallOutAsk.id)))
        self.settle(dispatcher)
        lines = [f"call-out {code}: {CALLOUT_NEEDED} people wanted, {len(asked)} asked by SMS"]
        # Each volunteer answers once their SMS arrived: three in four can come.
        twilio = self.simulators["twilio"]
        for number, phone in enumerate(asked):
            if not twilio.phones.wait_for(1, phone, timeout=SETTLE_S):
                continue
            answer = f"{code}{2 if number % 4 == 3 else 1}"
            with self.sessions() as session:
                inbound.route(session, inbound.Reply("sms", phone, answer),
                              secret=str(self.app.config["SECRET_KEY"]),
                              subscribe_url=f"{self.settings.base_url}/subscribe/")
                session.commit()
        self.settle(dispatcher)
        with self.sessions() as session:
            callout = session.get(CallOut, self.outcome.callout_id)
            assert callout is not None
            counted = callouts.counts(session, callout)
        lines.append(f"{callout.state}: " + ", ".join(f"{k} {v}" for k, v in counted.items()))
        return lines

    def journal(self) -> list[str]:
        try:
            from sargs.activations import journal
            from sargs.activations.journal_schemas import JournalEntryIn
        except ImportError:
            return ["(the crisis journal is not part of this version)"]
        outcome = self.outcome
        entries = [
            JournalEntryIn(kind="information", source="LVĢMC",
                           text="Sarkanais vēja brīdinājums Jelgavai un Jelgavas novadam: "
                                "brāzmas 28-33 m/s.",
                           links=[{"type": "warning", "id": outcome.warning_id}]
                           if outcome.warning_id else []),
            JournalEntryIn(kind="information", source="8787",
                           text=f"Iedzīvotāji ziņo par vētras postījumiem: "
                                f"{len(outcome.report_ids)} ziņojumi nodoti dienestiem.",
                           links=[{"type": "report", "id": outcome.report_ids[0]}]
                           if outcome.report_ids else []),
            JournalEntryIn(kind="decision", decided_by="Civilās aizsardzības komisija",
                           text=f"Atvērt {len(outcome.shelter_ids)} patvertnes un izsaukt "
                                "brīvprātīgos.",
                           links=[{"type": "shelter", "id": i} for i in outcome.shelter_ids]),
            JournalEntryIn(kind="task", assignee="Brīvprātīgo koordinators",
                           text="Nodrošināt palīdzību Zemgales Olimpiskajā centrā.",
                           due_at=clock.now() + timedelta(hours=2),
                           links=[{"type": "callout", "id": outcome.callout_id}]
                           if outcome.callout_id else []),
        ]
        with self.sessions() as session:
            user = find_user(session, "commission")
            activation = activations.get_activation(session, outcome.activation_id or 0)
            if activation is None:
                return ["(no activation to write in)"]
            with acting_as(self._commission(session)):
                for entry in entries:
                    journal.add_entry(session, activation, entry, user)
            session.commit()
        outcome.journal_entries = len(entries)
        return [f"{len(entries)} entries: "
                + ", ".join(entry.kind for entry in entries)]


def play(app: Flask, simulators: dict[str, Any], *, echo: Callable[[str], None] = print,
         sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Play the whole story; returns what it made."""
    return Story(app, simulators, echo, sleep).play()
