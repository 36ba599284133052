"""The crisis journal: append-only in the database, hash-chained, corrected only by new
entries; tasks move through updates; links point at real objects of the right kind."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, exc, select, text
from sqlalchemy.orm import Session

from sargs import clock
from sargs.activations import journal
from sargs.activations.journal_schemas import JournalEntryIn
from sargs.activations.models import Activation, JournalEntry
from sargs.activations.schemas import ActivationClose, ActivationOpen
from sargs.activations.service import ActivationError, close_activation, open_activation
from sargs.auth.models import User
from sargs.channels.models import Alert
from sargs.shelters import service as shelters
from sargs.shelters.schemas import ShelterIn
from sargs.web.forms import InputError, validate
from tests.conftest import ON_POSTGRES
from tests.kernel.helpers import rows

GENESIS = "0" * 64


@pytest.fixture
def flood(db: Any) -> Activation:
    activation = open_activation(db, ActivationOpen(title="Plūdi Lielupē", kind="emergency"),
                                 None)
    db.commit()
    return activation


@pytest.fixture
def anna(users: Any, db: Any) -> User:
    created = users.create("anna", "commission", totp=False)
    return db.get(User, created.id)


def add(db: Any, activation: Activation, author: Any = None, **fields: Any) -> JournalEntry:
    # stored() ends the session's transaction and lets go of its objects: get them again.
    entry = journal.add_entry(db, db.get(Activation, activation.id), JournalEntryIn(**fields),
                              author and db.get(User, author.id))
    db.commit()
    return entry


def info(db: Any, activation: Activation, words: str, author: Any = None,
         **more: Any) -> JournalEntry:
    return add(db, activation, author, kind="information", text=words, **more)


def stored(db: Any, activation: Activation) -> list[JournalEntry]:
    return rows(db, select(JournalEntry).where(JournalEntry.activation_id == activation.id)
                .order_by(JournalEntry.seq))


def columns(entry: JournalEntry) -> dict[str, Any]:
    return {c.key: getattr(entry, c.key) for c in JournalEntry.__table__.columns}


def test_entries_are_numbered_and_each_carries_the_hash_of_the_one_before(db, flood, anna):
    info(db, flood, "Ūdens līmenis 3,2 m", anna, source="LVĢMC")
    add(db, flood, anna, kind="decision", text="Evakuēt Pasta salu", decided_by="Komisija")
    add(db, flood, anna, kind="task", text="Atvērt skolu", assignee="Izglītības pārvalde")
    first, second, third = stored(db, flood)
    assert [e.seq for e in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash == GENESIS
    assert (second.prev_hash, third.prev_hash) == (first.hash, second.hash)
    for entry in (first, second, third):
        assert entry.hash == hashlib.sha256(journal.canonical(entry)).hexdigest()
    assert journal.verify(db, flood) is None


def test_the_author_is_recorded_as_they_were_named_when_writing(db, flood, anna):
    anna.display_name = "Anna Bērziņa"
    db.commit()
    info(db, flood, "Zvans no VUGD", anna, source="VUGD")
    anna.display_name = "Anna Kalniņa"
    db.commit()
    (entry,) = stored(db, flood)
    assert (entry.author_id, entry.author_name) == (anna.id, "Anna Bērziņa")
    assert entry.recorded_at == entry.occurred_at == clock.now()


def test_each_kind_keeps_its_own_fields(db, flood):
    decision = add(db, flood, kind="decision", text="Slēgt tiltu", decided_by="Priekšsēdētājs",
                   source="ignored", assignee="ignored")
    due = clock.now() + timedelta(hours=2)
    task = add(db, flood, kind="task", text="Smilšu maisi", assignee="Komunālā pārvalde",
               due_at=due, decided_by="ignored")
    assert (decision.decided_by, decision.source, decision.assignee) == ("Priekšsēdētājs", "", "")
    assert (task.assignee, task.due_at, task.task_state, task.decided_by) == (
        "Komunālā pārvalde", due, "open", "")


@pytest.mark.parametrize(("fields", "field"), [
    ({"kind": "decision", "text": "Evakuēt"}, "decided_by"),
    ({"kind": "task", "text": "Atvērt skolu"}, "assignee"),
    ({"kind": "task_update", "task_state": "done"}, "refers_to"),
    ({"kind": "correction", "text": "Pareizi: 3,4 m"}, "refers_to"),
    ({"kind": "information", "text": ""}, "text"),
    ({"kind": "information", "text": "x", "links": "alert-12"}, "links"),
    ({"kind": "rumour", "text": "x"}, "kind"),
])
def test_an_entry_without_its_kind_s_required_field_names_the_field(fields, field):
    with pytest.raises(InputError) as raised:
        validate(JournalEntryIn, fields)
    assert field in raised.value.errors


def test_the_database_refuses_to_change_or_delete_an_entry(db, flood):
    info(db, flood, "Ūdens līmenis 3,2 m")
    for statement in ("UPDATE journal_entry SET text = 'nothing'", "DELETE FROM journal_entry"):
        with pytest.raises(exc.DBAPIError):
            db.execute(text(statement))
        db.rollback()
    (entry,) = stored(db, flood)
    assert entry.text == "Ūdens līmenis 3,2 m"


def _drop_the_guard(db: Any) -> None:
    if ON_POSTGRES:
        db.execute(text("DROP TRIGGER journal_entry_append_only ON journal_entry"))
    else:
        db.execute(text("DROP TRIGGER journal_entry_no_update"))
        db.execute(text("DROP TRIGGER journal_entry_no_delete"))
    db.commit()


def test_a_changed_entry_breaks_the_chain_from_there_on(db, flood):
    for words in ("Pirmais", "Otrais", "Trešais", "Ceturtais"):
        info(db, flood, words)
    _drop_the_guard(db)
    db.execute(text("UPDATE journal_entry SET text = 'Cits' WHERE seq = 3"))
    db.commit()
    db.expire_all()
    assert journal.verify(db, flood) == 3


def test_a_removed_entry_breaks_the_chain_where_it_was(db, flood):
    for words in ("Pirmais", "Otrais", "Trešais"):
        info(db, flood, words)
    _drop_the_guard(db)
    db.execute(text("DELETE FROM journal_entry WHERE seq = 2"))
    db.commit()
    db.expire_all()
    assert journal.verify(db, flood) == 3


def test_a_rewritten_hash_is_caught_by_the_next_entry_s_link(db, flood):
    """Someone who recomputes the changed entry's hash still breaks the next link."""
    for words in ("Pirmais", "Otrais", "Trešais"):
        info(db, flood, words)
    _drop_the_guard(db)
    second = stored(db, flood)[1]
    second.text = "Cits"
    forged = journal.entry_hash(second)
    db.rollback()
    db.execute(text("UPDATE journal_entry SET text = 'Cits', hash = :h WHERE seq = 2"),
               {"h": forged})
    db.commit()
    db.expire_all()
    assert journal.verify(db, flood) == 3


