"""Properties of the alert rules, over whatever Hypothesis tries, through the real
service functions against the test database:

* no manual Actual alert to the public reaches sending (or writes a single
  ledger row) without a second, distinct, authorised approver with a fresh
  second factor — whatever sequence of submit / approve / reject / send /
  cancel, by whoever, comes first;
* an Exercise or Test alert resolves only to its explicitly named
  participants, and every text of it — every text any row would send — starts
  with the drill's mark word.
"""

from __future__ import annotations

import re
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sargs import clock
from sargs.channels import alerts, audience, texts
from sargs.channels.models import Alert, AlertEvent, Contact, Delivery
from tests.channels.engine_helpers import (
    commission_member,
    exercise_activation,
    public_orange,
    resident,
)

PROPERTY = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
ALL_CHANNELS = {"sms", "voice", "telegram", "email"}
ROLES = ["commission", "admin", "operator", "trainer", "auditor"]

# One step of what people do with an alert: (action, who, roles claimed, minutes since 2FA).
steps = st.lists(st.tuples(
    st.sampled_from(["submit", "approve", "reject", "send", "cancel"]),
    st.sampled_from(["author", "colleague", "third"]),
    st.sets(st.sampled_from(ROLES)),
    st.one_of(st.none(), st.integers(0, 30)),
), min_size=1, max_size=8)

audiences = st.fixed_dictionaries({}, optional={
    "public": st.just({"areas": ["LV022"]}),
    "groups": st.just(["commission"]),
}).filter(bool)


def _people(db, users):
    if "people" not in db.info:
        db.commit()
        db.info["people"] = {name: users.create(name, "operator").id
                             for name in ("author", "colleague", "third")}
        resident(db, "Ilze", "+37120000701", telegram="6701")
        commission_member(db, "Kārlis", "+37120000702", "6702")
        db.commit()
    return db.info["people"]


@PROPERTY
@given(source=st.sampled_from(["manual", "warning"]),
       cap_status=st.sampled_from(["Actual", "Test"]),
       definition=audiences, plan=steps)
def test_no_manual_public_alert_reaches_sending_without_a_second_authorised_approver(
        db, users, source, cap_status, definition, plan):
    people = _people(db, users)
    draft = public_orange(source=source, cap_status=cap_status, audience=definition)
    alert = alerts.create_alert(db, draft, people["author"])
    guarded = alerts.needs_second_person(cap_status, source, definition)
    assert guarded == (source == "manual" and cap_status == "Actual" and "public" in definition)
    accepted_approvals: list[tuple[str, set[str], int | None]] = []
    for action, who, roles, minutes in plan:
        actor = people[who]
        try:
            if action == "submit":
                alerts.submit(db, alert, actor)
            elif action == "approve":
                factor_at = None if minutes is None else clock.now() - timedelta(minutes=minutes)
                alerts.approve(db, alert, actor, roles, factor_at)
                accepted_approvals.append((who, roles, minutes))
            elif action == "reject":
                alerts.reject(db, alert, actor, "Teksts jāprecizē")
            elif action == "send":
                alerts.start_sending(db, alert, ALL_CHANNELS)
            else:
                alerts.cancel(db, alert, actor)
        except alerts.AlertError:
            pass
        db.flush()

    # Every approval the service accepted was a distinct, authorised, fresh second person.
    for who, roles, minutes in accepted_approvals:
        assert who != "author"
        assert roles & alerts.APPROVER_ROLES
        assert minutes is not None and minutes <= alerts.SECOND_FACTOR_FRESH.total_seconds() / 60
    rows = db.scalar(select(func.count()).select_from(Delivery)
                     .where(Delivery.alert_id == alert.id))
    history = db.execute(select(AlertEvent.action, AlertEvent.actor_id)
                         .where(AlertEvent.alert_id == alert.id)
                         .order_by(AlertEvent.id)).all()
    reached_sending = any(action == "sending" for action, _ in history)
    assert bool(rows) <= reached_sending  # no ledger row without the move to sending
    if guarded and reached_sending:
        # the approval in force when it went out: the last one before "sending"
        before = history[:[a for a, _ in history].index("sending")]
        approvals = [actor for action, actor in before if action == "approved"]
        assert approvals and approvals[-1] not in (None, people["author"])
        assert accepted_approvals, "sent on an approval the service never accepted"
        stored = db.get(Alert, alert.id)
        assert stored.approved_by_id == approvals[-1]
    db.rollback()


