"""From LVĢMC documents to warnings and alerts: where a warning applies, what it
sends, and what it must never send (twice, after it ended, for elsewhere, a drill)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from sargs import clock
from sargs.channels.contacts import add_to_group, ensure_group, register_contact
from sargs.channels.models import Alert, Delivery, EscalationStep
from sargs.warnings import ingest, policies
from sargs.warnings.models import RejectedDocument, WarningNotice, WeatherWarning
from tests.channels.engine_helpers import resident
from tests.warnings.lvgmc import RIGA_WINTER, Doc

T0 = datetime(2026, 11, 24, 11, 0, tzinfo=RIGA_WINTER)  # the test clock starts at 12:00 Riga


@pytest.fixture
def people(db):
    """Residents of the city and of the municipality, and the commission's chain."""
    city = resident(db, "Anna", "+37120000001", areas=("LV022",), levels=("yellow", "orange", "red"))
    city_orange = resident(db, "Jānis", "+37120000002", areas=("LV022",), levels=("orange", "red"))
    county = resident(db, "Ilze", "+37120000003", areas=("LV023",), levels=("yellow", "orange", "red"))
    chain = {}
    for code, name, phone in (("commission-chair", "Priekšsēdētājs", "+37129000001"),
                              ("commission-deputy", "Vietnieks", "+37129000002"),
                              ("duty-officers", "Dežurants", "+37129000003")):
        member = register_contact(db, name, [("voice", phone), ("sms", phone)])
        add_to_group(db, ensure_group(db, code, code, "staff"), member)
        chain[code] = member.id
    db.commit()
    return {"city": city.id, "city_orange": city_orange.id, "county": county.id, "chain": chain}


def _handed_over(db) -> None:
    """As if the worker had handed every waiting row to its provider."""
    db.execute(update(Delivery).where(Delivery.state.in_(("pending", "held")))
               .values(state="sent", sent_at=clock.now()))
    db.commit()


def _warning(db) -> WeatherWarning:
    db.expire_all()
    return db.scalars(select(WeatherWarning)).one()


def _alerts(db) -> list[Alert]:
    db.expire_all()
    return list(db.scalars(select(Alert).order_by(Alert.id)))


def _told(db, alert_id: int) -> dict[int, str]:
    """contact id → channel of the alert's rows."""
    rows = db.scalars(select(Delivery).where(Delivery.alert_id == alert_id, Delivery.round == 0))
    return {row.contact_id: row.channel for row in rows}


def test_yellow_upgraded_to_orange_then_red_then_all_clear(app, db, feed, people, frozen_clock):
    yellow = Doc(101, T0, level=2)
    report = feed(yellow)
    assert report.as_json() == {"new": 1, "updated": 0, "ended": 0, "unchanged": 0, "rejected": []}
    warning = _warning(db)
    assert (warning.level, warning.state, warning.areas, warning.home_areas) == (
        "yellow", "active", ["LV022"], ["LV022"])
    [first] = _alerts(db)
    assert first.source == "warning" and first.level == "yellow" and first.state == "sending"
    lv = first.text_for("lv").body
    assert lv.startswith("DZELTENAIS vēja brīdinājums Jelgavā 24.11. 15:00–25.11. 06:00. "
                         "Potenciāli bīstami laikapstākļi.")
    assert "Avots: LVĢMC, meteoalarm.org" in lv
    assert first.text_for("en").body.startswith(
        "YELLOW wind warning in Jelgava 24.11. 15:00–25.11. 06:00. Potentially dangerous weather.")
    # Only those who asked for yellow, only in the city; the duty officer by policy.
    assert set(_told(db, first.id)) == {people["city"], people["chain"]["duty-officers"]}
    _handed_over(db)

    frozen_clock.advance(timedelta(minutes=30))
    orange = yellow.update(102, T0 + timedelta(minutes=30), level=3)
    assert feed(orange).updated == 1
    second = _alerts(db)[-1]
    assert second.level == "orange" and second.msg_type == "Alert"
    assert second.text_for("lv").body.startswith(
        "ORANŽAIS vēja brīdinājums Jelgavā 24.11. 15:00–25.11. 06:00. Bīstami laikapstākļi. "
        "Brīdinājums pastiprināts.")
    assert people["city_orange"] in _told(db, second.id)
    assert people["county"] not in _told(db, second.id)
    # The commission's chain: chair, deputy, duty officer, five minutes apart.
    assert second.ack_required and second.escalation["contacts"] == [
        people["chain"]["commission-chair"], people["chain"]["commission-deputy"],
        people["chain"]["duty-officers"]]
    assert db.scalar(select(EscalationStep.id).where(EscalationStep.alert_id == second.id))
    _handed_over(db)

    frozen_clock.advance(timedelta(minutes=30))
    red = orange.update(103, T0 + timedelta(hours=1), level=4)
    feed(red)
    third = _alerts(db)[-1]
    assert third.level == "red"
    assert third.text_for("en").body.startswith(
        "RED wind warning in Jelgava 24.11. 15:00–25.11. 06:00. Very dangerous weather. "
        "The warning is raised.")
    assert _warning(db).versions[-1].identifier == red.identifier
    assert len(_warning(db).versions) == 3
    _handed_over(db)

    frozen_clock.advance(timedelta(hours=1))
    clear = red.update(104, T0 + timedelta(hours=2), response_type="AllClear",
                       expires=T0 + timedelta(hours=2))
    report = feed(clear)
    assert report.ended == 1
    warning = _warning(db)
    assert (warning.state, warning.end_reason) == ("ended", "all_clear")
    ending = _alerts(db)[-1]
    assert ending.msg_type == "Update" and ending.references_id == third.id
    assert ending.text_for("lv").body.startswith("BEIDZIES vēja brīdinājums Jelgavā.")
    # Everyone told of any of the three alerts hears the all-clear once.
    told_any = set(_told(db, first.id)) | set(_told(db, second.id)) | set(_told(db, third.id))
    rows = db.scalars(select(Delivery).where(Delivery.alert_id == ending.id)).all()
    assert sorted(r.contact_id for r in rows) == sorted(told_any)


