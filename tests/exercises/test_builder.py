"""The exercise builder's rules on the service: an exercise with objectives on a plan's
critical services, participants reached through the contact registry, the inject list
with every bad field named, warning injects checked as CAP 1.2, the library, "ready",
and the inject list as CSV (all lines or none)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sargs import clock
from sargs.audit.models import AuditEntry
from sargs.channels.models import Contact
from sargs.csv_import import ImportRefused
from sargs.exercises import builder
from sargs.exercises.builder_schemas import (
    ExerciseIn,
    FromLibraryIn,
    InjectIn,
    LibraryIn,
    ObjectiveIn,
    ParticipantIn,
)
from sargs.exercises.models import ContinuityPlan, CriticalService, Exercise
from sargs.web.forms import InputError, validate
from tests.warnings.lvgmc import Doc

STORM = {"kind": "tabletop", "title": "Vētra un elektroapgādes traucējumi Jelgavā",
         "scheduled_at": "2026-12-10T09:00", "duration_minutes": "120",
         "scenario": "Sarkanais vēja brīdinājums Zemgalē."}


@pytest.fixture
def ctx(app: Any) -> Any:
    with app.test_request_context():
        yield


@pytest.fixture
def school_service(db: Any) -> CriticalService:
    """A school's plan with one critical service, made directly on the models."""
    now = clock.now()
    plan = ContinuityPlan(organisation="Jelgavas 4. vidusskola", title="DNP", version="1.0",
                          owner="direktore", created_at=now, updated_at=now)
    plan.services = [CriticalService(name="Apkure", recovery_time_hours=4)]
    db.add(plan)
    db.commit()
    return plan.services[0]


@pytest.fixture
def exercise(db: Any, ctx: Any) -> Exercise:
    found = builder.create_exercise(db, validate(ExerciseIn, STORM))
    db.commit()
    return found


def _participant(db: Any, exercise: Exercise, **fields: Any) -> Any:
    values = {"kind": "participant", "name": "Jānis Ozols", "organisation": "Jelgavas dome",
              "role": "komisijas priekšsēdētājs", **fields}
    found = builder.add_participant(db, exercise, validate(ParticipantIn, values))
    db.commit()
    return found


def _inject(db: Any, exercise: Exercise, **fields: Any) -> Any:
    values = {"offset": "0:10", "channel": "sms", "sender": "LVĢMC",
              "recipient_role": "komisijas priekšsēdētājs", "text": "Sarkanais brīdinājums",
              **fields}
    found = builder.add_inject(db, exercise, validate(InjectIn, values))
    db.commit()
    return found


def _field_of(db: Any, exercise: Exercise, **fields: Any) -> str:
    with pytest.raises((builder.BuilderError, InputError)) as caught:
        _inject(db, exercise, **fields)
    db.rollback()
    error = caught.value
    return error.field if isinstance(error, builder.BuilderError) else next(iter(error.errors))


def test_an_exercise_is_scheduled_in_riga_time_and_stored_in_utc(db, exercise, ctx):
    assert exercise.scheduled_at == datetime(2026, 12, 10, 7, 0, tzinfo=UTC)
    assert (exercise.state, exercise.duration_minutes) == ("draft", 120)
    with pytest.raises(InputError) as caught:
        validate(ExerciseIn, {**STORM, "kind": "party", "title": " ", "duration_minutes": "5"})
    assert set(caught.value.errors) == {"kind", "title", "duration_minutes"}
    builder.update_exercise(db, exercise, validate(ExerciseIn, {**STORM, "title": "Vētra"}))
    db.commit()
    assert exercise.title == "Vētra"


def test_exercises_are_listed_upcoming_first(db, ctx, frozen_clock):
    for title, when in (("Pagājušās", "2026-01-05T10:00"), ("Vēlāk", "2027-03-01T10:00"),
                        ("Drīz", "2026-11-30T10:00")):
        builder.create_exercise(db, validate(ExerciseIn, {**STORM, "title": title,
                                                          "scheduled_at": when}))
    db.commit()
    assert [e.title for e in builder.list_exercises(db)] == ["Drīz", "Vēlāk", "Pagājušās"]
    frozen_clock.advance(timedelta(days=10))
    assert [e.title for e in builder.list_exercises(db)] == ["Vēlāk", "Drīz", "Pagājušās"]


def test_objectives_name_a_critical_service_or_a_capability(db, exercise, school_service, ctx):
    builder.add_objective(db, exercise, validate(ObjectiveIn, {
        "text": "Apkure atjaunota 4 stundās", "service_id": str(school_service.id)}))
    builder.add_objective(db, exercise, validate(ObjectiveIn, {
        "text": "Komisija sasaukta 30 minūtēs", "service_id": "", "capability": "vadība"}))
    db.commit()
    first, second = exercise.objectives
    assert builder.service_choices(db) == [(school_service.id, "Jelgavas 4. vidusskola — Apkure")]
    assert builder.objective_label(db, first) == "Jelgavas 4. vidusskola — Apkure"
    assert builder.objective_label(db, second) == "vadība"
    with pytest.raises(builder.BuilderError) as caught:
        builder.add_objective(db, exercise, ObjectiveIn(text="x", service_id=9999))
    assert caught.value.field == "service_id"


