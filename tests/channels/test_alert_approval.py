"""The two-person rule and the alert's life from draft to sending."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from sargs import clock
from sargs.channels import alerts
from sargs.channels.models import AlertEvent, Delivery
from tests.channels.engine_helpers import commission_member, public_orange, resident

ALL = {"sms", "voice", "telegram"}


def _people(users):
    return (users.create("olga", "operator"), users.create("karlis", "commission", totp=True),
            users.create("maris", "commission", totp=True))


def test_a_public_alert_waits_for_a_second_person_then_reaches_everyone_once(db, users):
    author, approver, _ = _people(users)
    resident(db, "Ilze", "+37120000001", telegram="5001")
    resident(db, "John", "+37120000002", language="en")
    resident(db, "Far away", "+37120000003", areas=("LV039",))
    resident(db, "Red only", "+37120000004", levels=("red",))
    commission_member(db, "Kārlis", "+37120000002", "7001")  # shares John's phone
    alert = alerts.create_alert(db, public_orange(), author.id)
    alerts.submit(db, alert, author.id)
    assert alert.state == "awaiting_approval"
    with pytest.raises(alerts.AlertError):
        alerts.start_sending(db, alert, ALL)
    alerts.approve(db, alert, approver.id, {"commission"}, clock.now())
    written = alerts.start_sending(db, alert, ALL)
    db.commit()

    rows = {(d.channel, d.address, d.language) for d in db.scalars(select(Delivery))}
    assert rows == {
        ("telegram", "5001", "lv"),  # Ilze's first choice only
        ("sms", "+37120000002", "en"),  # John, in English
        ("voice", "+37120000002", "lv"),  # the commission member by voice …
        ("telegram", "7001", "lv"),  # … and Telegram
    }
    assert written == 4 and alert.state == "sending"
    history = [e.action for e in db.scalars(select(AlertEvent).order_by(AlertEvent.id))]
    assert history == ["created", "submitted", "approved", "sending"]


@pytest.mark.parametrize("who, roles, age, field", [
    ("author", {"commission"}, 0, "approver"),
    ("other", {"operator"}, 0, "approver"),
    ("other", {"commission"}, 11, "second_factor"),
])
def test_approval_is_refused_to_the_wrong_person(db, users, who, roles, age, field):
    author, approver, _ = _people(users)
    alert = alerts.create_alert(db, public_orange(), author.id)
    alerts.submit(db, alert, author.id)
    person = author if who == "author" else approver
    with pytest.raises(alerts.AlertError) as refused:
        alerts.approve(db, alert, person.id, roles, clock.now() - timedelta(minutes=age))
    assert refused.value.field == field
    assert alert.state == "awaiting_approval"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    approver_is_author=st.booleans(),
    roles=st.sets(st.sampled_from(["commission", "admin", "operator", "trainer", "auditor"])),
    minutes_since_second_factor=st.one_of(st.none(), st.integers(0, 30)),
)
def test_no_public_alert_is_sent_without_a_distinct_authorised_approver(
    db, users, approver_is_author, roles, minutes_since_second_factor
):
    if not hasattr(users, "pair"):  # one author and one colleague for every example
        users.pair = (users.create("olga", "operator"), users.create("karlis", "commission"))
    author, other = users.pair
    alert = alerts.create_alert(db, public_orange(), author.id)
    alerts.submit(db, alert, author.id)
    approver = author if approver_is_author else other
    factor_at = (None if minutes_since_second_factor is None
                 else clock.now() - timedelta(minutes=minutes_since_second_factor))
    try:
        alerts.approve(db, alert, approver.id, roles, factor_at)
    except alerts.AlertError:
        pass
    try:
        alerts.start_sending(db, alert, ALL)
    except alerts.AlertError:
        pass
    if alert.state == "sending":
        assert alert.approved_by_id not in (None, alert.created_by_id)
        assert roles & alerts.APPROVER_ROLES and not approver_is_author
        assert minutes_since_second_factor is not None and minutes_since_second_factor <= 10
    db.rollback()


def test_an_alert_to_staff_only_needs_no_second_person(db, users):
    author, _, _ = _people(users)
    commission_member(db, "Kārlis", "+37120000009", "7009")
    alert = alerts.create_alert(db, public_orange(audience={"groups": ["commission"]}), author.id)
    alerts.submit(db, alert, author.id)
    assert alert.state == "approved"
    assert alerts.start_sending(db, alert, ALL) == 2


def test_the_alert_history_cannot_be_rewritten(db, users):
    author, _, _ = _people(users)
    alerts.create_alert(db, public_orange(), author.id)
    db.commit()
    with pytest.raises(Exception):  # noqa: B017 - the database refuses, whatever the driver
        db.execute(text("UPDATE alert_event SET action = 'approved'"))
        db.commit()
    db.rollback()
    with pytest.raises(Exception):  # noqa: B017
        db.execute(text("DELETE FROM alert_event"))
        db.commit()