def test_the_same_document_twice_sends_nothing_more(app, db, feed, people, tmp_path):
    doc = Doc(201, T0, level=3)
    feed(doc)
    # The same file again answers "not modified"; the same document under another name
    # is known by its identifier.
    assert feed(doc).as_json() == {"new": 0, "updated": 0, "ended": 0, "unchanged": 0,
                                   "rejected": []}
    copy = tmp_path / "copy.xml"
    copy.write_bytes(doc.xml())
    db.rollback()
    again = ingest.ingest(app.extensions["sargs"].sessionmaker, [str(copy)],
                          app.extensions["sargs"].settings)
    assert again.as_json()["unchanged"] == 1 and again.new == 0
    assert len(_alerts(db)) == 1


def test_a_reissue_with_the_same_level_and_times_creates_nothing(db, feed, people, frozen_clock):
    doc = Doc(211, T0, level=3)
    feed(doc)
    _handed_over(db)
    frozen_clock.advance(timedelta(minutes=10))
    feed(doc.update(212, T0 + timedelta(minutes=10)))
    assert len(_alerts(db)) == 1
    # Moved times are news for those told.
    feed(doc.update(213, T0 + timedelta(minutes=20), expires=T0 + timedelta(hours=30)))
    update = _alerts(db)[-1]
    assert len(_alerts(db)) == 2 and update.msg_type == "Update"
    assert update.text_for("lv").body.startswith("ORANŽAIS vēja brīdinājums Jelgavā 24.11. 15:00–25.11. 17:00.")
    assert "Mainīts brīdinājuma laiks." in update.text_for("lv").body


def test_a_downgrade_is_an_update_to_those_already_told(db, feed, people, frozen_clock):
    orange = Doc(221, T0, level=3)
    feed(orange)
    first = _alerts(db)[0]
    _handed_over(db)
    frozen_clock.advance(timedelta(minutes=10))
    feed(orange.update(222, T0 + timedelta(minutes=10), level=2))
    update = _alerts(db)[-1]
    assert update.msg_type == "Update" and update.references_id == first.id
    assert update.text_for("lv").body.startswith("DZELTENAIS vēja brīdinājums Jelgavā")
    assert "Brīdinājums mazināts." in update.text_for("lv").body
    assert set(_told(db, update.id)) == set(_told(db, first.id))


@pytest.mark.parametrize("areas, home, affects", [
    (("LV023",), ["LV022"], False),   # Jelgava municipality's outline surrounds the city
    (("LV023",), ["LV022", "LV023"], True),
    (("LV039",), ["LV022", "LV023"], False),  # Riga only
    (("LV801",), ["LV022", "LV023"], False),  # a sea area
])
def test_where_a_warning_applies_is_decided_by_shape(app, db, feed, people, areas, home, affects):
    settings = app.extensions["sargs"].settings.model_copy(update={"home_areas": home})
    feed(Doc(301, T0, level=3, areas=areas), settings=settings)
    warning = _warning(db)
    assert warning.areas == list(areas)
    assert warning.affects_home is affects
    assert bool(_alerts(db)) is affects