def test_a_participants_addresses_become_an_exercises_contact(db, exercise, ctx, caplog):
    person = _participant(db, exercise, phone="20 000 001", email="Janis@Example.lv",
                          telegram="123456", pbx="7001")
    contact = db.get(Contact, person.contact_id)
    assert contact.owner == "exercises"
    assert {(a.channel, a.address) for a in contact.addresses} == {
        ("sms", "+37120000001"), ("voice", "+37120000001"), ("email", "janis@example.lv"),
        ("telegram", "123456"), ("pbx", "7001")}
    staff_only = _participant(db, exercise, name="Ilze", kind="controller")
    assert staff_only.contact_id is None
    for field, value in (("phone", "12"), ("email", "nav-adrese"), ("telegram", "@janis"),
                         ("pbx", "7001\nAction: Logoff")):
        with pytest.raises(builder.BuilderError) as caught:
            _participant(db, exercise, **{field: value})
        assert caught.value.field == field
        db.rollback()
    # Nobody's address goes into the log or the audit trail.
    assert "20000001" not in caplog.text and "janis@example.lv" not in caplog.text
    audit = " ".join(str(e.after) + str(e.before) for e in db.scalars(select(AuditEntry)))
    assert "Jānis Ozols" not in audit


def test_a_participant_is_changed_and_removed_with_their_contact(db, exercise, ctx):
    person = _participant(db, exercise, phone="+37120000001")
    builder.update_participant(db, exercise, person, validate(ParticipantIn, {
        "kind": "evaluator", "name": "Jānis Ozols", "email": "janis@example.lv"}))
    db.commit()
    contact = db.get(Contact, person.contact_id)
    assert person.kind == "evaluator"
    assert [(a.channel, a.address) for a in contact.addresses] == [("email", "janis@example.lv")]
    assert builder.participant_values(db, person)["email"] == "janis@example.lv"
    builder.remove_participant(db, exercise, person)
    db.commit()
    assert exercise.participants == [] and contact.active is False


def test_injects_are_numbered_sorted_by_time_and_each_bad_field_named(db, exercise, ctx):
    person = _participant(db, exercise)
    first = _inject(db, exercise, offset="1:30")
    second = _inject(db, exercise, offset="15", channel="email",
                     recipient_role="", participant_id=str(person.id))
    assert (first.number, first.offset_s, second.number, second.offset_s) == (1, 5400, 2, 900)
    assert [i.number for i in builder.timeline(exercise)] == [2, 1]  # the timeline, by offset
    assert _field_of(db, exercise, number="1") == "number"
    assert _field_of(db, exercise, offset="2:01") == "offset"  # the exercise lasts 2:00
    assert _field_of(db, exercise, offset="soon") == "offset"
    assert _field_of(db, exercise, channel="fax") == "channel"
    assert _field_of(db, exercise, recipient_role="") == "recipient_role"
    assert _field_of(db, exercise, participant_id=str(person.id)) == "recipient_role"
    assert _field_of(db, exercise, recipient_role="", participant_id="9999") == "participant_id"
    assert _field_of(db, exercise, objective_id="9999") == "objective_id"
    assert _field_of(db, exercise, text="") == "text"
    assert [i.number for i in builder.timeline(exercise)] == [2, 1]
    with pytest.raises(builder.BuilderError) as caught:
        builder.update_exercise(db, exercise, validate(ExerciseIn, {
            **STORM, "duration_minutes": "60"}))
    assert caught.value.field == "duration_minutes"
    db.rollback()

    builder.update_inject(db, exercise, first, validate(InjectIn, {
        **builder.inject_values(first), "offset": "0:05", "text": "Vēja brāzmas 30 m/s"}))
    db.commit()
    assert [(i.number, i.text) for i in builder.timeline(exercise)][0] == (1, "Vēja brāzmas 30 m/s")
    builder.remove_inject(db, exercise, second)
    db.commit()
    assert builder.next_number(exercise) == 2