def test_a_correction_is_a_new_entry_and_the_corrected_one_stays(db, flood, anna):
    wrong = info(db, flood, "Ūdens līmenis 3,2 m", anna, source="LVĢMC")
    before = columns(stored(db, flood)[0])
    correction = add(db, flood, anna, kind="correction", refers_to=wrong.id,
                     text="Līmenis bija 3,4 m, nevis 3,2 m")
    original, fixed = stored(db, flood)
    assert columns(original) == before
    assert (fixed.kind, fixed.refers_to_id, fixed.seq) == ("correction", wrong.id, 2)
    assert [c.id for c in journal.corrections_of(db.get(JournalEntry, wrong.id))] == [
        correction.id]
    assert journal.verify(db, flood) is None


def test_a_task_s_state_is_that_of_its_latest_update(db, flood):
    sandbags = add(db, flood, kind="task", text="Smilšu maisi", assignee="Komunālā pārvalde")
    school = add(db, flood, kind="task", text="Atvērt skolu", assignee="Skola")
    add(db, flood, kind="task_update", refers_to=sandbags.id, task_state="in_progress",
        text="Brauc")
    add(db, flood, kind="task_update", refers_to=sandbags.id, task_state="done")
    states = {t.entry.id: (t.state, len(t.updates)) for t in journal.tasks(db, flood)}
    assert states == {sandbags.id: ("done", 2), school.id: ("open", 0)}
    assert rows(db, select(JournalEntry.task_state).where(
        JournalEntry.id == sandbags.id)) == ["open"]  # the task itself is never changed


def test_only_a_task_of_the_same_journal_takes_an_update(db, flood):
    note = info(db, flood, "Ziņa")
    other = open_activation(db, ActivationOpen(title="Vētra", kind="emergency"), None)
    db.commit()
    elsewhere = add(db, other, kind="task", text="Cits uzdevums", assignee="Kāds")
    for refers_to in (note.id, elsewhere.id, 999_999):
        with pytest.raises(ActivationError) as raised:
            journal.add_entry(db, flood, JournalEntryIn(
                kind="task_update", refers_to=refers_to, task_state="done"), None)
        db.rollback()
        assert raised.value.field == "refers_to"
    with pytest.raises(ActivationError):
        journal.add_entry(db, flood, JournalEntryIn(
            kind="correction", refers_to=elsewhere.id, text="x"), None)
    db.rollback()
    assert len(stored(db, flood)) == 1


def _alert(db: Any, activation: Activation | None, cap_status: str) -> Alert:
    alert = Alert(activation_id=activation.id if activation else None, source="manual",
                  cap_status=cap_status, audience={}, channels=["sms"], created_at=clock.now())
    db.add(alert)
    db.commit()
    return alert