def test_a_municipality_warning_reaches_municipality_residents_only(db, feed, people):
    feed(Doc(311, T0, level=2, areas=("LV023",)))
    [alert] = _alerts(db)
    assert alert.audience["public"] == {"areas": ["LV023"]}
    assert people["county"] in _told(db, alert.id) and people["city"] not in _told(db, alert.id)


def test_an_expired_warning_is_stored_and_never_sent(db, feed, people):
    feed(Doc(401, T0 - timedelta(days=1), onset=T0 - timedelta(days=1),
             expires=T0 - timedelta(hours=12)))
    assert _warning(db).state == "expired"
    assert _alerts(db) == []


@pytest.mark.parametrize("status", ["Test", "Exercise"])
def test_an_upstream_test_or_exercise_never_escalates(db, feed, people, status):
    feed(Doc(501, T0, level=4, status=status))
    assert _warning(db).cap_status == status
    assert _alerts(db) == []


def test_a_cancel_sends_the_all_clear(db, feed, people, frozen_clock):
    doc = Doc(601, T0, level=3)
    feed(doc)
    _handed_over(db)
    cancel = doc.update(602, T0 + timedelta(minutes=5))
    cancel.msg_type = "Cancel"
    frozen_clock.advance(timedelta(minutes=5))
    feed(cancel)
    assert (_warning(db).state, _warning(db).end_reason) == ("ended", "cancel")
    assert _alerts(db)[-1].text_for("en").body.startswith(
        "ENDED: the wind warning in Jelgava is no longer in force.")


def test_yellow_at_night_waits_for_seven_and_is_rechecked(app, db, feed, people, frozen_clock):
    from sargs.scheduler import run_tick

    frozen_clock.set(datetime(2026, 11, 24, 22, 30, tzinfo=RIGA_WINTER))
    night = datetime(2026, 11, 24, 22, 30, tzinfo=RIGA_WINTER)
    feed(Doc(701, night, level=2, onset=night + timedelta(hours=9),
             expires=night + timedelta(hours=20)))
    notice = db.scalars(select(WarningNotice)).one()
    assert notice.state == "held" and notice.due_at == datetime(2026, 11, 25, 7, 0, tzinfo=RIGA_WINTER)
    assert _alerts(db) == []
    # An admin edits the yellow policy at night: the held notice keeps what it was made under.
    yellow = next(p for p in policies.current_policies(db) if p.name == "yellow")
    policies.save(db, policies.PolicyInput(name="yellow", level="yellow",
                                           audience={"groups": [], "public": True},
                                           channels=["email"], quiet_hours=True), None)
    db.commit()
    assert notice.policy["version"] == yellow.version
    frozen_clock.set(datetime(2026, 11, 25, 7, 0, 5, tzinfo=RIGA_WINTER))
    db.rollback()  # SQLite: the tick writes; this session must not hold the lock
    with app.app_context():
        run_tick(app.extensions["sargs"].sessionmaker)
    [alert] = _alerts(db)
    assert alert.channels == ["telegram", "sms", "email"]  # the frozen policy, not the edit
    db.refresh(notice)
    assert notice.state == "sent" and notice.alert_id == alert.id


def test_a_held_yellow_that_expires_overnight_is_dropped(app, db, feed, people, frozen_clock):
    from sargs.scheduler import run_tick

    night = datetime(2026, 11, 24, 23, 0, tzinfo=RIGA_WINTER)
    frozen_clock.set(night)
    feed(Doc(711, night, level=2, onset=night, expires=night + timedelta(hours=5)))
    frozen_clock.set(datetime(2026, 11, 25, 7, 0, 5, tzinfo=RIGA_WINTER))
    db.rollback()
    with app.app_context():
        run_tick(app.extensions["sargs"].sessionmaker)
    notice = db.scalars(select(WarningNotice)).one()
    db.refresh(notice)
    assert (notice.state, notice.reason) == ("dropped", "expired")
    assert _warning(db).state == "expired"
    assert _alerts(db) == []


def test_orange_at_night_goes_at_once_and_replaces_a_held_yellow(db, feed, people, frozen_clock):
    night = datetime(2026, 11, 24, 23, 0, tzinfo=RIGA_WINTER)
    frozen_clock.set(night)
    yellow = Doc(721, night, level=2, onset=night, expires=night + timedelta(hours=10))
    feed(yellow)
    frozen_clock.advance(timedelta(hours=1))
    feed(yellow.update(722, night + timedelta(hours=1), level=3))
    notices = db.scalars(select(WarningNotice).order_by(WarningNotice.id)).all()
    assert [(n.kind, n.level, n.state) for n in notices] == [
        ("alert", "yellow", "dropped"), ("alert", "orange", "sent")]
    [alert] = _alerts(db)
    assert alert.level == "orange" and alert.state == "sending"