def _is_marked(cap_status: str, language: str, body: str) -> bool:
    """The text opens with the drill's word, as a word (not "Testing…", "Exercises…")."""
    word = texts.MARKS[cap_status].get(language, texts.MARKS[cap_status]["en"])
    return re.match(rf"{re.escape(word)}(?![^\W\d_])", body.upper()) is not None


bodies = st.one_of(
    st.text(min_size=1, max_size=60).filter(str.strip),
    # texts that already open with, or look like they open with, a mark word
    st.builds(lambda start, rest: start + rest,
              st.sampled_from(["MĀCĪBAS: ", "mācības ", "EXERCISE ", "Exercises ", "Testing ",
                               "TESTS: ", "Tests ", "Testēšana ", "TEST", "  test: "]),
              st.text(max_size=40)),
)


def _population(db):
    if "activation" not in db.info:
        for i in range(4):
            resident(db, f"Iedzīvotājs {i}", f"+3712000080{i}", telegram=f"680{i}",
                     language=("lv", "en", "ru", "lv")[i])
        commission_member(db, "Kārlis", "+37120000899", "6899")
        db.info["activation"] = exercise_activation(db).id
        db.commit()
    return sorted(db.scalars(select(Contact.id))), db.info["activation"]


@PROPERTY
@given(status=st.sampled_from(["Exercise", "Test"]),
       with_public=st.booleans(), with_group=st.booleans(),
       named=st.lists(st.integers(0, 5), max_size=4, unique=True),
       languages=st.lists(st.sampled_from(["lv", "en", "ru"]), min_size=1, max_size=3,
                          unique=True),
       data=st.data())
def test_a_drill_reaches_only_its_participants_and_every_text_is_marked(
        db, status, with_public, with_group, named, languages, data):
    ids, activation_id = _population(db)
    participants = sorted({ids[i] for i in named if i < len(ids)}) or [ids[0]]
    definition: dict = {"contacts": participants}
    if with_public:
        definition["public"] = {"areas": ["LV022"]}
    if with_group:
        definition["groups"] = ["commission"]
    written = {language: data.draw(bodies, label=f"text_{language}") for language in languages}
    try:
        _send_drill(db, status, definition, participants, written, activation_id)
    finally:
        db.rollback()  # whatever happened, the next example starts clean (PostgreSQL too)


def _send_drill(db, status, definition, participants, written, activation_id):
    draft = public_orange(cap_status=status, source="exercise", audience=definition,
                          texts=written, channels=["telegram", "sms", "voice"],
                          activation_id=activation_id if status == "Exercise" else None)
    try:
        alert = alerts.create_alert(db, draft, None)
    except alerts.AlertError as refused:  # a text claiming to be real, control characters,
        assert refused.field.startswith("text")  # or no text at all
        return
    alerts.submit(db, alert, None)
    assert alert.state == "approved"  # a drill needs no second person …
    alerts.start_sending(db, alert, ALL_CHANNELS)
    db.flush()
    rows = db.scalars(select(Delivery).where(Delivery.alert_id == alert.id)).all()
    # … because it reaches only the people named in it, whatever else its audience says
    assert {row.contact_id for row in rows} <= set(participants)
    assert {r.contact_id for r in audience.resolve(db, alert)} <= set(participants)
    assert all(_is_marked(status, t.language, t.body) for t in alert.texts), \
        [t.body for t in alert.texts]
    for row in rows:
        assert _is_marked(status, row.language, alert.text_for(row.language).body)
