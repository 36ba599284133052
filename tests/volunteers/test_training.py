"""The training module's rules as the pages, the portal and the scheduler use them:
enrolment with a waiting list (a seat given back goes to the first who waits, and
their phone is told), no double enrolment, reminders the day before sent once,
attendance issuing a certificate with its expiry, renewal reminders, an instructor
marking only their own sessions, and the iCalendar text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sargs.channels.dispatcher import drain
from sargs.channels.models import Alert, Delivery
from sargs.channels.simulators.twilio import TwilioSimulator
from sargs.volunteers import ical, service, training
from sargs.volunteers.models import Certificate, Enrolment, TrainingSession, Volunteer
from sargs.volunteers.schemas import CertificateIn, CourseIn, SessionIn
from tests.channels.adapters_helpers import wait_until, wired

PHONES = ["+37126100001", "+37126100002", "+37126100003", "+37126100004"]


def people(make_volunteer: Any, count: int, status: str = "active") -> list[Volunteer]:
    """``count`` approved volunteers with their own phones, e-mails and names."""
    return [make_volunteer(status, name=f"Brīvprātīgais {chr(65 + i)}", phone=PHONES[i],
                           email=f"v{i}@example.lv") for i in range(count)]


def course(db: Any, code: str = "PP1", **fields: Any) -> Any:
    values = {"code": code, "title_lv": "Pirmā palīdzība", "title_en": "First aid",
              "description": "Pamatkurss", **fields}
    found = training.create_course(db, CourseIn(**values))
    db.commit()
    return found


def planned(db: Any, course_id: int, starts: str = "2026-11-26T10:00", hours: int = 3,
            capacity: int = 2, **fields: Any) -> TrainingSession:
    """A session starting at ``starts`` Riga time."""
    start = datetime.fromisoformat(starts)
    values = {"place": "Jelgavas ugunsdzēsēju depo, Rūpniecības iela 4", **fields}
    ts = training.create_session(db, SessionIn(
        course_id=course_id, starts_at=start, ends_at=start + timedelta(hours=hours),
        capacity=capacity, **values))
    db.commit()
    return ts


def ledger(db: Any) -> list[tuple[str, str, str]]:
    """(source_ref, channel, address) of every delivery row, in order."""
    db.expire_all()
    return [(alert.source_ref, d.channel, d.address) for d, alert in db.execute(
        select(Delivery, Alert).join(Alert, Alert.id == Delivery.alert_id).order_by(Delivery.id))]


def texts_to(db: Any, address: str) -> list[str]:
    """The Latvian texts of the alerts whose rows reach ``address``."""
    db.expire_all()
    alerts = db.scalars(select(Alert).join(Delivery, Delivery.alert_id == Alert.id)
                        .where(Delivery.address == address).order_by(Alert.id))
    return [alert.texts[0].body for alert in alerts]


# --- the waiting list, end to end ------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[Any]:
    with TwilioSimulator(mode="test", delivery_delay=0.01) as sms:
        yield sms


@pytest.fixture
def wiring(settings: Any, sim: Any, frozen_clock: Any) -> Iterator[Any]:
    with wired(settings, twilio=sim) as wiring:
        yield wiring


def test_the_third_waits_and_gets_the_seat_given_back(db, make_volunteer, wiring, sim):
    first, second, third = people(make_volunteer, 3)
    ts = planned(db, course(db).id, capacity=2)

    states = [training.enrol(db, ts, v).state for v in (first, second, third)]
    db.commit()
    assert states == ["enrolled", "enrolled", "waiting"]
    assert [v.id for _e, v in training.roster(db, ts).waiting] == [third.id]

    promoted = training.withdraw(db, ts, first, wiring.settings)
    db.commit()
    assert promoted is not None and promoted.volunteer_id == third.id
    roster = training.roster(db, ts)
    assert [v.id for _e, v in roster.enrolled] == [second.id, third.id]
    assert roster.waiting == [] and roster.seats_left == 0

    # The third volunteer's phone was told; nobody else was.
    assert [(ref.split(":")[0], ch, to) for ref, ch, to in ledger(db)] == [
        ("training_session", "sms", third.phone)]
    db.commit()  # SQLite: our reads end before the dispatcher writes
    drain(wiring.dispatcher())
    assert wait_until(lambda: [m.get("body") for m in sim.phones.of(third.phone)])
    [text] = [m["body"] for m in sim.phones.of(third.phone)]
    assert text.startswith("Atbrīvojās vieta: jums ir vieta mācībās “Pirmā palīdzība” "
                           "26.11.2026 10:00, Jelgavas ugunsdzēsēju depo")
    assert sim.phones.of(first.phone) == [] and sim.phones.of(second.phone) == []


def test_an_english_volunteer_is_told_in_english(db, make_volunteer, app):
    first, second = [make_volunteer("active", name="Anna Lee", phone=PHONES[0], email=None),
                     make_volunteer("active", name="John Doe", phone=PHONES[1], email=None,
                                    language="en")]
    ts = planned(db, course(db).id, capacity=1)
    training.enrol(db, ts, first)
    training.enrol(db, ts, second)
    with app.app_context():
        training.withdraw(db, ts, first)
    db.commit()
    [row] = db.scalars(select(Delivery)).all()
    assert (row.address, row.language) == (second.phone, "en")
    alert = db.get(Alert, row.alert_id)
    assert {t.language: t.body for t in alert.texts}["en"].startswith(
        "A seat came free: you have a place in the training “First aid” on 26.11.2026 10:00")
    assert (alert.source, alert.requires_approval, alert.state) == ("reminder", False, "sending")


def test_no_double_enrolment_and_no_enrolment_in_a_past_or_cancelled_session(
        db, make_volunteer, frozen_clock, app):
    volunteer, = people(make_volunteer, 1)
    pending = make_volunteer("pending", name="Jauns Cilvēks", phone=PHONES[3], email=None)
    kind = course(db)
    ts = planned(db, kind.id)
    training.enrol(db, ts, volunteer)
    with pytest.raises(training.TrainingError, match="Already enrolled"):
        training.enrol(db, ts, volunteer)
    with pytest.raises(training.TrainingError, match="approved volunteers"):
        training.enrol(db, ts, pending)
    assert db.scalar(select(Enrolment.state).where(Enrolment.session_id == ts.id)) == "enrolled"

    cancelled = planned(db, kind.id, starts="2026-12-03T10:00")
    with app.app_context():
        training.cancel_session(db, cancelled)
    with pytest.raises(training.TrainingError, match="cancelled"):
        training.enrol(db, cancelled, volunteer)

    frozen_clock.set(ts.starts_at + timedelta(minutes=5))
    with pytest.raises(training.TrainingError, match="started"):
        training.enrol(db, ts, make_volunteer("active", name="Vēl Viens", phone=PHONES[2],
                                              email=None))
    # Asking again after giving the seat back puts one at the end of the queue.
    frozen_clock.set(ts.starts_at - timedelta(days=1))
    later = planned(db, kind.id, starts="2026-12-10T10:00", capacity=1)
    training.enrol(db, later, volunteer)
    training.withdraw(db, later, volunteer)
    assert training.enrol(db, later, volunteer).state == "enrolled"


def test_a_volunteer_without_a_contact_is_skipped(db, make_volunteer, app):
    first, second = people(make_volunteer, 2)
    second.contact_id = None
    db.commit()
    ts = planned(db, course(db).id, capacity=1)
    training.enrol(db, ts, first)
    training.enrol(db, ts, second)
    with app.app_context():
        promoted = training.withdraw(db, ts, first)
    db.commit()
    assert promoted is not None and promoted.volunteer_id == second.id
    assert ledger(db) == []


def test_cancelling_a_session_tells_the_enrolled_and_the_waiting(db, make_volunteer, app):
    first, second = people(make_volunteer, 2)
    ts = planned(db, course(db).id, capacity=1)
    training.enrol(db, ts, first)
    training.enrol(db, ts, second)
    with app.app_context():
        assert training.cancel_session(db, ts) == 2
    db.commit()
    assert sorted(to for _r, _c, to in ledger(db)) == sorted([first.phone, second.phone])
    assert texts_to(db, first.phone) == [
        "Mācības “Pirmā palīdzība” 26.11.2026 10:00 (Jelgavas ugunsdzēsēju depo, "
        "Rūpniecības iela 4) ir atceltas. Atvainojamies!"]


# --- reminders -------------------------------------------------------------------------


def test_the_day_before_each_enrolled_volunteer_is_reminded_once(
        db, make_volunteer, frozen_clock, app):
    first, second, third = people(make_volunteer, 3)
    ts = planned(db, course(db).id, starts="2026-11-26T10:00", capacity=2)  # 08:00 UTC
    for volunteer in (first, second, third):
        training.enrol(db, ts, volunteer)
    db.commit()

    with app.app_context():
        training.run_due(db, app.extensions["sargs"].settings)
        db.commit()
        assert ledger(db) == []  # two days ahead: not yet
        frozen_clock.set(datetime.fromisoformat("2026-11-25T08:30:00+00:00"))
        training.run_due(db, app.extensions["sargs"].settings)
        db.commit()
        reminded = ledger(db)
        assert sorted(to for _r, _c, to in reminded) == sorted([first.phone, second.phone])
        assert {ref for ref, _c, _t in reminded} == {f"training_session:{ts.id}:reminder"}
        frozen_clock.advance(hours=2)
        training.run_due(db, app.extensions["sargs"].settings)
        db.commit()
    assert ledger(db) == reminded  # once
    [text] = texts_to(db, first.phone)
    assert text.startswith("Atgādinājums: 26.11.2026 10:00 mācības “Pirmā palīdzība”")
    assert text.endswith("/volunteers/training/mine")
    db.refresh(ts)
    assert ts.reminder_sent_at is not None


# --- attendance and certificates ---------------------------------------------------------


def test_attendance_issues_the_certificate_with_its_expiry(db, make_volunteer, frozen_clock):
    came, missed = people(make_volunteer, 2)
    kind = course(db, certificate_kind="first_aid", certificate_months=24)
    ts = planned(db, kind.id, starts="2026-11-30T09:00")
    coming, missing = training.enrol(db, ts, came), training.enrol(db, ts, missed)
    db.commit()
    admin = service.Staff(None, frozenset({"admin"}))

    with pytest.raises(training.TrainingError, match="started"):
        training.mark_attendance(db, ts, [coming.id], admin)
    frozen_clock.set(ts.ends_at)
    [certificate] = training.mark_attendance(db, ts, [coming.id], admin)
    db.commit()
    assert (certificate.volunteer_id, certificate.kind, certificate.title) == (
        came.id, "first_aid", "Pirmā palīdzība")
    assert (certificate.issued_on, certificate.expires_on) == (date(2026, 11, 30),
                                                               date(2028, 11, 30))
    assert certificate.session_id == ts.id
    db.refresh(coming)
    db.refresh(missing)
    assert (coming.attended, coming.certificate_id) == (True, certificate.id)
    assert (missing.attended, missing.certificate_id) == (False, None)
    assert ts.state == "done"

    # Marking again issues nothing twice; taking the mark back takes the certificate.
    assert training.mark_attendance(db, ts, [coming.id], admin) == []
    training.mark_attendance(db, ts, [], admin)
    db.commit()
    assert db.scalars(select(Certificate)).all() == []


def test_the_expiry_keeps_to_the_end_of_a_shorter_month():
    assert training.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert training.add_months(date(2026, 11, 30), 14) == date(2028, 1, 30)


def test_an_instructor_marks_only_their_own_sessions(db, make_volunteer, frozen_clock, users):
    volunteer, = people(make_volunteer, 1)
    own, other = users.create("ilze", "instructor"), users.create("juris", "instructor")
    kind = course(db)
    ts = planned(db, kind.id, instructor_id=own.id)
    enrolment = training.enrol(db, ts, volunteer)
    db.commit()
    frozen_clock.set(ts.starts_at + timedelta(hours=1))
    with pytest.raises(training.TrainingError, match="instructor"):
        training.mark_attendance(db, ts, [enrolment.id],
                                 service.Staff(other.id, frozenset({"instructor"})))
    training.mark_attendance(db, ts, [enrolment.id], service.Staff(own.id, frozenset({"instructor"})))
    db.commit()
    db.refresh(enrolment)
    assert enrolment.attended is True


def test_a_session_needs_an_instructor_who_teaches(db, users):
    clerk = users.create("anna", "operator")
    with pytest.raises(training.TrainingError) as caught:
        planned(db, course(db).id, instructor_id=clerk.id)
    assert caught.value.field == "instructor_id"


# --- renewals ------------------------------------------------------------------------------


def test_a_certificate_about_to_expire_is_told_once_with_the_next_session(
        db, make_volunteer, frozen_clock, app):
    soon, later = people(make_volunteer, 2)
    service.add_certificate(db, soon, CertificateIn(
        kind="first_aid", title="Pirmā palīdzība (VMNVD)", issued_on=date(2024, 12, 10),
        expires_on=date(2026, 12, 10)))
    service.add_certificate(db, later, CertificateIn(
        kind="first_aid", title="Pirmā palīdzība", issued_on=date(2025, 1, 10),
        expires_on=date(2027, 1, 10)))  # 47 days away: not yet
    kind = course(db, certificate_kind="first_aid", certificate_months=24)
    planned(db, kind.id, starts="2026-12-05T10:00")
    db.commit()

    with app.app_context():
        for _tick in range(2):
            training.run_due(db, app.extensions["sargs"].settings)
            db.commit()
    rows = ledger(db)
    assert [(ref.split(":")[0], to) for ref, _c, to in rows] == [
        ("training_certificate", soon.phone)]
    [text] = texts_to(db, soon.phone)
    assert text.startswith("Jūsu apliecība “Pirmā palīdzība (VMNVD)” ir derīga līdz "
                           "10.12.2026. Atjaunot var mācībās “Pirmā palīdzība” "
                           "05.12.2026 10:00")


def test_a_renewed_certificate_is_not_reminded(db, make_volunteer, app):
    volunteer, = people(make_volunteer, 1)
    for issued, expires in ((date(2024, 12, 10), date(2026, 12, 10)),
                            (date(2026, 11, 1), date(2028, 11, 1))):
        service.add_certificate(db, volunteer, CertificateIn(
            kind="first_aid", title="Pirmā palīdzība", issued_on=issued, expires_on=expires))
    db.commit()
    with app.app_context():
        assert training.send_renewal_reminders(db) == 0
    assert ledger(db) == []


# --- iCalendar -----------------------------------------------------------------------------


def parse_ics(text: str) -> list[dict[str, str]]:
    """The components of an iCalendar text as {name: raw value} (unfolded), checking the
    line rules on the way: CRLF endings and no line over 75 octets."""
    assert text.endswith("\r\n")
    physical = text.split("\r\n")[:-1]
    assert all(len(line.encode()) <= 75 for line in physical)
    lines: list[str] = []
    for line in physical:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    components: list[dict[str, str]] = []
    for line in lines:
        name, _sep, value = line.partition(":")
        if name == "BEGIN":
            components.append({"BEGIN": value})
        elif name != "END":
            components[-1][name.split(";")[0]] = value
    return components


def test_the_calendar_text_escapes_and_folds():
    start = datetime.fromisoformat("2026-11-26T08:00:00+00:00")
    text = ical.calendar([ical.Event(
        uid="training-session-7@sargs.example", start=start, end=start + timedelta(hours=3),
        summary="Pirmā palīdzība; pamati, 1. daļa", location="Rūpniecības iela 4, Jelgava",
        description="Līdzi: pase\nun apavi \\ maiņai " + "ā" * 60, lat=56.65, lon=23.7212)],
        stamp=start - timedelta(days=2))
    calendar, event = parse_ics(text)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert event["DTSTART"] == "20261126T080000Z" and event["DTEND"] == "20261126T110000Z"
    assert event["DTSTAMP"] == "20261124T080000Z"
    assert event["SUMMARY"] == "Pirmā palīdzība\\; pamati\\, 1. daļa"
    assert event["LOCATION"] == "Rūpniecības iela 4\\, Jelgava"
    assert event["DESCRIPTION"].startswith("Līdzi: pase\\nun apavi \\\\ maiņai ā")
    assert event["GEO"] == "56.650000;23.721200"
    assert event["UID"] == "training-session-7@sargs.example"


def test_more_seats_go_to_those_who_wait_and_fewer_than_taken_are_refused(
        db, make_volunteer, app):
    first, second, third = people(make_volunteer, 3)
    ts = planned(db, course(db).id, capacity=1)
    for volunteer in (first, second, third):
        training.enrol(db, ts, volunteer)
    db.commit()
    data = SessionIn(course_id=ts.course_id, starts_at=datetime(2026, 11, 26, 10),
                     ends_at=datetime(2026, 11, 26, 13), place=ts.place, capacity=2)
    with app.app_context():
        training.update_session(db, ts, data)
        db.commit()
        assert [v.id for _e, v in training.roster(db, ts).enrolled] == [first.id, second.id]
        assert [to for _r, _c, to in ledger(db)] == [second.phone]
        with pytest.raises(training.TrainingError) as caught:
            training.update_session(db, ts, data.model_copy(update={"capacity": 1}))
    assert caught.value.field == "capacity"