def test_a_rejected_document_changes_nothing_stored(db, feed, people, tmp_path, app):
    doc = Doc(801, T0, level=3)
    feed(doc)
    broken = tmp_path / "broken.xml"
    broken.write_bytes(doc.update(802, T0 + timedelta(minutes=1), level=4).xml()[:-200])
    db.rollback()
    report = ingest.ingest(app.extensions["sargs"].sessionmaker, [str(broken)],
                           app.extensions["sargs"].settings)
    assert report.rejected and "not well-formed" in report.rejected[0]["reason"]
    assert _warning(db).level == "orange" and len(_warning(db).versions) == 1
    assert db.scalar(select(RejectedDocument.reason)).startswith("not well-formed")
    assert len(_alerts(db)) == 1


def test_the_public_cap_of_a_warning_alert_carries_lvgmc_event_and_polygon(app, db, client, feed,
                                                                         people):
    from tests.warnings.test_cap_out import valid_cap

    feed(Doc(901, T0, level=4))
    _handed_over(db)
    [alert_id] = [alert.id for alert in _alerts(db)]
    db.rollback()
    answer = client.get(f"/cap/alerts/{alert_id}.xml")
    assert answer.status_code == 200 and answer.mimetype == "application/cap+xml"
    doc = valid_cap(answer.data)  # the OASIS schema and the rules it cannot express
    lv = next(info for info in doc.infos if info.language == "lv")
    assert lv.event == "Sarkanais vēja brīdinājums" and lv.severity == "Extreme"
    assert dict(lv.parameters)["awareness_type"] == "1; wind"
    assert any(area.polygons for area in lv.areas)
    assert doc.sent.utcoffset() == timedelta(hours=2)


def test_orange_calls_the_chain_until_someone_acknowledges(app, db, feed, people, frozen_clock):
    from sargs.channels import acks
    from sargs.scheduler import run_tick

    def tick() -> None:
        db.rollback()
        with app.app_context():
            run_tick(app.extensions["sargs"].sessionmaker)

    feed(Doc(951, T0, level=3))
    [alert_id] = [alert.id for alert in _alerts(db)]
    chair, deputy = people["chain"]["commission-chair"], people["chain"]["commission-deputy"]
    frozen_clock.advance(timedelta(minutes=5, seconds=1))
    tick()  # nobody acknowledged: the chair is called
    frozen_clock.advance(timedelta(minutes=5))
    tick()  # … then the deputy
    called = db.scalars(select(Delivery.contact_id).where(
        Delivery.alert_id == alert_id, Delivery.round == 1).order_by(Delivery.id)).all()
    assert list(dict.fromkeys(called)) == [chair, deputy]
    voice = db.scalars(select(Delivery).where(Delivery.alert_id == alert_id,
                                              Delivery.contact_id == deputy,
                                              Delivery.channel == "voice")).first()
    acks.acknowledge(db, delivery_id=voice.id, via="voice")
    db.commit()
    frozen_clock.advance(timedelta(minutes=30))
    tick()
    steps = db.scalars(select(EscalationStep).where(EscalationStep.alert_id == alert_id)).all()
    assert {s.state for s in steps if s.round == 1 and s.position == 2} == {"stopped"}
    assert not [s for s in steps if s.state == "waiting"]


@pytest.mark.parametrize("level, areas, type_code", [
    (3, ("LV022",), 1), (4, ("LV023",), 10), (4, ("LV022", "LV023"), 10),
])
def test_the_first_sms_segment_of_orange_and_red_carries_the_essentials(db, feed, people, level,
                                                                        areas, type_code):
    from sargs.channels.texts import sms_segments

    feed(Doc(961, T0, level=level, areas=areas, type_code=type_code))
    body = _alerts(db)[0].text_for("lv").body
    assert sms_segments(body)[1] == "UCS-2"
    first_segment = body[:67]  # a concatenated UCS-2 segment holds 67 characters
    place = {("LV022",): "Jelgavā", ("LV023",): "Jelgavas novadā",
             ("LV022", "LV023"): "Jelgavā un novadā"}[areas]
    colour = {3: "ORANŽAIS", 4: "SARKANAIS"}[level]
    hazard = {1: "vēja", 10: "lietus"}[type_code]
    for essential in (colour, hazard, place, "25.11. 06:00."):
        assert essential in first_segment
    assert first_segment.startswith(colour)