def test_links_point_at_objects_that_exist(db, flood):
    shelter = shelters.create_shelter(db, ShelterIn(
        name="Jelgavas Valsts ģimnāzija", address="Mātera iela 44", lat=56.6511, lon=23.7214,
        capacity=100))
    alert = _alert(db, flood, "Actual")
    entry = info(db, flood, "Skola atvērta", links=f"shelter:{shelter.id}, alert:{alert.id}")
    assert entry.links == [{"type": "shelter", "id": shelter.id},
                           {"type": "alert", "id": alert.id}]
    with pytest.raises(ActivationError) as raised:
        journal.add_entry(db, flood, JournalEntryIn(
            kind="information", text="x", links=[{"type": "report", "id": 424242}]), None)
    db.rollback()
    assert raised.value.field == "links"
    assert len(stored(db, flood)) == 1


def test_a_real_journal_cannot_link_exercise_material(db, flood):
    drill = open_activation(db, ActivationOpen(title="Mācības", kind="exercise"), None)
    db.commit()
    drill_alert = _alert(db, drill, "Exercise")
    for activation, allowed in ((flood, False), (drill, True)):
        try:
            journal.add_entry(db, activation, JournalEntryIn(
                kind="information", text="Brīdinājums izsūtīts",
                links=[{"type": "alert", "id": drill_alert.id}]), None)
        except ActivationError as refused:
            assert refused.field == "links"
            db.rollback()
            assert not allowed
        else:
            db.commit()
            assert allowed
    assert stored(db, flood) == [] and len(stored(db, drill)) == 1


def test_an_entry_happened_within_the_activation_and_not_in_the_future(db, flood,
                                                                       frozen_clock):
    frozen_clock.advance(hours=2)
    earlier = clock.now() - timedelta(hours=1)
    assert info(db, flood, "Zvans stundu atpakaļ", occurred_at=earlier).occurred_at == earlier
    assert info(db, flood, "Pulkstenis steidzas", occurred_at=clock.now()
                + timedelta(seconds=50)).seq == 2
    for moment in (clock.now() + timedelta(minutes=5), flood.opened_at - timedelta(minutes=1)):
        with pytest.raises(ActivationError) as raised:
            journal.add_entry(db, flood, JournalEntryIn(
                kind="information", text="x", occurred_at=moment), None)
        db.rollback()
        assert raised.value.field == "occurred_at"
    assert len(stored(db, flood)) == 2


def test_a_closed_activation_s_journal_takes_no_entries(db, flood):
    entry = info(db, flood, "Pēdējā ziņa")
    close_activation(db, flood, ActivationClose(closing_note="Beigas"), None)
    db.commit()
    for fields in ({"kind": "information", "text": "Vēl"},
                   {"kind": "correction", "refers_to": entry.id, "text": "Labojums"}):
        with pytest.raises(ActivationError) as raised:
            journal.add_entry(db, flood, JournalEntryIn(**fields), None)
        db.rollback()
        assert raised.value.field == "activation"
    assert len(stored(db, flood)) == 1


def test_two_writers_at_once_extend_the_chain_one_after_the_other(app, db, flood):
    """The second writer waits for the first one's transaction, then reads its entry:
    the chain never forks into two entries with the same number."""
    maker = app.extensions["sargs"].sessionmaker
    first = maker()
    journal.add_entry(first, first.get(Activation, flood.id),
                      JournalEntryIn(kind="information", text="Pirmais"), None)
    outcome: list[Any] = []
    # The second writer is about to take the lock, or (had it none) to read the last entry.
    asking = threading.Event()

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        critical = ("FOR UPDATE" in statement or statement.startswith("BEGIN IMMEDIATE")
                    or ("FROM journal_entry" in statement and "DESC" in statement))
        if threading.current_thread() is writer and critical:
            asking.set()

    def second_writer() -> None:
        with maker() as second:
            try:
                journal.add_entry(second, second.get(Activation, flood.id),
                                  JournalEntryIn(kind="information", text="Otrais"), None)
                second.commit()
                outcome.append("ok")
            except Exception as failure:  # reported to the test below
                outcome.append(failure)

    engine = app.extensions["sargs"].engine
    event.listen(engine, "before_cursor_execute", on_statement)
    writer = threading.Thread(target=second_writer)
    try:
        writer.start()
        assert asking.wait(timeout=30), "the second writer never got that far"
        first.commit()
        first.close()
        writer.join(timeout=60)
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
    assert outcome == ["ok"]
    with Session(db.get_bind()) as fresh:
        activation = fresh.get(Activation, flood.id)
        chain = [(e.seq, e.text) for e in journal.entries(fresh, activation)]
        assert chain == [(1, "Pirmais"), (2, "Otrais")]
        assert journal.verify(fresh, activation) is None
