"""Sargs' own alerts as CAP 1.2: every emitted document is schema-valid, obeys the rules the
schema cannot express and reads back unchanged; the public feed carries Actual public alerts
and their follow-ups only."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from sargs import clock
from sargs.areas.service import create_neighbourhood
from sargs.channels import alerts, notices
from sargs.channels.models import Delivery
from sargs.warnings import cap, cap_out
from sargs.warnings.cap import Area, CapDocument, Info, Reference
from sargs.warnings.cap_out import CapRuleError, check_rules, emit
from tests.channels.engine_helpers import exercise_activation, public_orange

SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "data" / "CAP-v1.2.xsd")
SENDER = "sargs@jelgava.lv"


def valid_cap(data: bytes) -> CapDocument:
    """The document checked against the OASIS schema and the rules, as parsed."""
    SCHEMA.validate(data.decode("utf-8"))
    doc = cap.parse(data)
    check_rules(doc)
    return doc


# --- generated documents --------------------------------------------------------------

offsets = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=3)),
                           timezone(timedelta(hours=-5, minutes=-30)),
                           timezone(timedelta(hours=14))])
times = st.builds(lambda moment, zone: moment.replace(tzinfo=zone),
                  st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1)).map(
                      lambda moment: moment.replace(microsecond=0)), offsets)
identities = st.text(string.ascii_letters + string.digits + ".-_@:/", min_size=1, max_size=30)
# Any text XML carries: no control characters but LF and TAB, no surrogates or non-characters.
texts = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")) | st.sampled_from("\n\t"),
                min_size=1, max_size=40).map(str.strip).filter(bool)
optional_texts = st.none() | texts
latitudes = st.floats(-90, 90, allow_nan=False)
longitudes = st.floats(-180, 180, allow_nan=False)
rings = st.lists(st.tuples(latitudes, longitudes), min_size=3, max_size=8).map(
    lambda points: tuple(points) + (points[0],))
areas = st.builds(Area, area_desc=texts, polygons=st.lists(rings, max_size=2).map(tuple),
                  geocodes=st.lists(st.tuples(texts, texts), max_size=2).map(tuple))
LEVELS = {2: ("yellow", "Moderate"), 3: ("orange", "Severe"), 4: ("red", "Extreme")}


@st.composite
def infos(draw: st.DrawFn) -> Info:
    level = draw(st.none() | st.sampled_from(sorted(LEVELS)))
    kind = draw(st.none() | st.sampled_from([1, 4, 13, 14]))
    parameters = draw(st.lists(st.tuples(texts.filter(lambda n: not n.startswith("awareness")),
                                         st.just("") | texts), max_size=2))
    if level is not None:
        parameters.append(("awareness_level", f"{level}; {LEVELS[level][0]}; {LEVELS[level][1]}"))
    if kind is not None:
        parameters.append(("awareness_type", f"{kind}; label"))
    return Info(
        language=draw(st.sampled_from(["lv", "en-GB", "en-US", "fr-FR", "ru"])),
        categories=tuple(draw(st.lists(st.sampled_from(cap_out.CATEGORIES), min_size=1,
                                       max_size=2))),
        event=draw(texts),
        urgency=draw(st.sampled_from(cap_out.URGENCIES)),
        severity=draw(st.sampled_from(cap_out.SEVERITIES)),
        certainty=draw(st.sampled_from(cap_out.CERTAINTIES)),
        response_types=tuple(draw(st.lists(st.sampled_from(cap_out.RESPONSE_TYPES),
                                           max_size=2))),
        effective=draw(st.none() | times), onset=draw(st.none() | times), expires=draw(times),
        sender_name=draw(optional_texts), headline=draw(optional_texts),
        description=draw(optional_texts), instruction=draw(optional_texts),
        web=draw(st.none() | st.sampled_from(["https://www.jelgava.lv/", "http://x.lv/a?b=1"])),
        contact=draw(optional_texts),
        awareness_level=level,
        awareness_colour=LEVELS[level][0] if level is not None else None,
        awareness_type=kind,
        awareness_type_name=cap.TYPE_CODES.get(kind) if kind is not None else None,
        parameters=tuple(parameters),
        areas=tuple(draw(st.lists(areas, max_size=2))),
    )


@st.composite
def documents(draw: st.DrawFn) -> CapDocument:
    msg_type = draw(st.sampled_from(cap.MSG_TYPES))
    follows = msg_type in ("Update", "Cancel")
    needs_info = msg_type in ("Alert", "Update")
    return CapDocument(
        identifier=draw(identities), sender=draw(identities), sent=draw(times),
        status=draw(st.sampled_from(cap.STATUSES)), msg_type=msg_type,
        scope=draw(st.sampled_from(cap.SCOPES)),
        references=tuple(draw(st.lists(st.builds(Reference, identities, identities, times),
                                       min_size=1 if follows else 0, max_size=3))),
        infos=tuple(draw(st.lists(infos(), min_size=1 if needs_info else 0, max_size=3))),
    )


@settings(max_examples=150, deadline=None)
@given(documents())
def test_every_valid_document_is_schema_valid_and_reads_back_unchanged(doc):
    # The schema's time pattern also holds every time to seconds and an explicit offset.
    assert valid_cap(emit(doc)) == doc


# --- the rules the schema cannot express -------------------------------------------------

SENT = datetime(2026, 11, 24, 12, 0, tzinfo=timezone(timedelta(hours=2)))
SQUARE = ((56.6, 23.7), (56.6, 23.8), (56.7, 23.8), (56.7, 23.7), (56.6, 23.7))


def _doc(**changes) -> CapDocument:
    info = Info(language="lv", categories=("Safety",), event="Brīdinājums",
                urgency="Immediate", severity="Severe", certainty="Observed", response_types=(),
                effective=None, onset=None, expires=SENT + timedelta(hours=6), sender_name=None,
                headline=None, description="Stiprs vējš.", instruction=None, web=None,
                contact=None, awareness_level=None, awareness_colour=None, awareness_type=None,
                awareness_type_name=None, parameters=(),
                areas=(Area("Jelgava", (changes.pop("ring", SQUARE),), (("EMMA_ID", "LV022"),)),))
    values = dict(identifier=f"{SENDER}.1", sender=SENDER, sent=SENT, status="Actual",
                  msg_type="Alert", scope="Public", references=(), infos=(info,))
    values.update(changes)
    return CapDocument(**values)


@pytest.mark.parametrize(("changes", "field"), [
    ({"ring": SQUARE[:-1]}, "info 1 area 1 polygon"),  # open
    ({"ring": (SQUARE[0], SQUARE[1], SQUARE[0])}, "info 1 area 1 polygon"),  # 3 points
    ({"sent": SENT.replace(tzinfo=None)}, "sent"),
    ({"sent": SENT.replace(microsecond=5)}, "sent"),
    ({"identifier": "sargs 1"}, "identifier"),
    ({"msg_type": "Cancel"}, "references"),
    ({"msg_type": "Update", "references": (Reference("a,b", "1", SENT),)},
     "references 1 sender"),
    ({"references": (Reference(SENDER, "1", SENT.replace(tzinfo=None)),)}, "references 1 sent"),
])
def test_emit_refuses_a_document_breaking_a_rule_and_names_where(changes, field):
    with pytest.raises(CapRuleError) as refused:
        emit(_doc(**changes))
    assert refused.value.field == field


def test_times_keep_their_offset_and_utc_is_written_minus_zero():
    data = emit(_doc(sent=datetime(2026, 11, 24, 10, 0, tzinfo=UTC)))
    assert b"<sent>2026-11-24T10:00:00-00:00</sent>" in data
    assert b"<expires>2026-11-24T18:00:00+02:00</expires>" in data
    assert b"<polygon>56.6,23.7 56.6,23.8 56.7,23.8 56.7,23.7 56.6,23.7</polygon>" in data


# --- Sargs alerts ------------------------------------------------------------------------


@pytest.fixture
def staff(users):
    """An operator who writes alerts and a commission member who approves them."""
    return users.create("olga", "operator"), users.create("karlis", "commission")


def _sent(db, staff, draft):
    """The alert approved as its rules ask and moved to sending (no channel configured)."""
    author, approver = staff
    alert = alerts.create_alert(db, draft, author.id)
    alerts.submit(db, alert, author.id)
    if alert.state == "awaiting_approval":
        alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
    alerts.start_sending(db, alert, set())
    db.commit()
    return alert


def _told_someone(db, alert) -> None:
    """A resident got it (as if the SMS had been handed to the provider)."""
    db.execute(update(Delivery).where(Delivery.alert_id == alert.id).values(state="sent"))


@pytest.fixture
def chain(db, staff, resident_of_jelgava):
    """A public orange alert, its correction, and the cancel of that correction."""
    author, approver = staff
    original = _sent(db, staff, public_orange(
        audience={"public": {"areas": ["LV022", "LV023"]}}))
    correction = notices.correct(db, original, {"lv": "Stiprs vējš līdz 18:00.",
                                                "en": "Strong wind until 18:00."},
                                 author.id, configured=set()).follow_up
    alerts.approve(db, correction, approver.id, {"commission"}, clock.now())
    alerts.start_sending(db, correction, set())
    _told_someone(db, correction)
    cancel = notices.cancel(db, correction, author.id, configured=set()).follow_up
    db.commit()
    return original, correction, cancel


@pytest.fixture
def resident_of_jelgava(db):
    from tests.channels.engine_helpers import resident

    resident(db, "Ilze", "+37120000701")
    db.commit()


def test_an_alert_its_correction_and_its_cancel_are_valid_cap_in_a_chain(app, db, chain):
    original, correction, cancel = chain
    config = app.extensions["sargs"].settings
    docs = [valid_cap(emit(cap_out.alert_document(db, alert, config))) for alert in chain]
    first, update_doc, cancel_doc = docs
    assert [d.msg_type for d in docs] == ["Alert", "Update", "Cancel"]
    assert {d.status for d in docs} == {"Actual"} and {d.scope for d in docs} == {"Public"}
    assert first.identifier == f"{SENDER}.{original.id}" and first.references == ()
    # In Riga's winter time, with its offset, to the second.
    assert first.sent == datetime(2026, 11, 24, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert first.sent.utcoffset() == timedelta(hours=2)
    as_reference = Reference(SENDER, first.identifier, first.sent)
    assert update_doc.references == (as_reference,)
    assert cancel_doc.references == (
        as_reference, Reference(SENDER, update_doc.identifier, update_doc.sent))
    lv, en = first.infos
    assert (lv.language, en.language) == ("lv", "en-GB")
    assert (lv.event, en.event) == ("Oranžais brīdinājums", "Orange warning")
    assert (lv.severity, lv.certainty, lv.urgency, lv.category) == (
        "Severe", "Observed", "Immediate", "Safety")
    assert dict(lv.parameters)["awareness_level"] == "3; orange; Severe"
    assert (lv.awareness_level, lv.awareness_colour) == (3, "orange")
    assert lv.sender_name == "Jelgavas valstspilsētas pašvaldība"
    assert en.sender_name == "Jelgava State City Municipality"
    assert lv.description == original.text_for("lv").body
    assert lv.expires == first.sent + timedelta(hours=24)
    assert [(a.area_desc, a.geocodes) for a in lv.areas] == [
        ("Jelgavas pilsēta", (("EMMA_ID", "LV022"),)),
        ("Jelgavas novads", (("EMMA_ID", "LV023"),))]
    # The follow-ups speak for the original's areas, not for "those already told".
    assert update_doc.infos[0].areas == lv.areas == cancel_doc.infos[0].areas


def test_the_feed_links_each_published_document(client, db, chain):
    feed = feedparser.parse(client.get("/cap/alerts.atom").data)
    response = client.get("/cap/alerts.atom")
    assert response.mimetype == "application/atom+xml"
    assert not feed.bozo
    links = [next(link.href for link in entry.links if link.type == "application/cap+xml")
             for entry in feed.entries]
    assert links == [f"http://127.0.0.1:8787/cap/alerts/{alert.id}.xml"
                     for alert in reversed(chain)]  # newest first
    for link, alert in zip(links, reversed(chain), strict=True):
        document = client.get(link.removeprefix("http://127.0.0.1:8787"))
        assert document.status_code == 200
        assert document.mimetype == "application/cap+xml"
        assert valid_cap(document.data).identifier == f"{SENDER}.{alert.id}"
    assert feed.entries[-1].title == "Oranžais brīdinājums: stiprs vējš Jelgavā."
    assert feed.entries[-1].published_parsed[:5] == (2026, 11, 24, 10, 0)


def test_drills_staff_alerts_and_drafts_are_never_published(app, client, db, staff):
    activation = exercise_activation(db)
    drill = _sent(db, staff, public_orange(cap_status="Exercise", activation_id=activation.id))
    test = _sent(db, staff, public_orange(cap_status="Test"))
    staff_only = _sent(db, staff, public_orange(source="warning",
                                                audience={"groups": ["commission"]}))
    draft = alerts.create_alert(db, public_orange(), None)
    real = _sent(db, staff, public_orange(source="warning"))
    db.commit()
    feed = feedparser.parse(client.get("/cap/alerts.atom").data)
    assert [entry.id for entry in feed.entries] == [
        f"http://127.0.0.1:8787/cap/alerts/{real.id}.xml"]
    for hidden in (drill, test, staff_only, draft):
        assert client.get(f"/cap/alerts/{hidden.id}.xml").status_code == 404
    assert client.get("/cap/alerts/99999.xml").status_code == 404
    assert [a.id for a in cap_out.published_alerts(db)] == [real.id]


def test_a_neighbourhood_is_sent_as_its_closed_simplified_outline(app, db, staff):
    ring = [[23.70, 56.64], [23.72, 56.64], [23.72, 56.66], [23.71, 56.661], [23.70, 56.66],
            [23.70, 56.64]]
    create_neighbourhood(db, "CENTRS", "Centrs", {"type": "Polygon", "coordinates": [ring]})
    alert = _sent(db, staff, public_orange(source="warning", level="red",
                                                   audience={"public": {"areas": ["CENTRS"]}}))
    doc = valid_cap(emit(cap_out.alert_document(db, alert, app.extensions["sargs"].settings)))
    (area,) = doc.infos[0].areas
    assert (area.area_desc, area.geocodes) == ("Centrs", (("SARGS_AREA", "CENTRS"),))
    (outline,) = area.polygons
    assert outline[0] == outline[-1] and 4 <= len(outline) <= len(ring)
    assert (56.64, 23.7) in outline and (56.66, 23.72) in outline
    assert doc.infos[0].category == "Met" and doc.infos[0].severity == "Extreme"
    assert doc.infos[0].certainty == "Likely"


def test_details_from_the_source_warning_join_the_document(app, db, staff):
    alert = _sent(db, staff, public_orange(source="warning", expires_at=None))
    onset = clock.now() + timedelta(hours=3, microseconds=7)
    details = cap_out.SourceDetails(
        events={"lv": "Oranžais vēja brīdinājums", "en-GB": "Orange wind warning"},
        onset=onset, awareness_type="1; Wind",
        areas=(Area("Jelgavas novads", (SQUARE,), ()),))
    doc = valid_cap(emit(cap_out.alert_document(db, alert, app.extensions["sargs"].settings,
                                                details)))
    lv, en = doc.infos
    assert (lv.event, en.event) == ("Oranžais vēja brīdinājums", "Orange wind warning")
    assert (lv.urgency, lv.onset) == ("Expected", onset.replace(microsecond=0))
    assert (lv.awareness_type, lv.awareness_type_name) == (1, "wind")
    assert lv.areas[-1].polygons == (SQUARE,)


@pytest.fixture
def everywhere(db):
    """A subscriber of every area and level, so every alert tells someone."""
    from tests.channels.engine_helpers import resident

    resident(db, "Ieva", "+37120000702", areas=("LV022", "LV023", "LV003", "LV801"),
             levels=("yellow", "orange", "red"))
    db.commit()


# Alert texts people could type: letters of both languages, digits, punctuation that XML
# escapes, and line breaks; nothing the alert rules refuse (control characters).
alert_texts = st.text(string.ascii_letters + string.digits + " .,:;!?-–()/%&<>\"'\nāčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽ",
                      min_size=1, max_size=200).map(str.strip).filter(bool)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(level=st.sampled_from([None, "yellow", "orange", "red"]), lv=alert_texts, en=alert_texts,
       areas=st.lists(st.sampled_from(["LV022", "LV023", "LV003", "LV801"]), min_size=1,
                      max_size=3, unique=True),
       follow_up=st.sampled_from([None, "correct", "cancel"]),
       expires_in=st.none() | st.integers(1, 72 * 60))
def test_every_generated_alert_update_and_cancel_is_valid_cap(app, db, staff, everywhere, level, lv,
                                                               en, areas, follow_up, expires_in):
    author, approver = staff
    expires = clock.now() + timedelta(minutes=expires_in) if expires_in else None
    alert = _sent(db, staff, public_orange(level=level, texts={"lv": lv, "en": en},
                                           audience={"public": {"areas": areas}},
                                           expires_at=expires))
    _told_someone(db, alert)
    chain_ = [alert]
    if follow_up == "correct":
        fixed = notices.correct(db, alert, {"lv": en, "en": lv}, author.id, configured=set())
        alerts.approve(db, fixed.follow_up, approver.id, {"commission"}, clock.now())
        chain_.append(fixed.follow_up)
    elif follow_up == "cancel":
        chain_.append(notices.cancel(db, alert, author.id, configured=set()).follow_up)
    db.commit()
    config = app.extensions["sargs"].settings
    for member in chain_:
        doc = valid_cap(emit(cap_out.alert_document(db, member, config)))
        assert doc.status == "Actual" and doc.msg_type == member.msg_type
        assert {info.description for info in doc.infos} == {t.body for t in member.texts}
        assert {code for info in doc.infos for a in info.areas for _, code in a.geocodes} == \
            set(areas)