def test_a_warning_inject_carries_a_cap_12_document(db, exercise, ctx):
    red = Doc(1, datetime(2026, 11, 24, 8, 0, tzinfo=UTC), level=4).xml().decode()
    inject = _inject(db, exercise, channel="warning", recipient_role="", cap_document=red)
    assert inject.cap_document == red
    assert _field_of(db, exercise, channel="warning", recipient_role="") == "cap_document"
    not_cap = '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"><identifier>x</identifier></alert>'
    assert _field_of(db, exercise, channel="warning", cap_document=not_cap) == "cap_document"
    bomb = ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx">]>'
            '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&x;</alert>')
    assert _field_of(db, exercise, channel="warning", cap_document=bomb) == "cap_document"
    # Other channels keep no CAP document.
    assert _inject(db, exercise, cap_document=red).cap_document is None


def test_an_inject_goes_to_the_library_and_into_another_exercise(db, exercise, ctx):
    original = _inject(db, exercise, expected_action="Sasaukt komisiju")
    entry = builder.save_to_library(db, original, validate(LibraryIn, {
        "title": "Sarkanais brīdinājums", "tags": "vējš, LVĢMC"}))
    db.commit()
    assert entry.tags == ["vējš", "LVĢMC"] and builder.library(db) == [entry]
    other = builder.create_exercise(db, validate(ExerciseIn, {**STORM, "title": "Otrās"}))
    copy = builder.add_from_library(db, other, validate(FromLibraryIn, {
        "library_id": str(entry.id), "offset": "0:20"}))
    db.commit()
    assert (copy.number, copy.offset_s, copy.text, copy.expected_action, copy.recipient_role) == (
        1, 1200, original.text, "Sasaukt komisiju", original.recipient_role)
    with pytest.raises(builder.BuilderError) as caught:
        builder.add_from_library(db, other, FromLibraryIn(library_id=999, offset=0))
    assert caught.value.field == "library_id"


def test_ready_needs_a_participant_and_an_inject_and_a_change_makes_a_draft(db, exercise, ctx):
    with pytest.raises(builder.BuilderError) as caught:
        builder.mark_ready(db, exercise)
    assert caught.value.field == "participants"
    _participant(db, exercise)
    with pytest.raises(builder.BuilderError) as caught:
        builder.mark_ready(db, exercise)
    assert caught.value.field == "injects"
    _inject(db, exercise)
    builder.mark_ready(db, exercise)
    db.commit()
    assert exercise.state == "ready"
    _inject(db, exercise, offset="0:30")
    assert exercise.state == "draft"
    exercise.state = "running"
    with pytest.raises(builder.BuilderError) as caught:
        _inject(db, exercise, offset="0:40")
    assert caught.value.field == "exercise"


CSV = ("number;offset;channel;sender;recipient_role;text;expected_action\n"
       "1;0:00;page;LVĢMC;komisija;Sarkanais vēja brīdinājums;Sasaukt komisiju\n"
       ";20;sms;Sadales tīkls;skolas direktore;Skolā nav elektrības;Ziņot patversmes vadītājam\n")


def test_the_inject_list_round_trips_as_csv(db, exercise, ctx):
    assert builder.import_csv(db, exercise, ("\ufeff" + CSV).encode()) == 2
    db.commit()
    assert [(i.number, i.offset_s, i.channel) for i in builder.timeline(exercise)] == [
        (1, 0, "page"), (2, 1200, "sms")]
    text = builder.export_csv(exercise)
    assert text.splitlines()[0] == ",".join(builder.CSV_COLUMNS)
    assert text.splitlines()[2] == ("2,0:20,sms,Sadales tīkls,skolas direktore,"
                                    "Skolā nav elektrības,Ziņot patversmes vadītājam")
    other = builder.create_exercise(db, validate(ExerciseIn, {**STORM, "title": "Kopija"}))
    builder.import_csv(db, other, text.encode())
    db.commit()
    assert builder.export_csv(other) == text


def test_a_bad_csv_adds_nothing_and_names_each_line_and_field(db, exercise, ctx):
    _inject(db, exercise)  # number 1 is taken
    bad = ("number,offset,channel,sender,recipient_role,text,expected_action\n"
           "1,0:05,sms,LVĢMC,komisija,Teksts,\n"
           "5,3:00,sms,LVĢMC,komisija,Teksts,\n"
           "6,0:10,fax,LVĢMC,komisija,,\n"
           "7,0:10,email,LVĢMC,,Teksts,\n"
           "8,0:10,sms\n"
           "9,0:15,sms,LVĢMC,komisija,Labs,\n")
    with pytest.raises(ImportRefused) as caught:
        builder.import_csv(db, exercise, bad.encode())
    db.rollback()
    assert {(p.line, p.field) for p in caught.value.problems} == {
        (2, "number"), (3, "offset"), (4, "channel"), (4, "text"), (5, "recipient_role"),
        (6, "line")}
    assert [i.number for i in exercise.injects] == [1]
    with pytest.raises(ImportRefused) as caught:
        builder.import_csv(db, exercise, b"nr,offset,text\n1,0:00,x\n")
    assert {p.field for p in caught.value.problems} == {"nr", "channel"}
