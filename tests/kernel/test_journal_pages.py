"""The crisis journal's page: the commission records information, decisions and tasks,
moves tasks on the board, corrects entries by new ones; links lead to the linked pages;
the chain's state shows; auditors read, trainers only exercise journals; CSV export."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from sqlalchemy import select, text

from sargs.activations import journal
from sargs.activations.journal_schemas import JournalEntryIn
from sargs.activations.models import Activation, JournalEntry
from sargs.activations.schemas import ActivationClose, ActivationOpen
from sargs.activations.service import close_activation, open_activation
from sargs.shelters import service as shelters
from sargs.shelters.schemas import ShelterIn
from tests.conftest import ON_POSTGRES
from tests.kernel.helpers import field_has_error, post_form, rows


def _activation(db: Any, kind: str = "emergency") -> Activation:
    found = open_activation(db, ActivationOpen(title="Vētra Zemgalē", kind=kind), None)
    db.commit()
    return found


@pytest.fixture
def storm(db: Any) -> Activation:
    return _activation(db)


def _stored(db: Any, activation: Activation) -> list[JournalEntry]:
    return rows(db, select(JournalEntry).where(JournalEntry.activation_id == activation.id)
                .order_by(JournalEntry.seq))


def _entries(page: str) -> list[tuple[int, str]]:
    return [(int(seq), kind) for seq, kind in re.findall(
        r'data-testid="entry" data-id="\d+" data-seq="(\d+)" data-kind="(\w+)"', page)]


def _board(page: str) -> dict[str, list[int]]:
    columns: dict[str, list[int]] = {}
    for state, body in re.findall(
            r'data-testid="column" data-state="(\w+)">(.*?)</div>', page, flags=re.S):
        columns[state] = [int(s) for s in re.findall(r'data-testid="task" data-id="\d+" '
                                                     r'data-seq="(\d+)"', body)]
    return columns


def _page(client: Any, activation: Activation, query: str = "") -> str:
    response = client.get(f"/activations/{activation.id}/journal{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _add(client: Any, activation: Activation, **fields: Any) -> Any:
    return post_form(client, f"/activations/{activation.id}/journal", fields)


def test_the_commission_records_information_linked_to_a_shelter(client, users, db, storm):
    shelter = shelters.create_shelter(db, ShelterIn(
        name="Jelgavas Valsts ģimnāzija", address="Mātera iela 44", lat=56.6511, lon=23.7214,
        capacity=100))
    db.commit()
    users.signed_in(client, "karlis", "commission")
    response = _add(client, storm, kind="information", text="Skola gatava uzņemt 100 cilvēkus",
                    source="Izglītības pārvalde", links=f"shelter:{shelter.id}")
    assert response.status_code == 302
    (entry,) = _stored(db, storm)
    assert (entry.kind, entry.source, entry.author_name) == (
        "information", "Izglītības pārvalde", "karlis")
    page = _page(client, storm)
    assert _entries(page) == [(1, "information")]
    assert f'href="/shelters/{shelter.id}" data-testid="link" data-type="shelter"' in page
    assert 'data-testid="chain" data-intact="yes"' in page


def test_the_timeline_shows_the_newest_first_and_filters_by_kind(client, users, storm):
    users.signed_in(client, "karlis", "commission")
    _add(client, storm, kind="information", text="Vējš 25 m/s", source="LVĢMC")
    _add(client, storm, kind="decision", text="Slēgt parkus", decided_by="Komisija")
    _add(client, storm, kind="information", text="Koks uz ceļa", source="8787")
    assert _entries(_page(client, storm)) == [(3, "information"), (2, "decision"),
                                              (1, "information")]
    assert _entries(_page(client, storm, "?kind=decision")) == [(2, "decision")]


def test_a_decision_without_who_decided_is_refused_and_nothing_is_stored(client, users, db,
                                                                          storm):
    users.signed_in(client, "karlis", "commission")
    response = _add(client, storm, kind="decision", text="Evakuēt Pasta salu", decided_by="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_has_error(page, "decided_by")
    assert "Evakuēt Pasta salu" in page  # what was typed is kept
    bad_link = _add(client, storm, kind="information", text="x", links="report:4242")
    assert bad_link.status_code == 422 and field_has_error(bad_link.get_data(as_text=True),
                                                           "links")
    assert _stored(db, storm) == []


def test_a_task_moves_across_the_board_by_updates(client, users, db, storm):
    users.signed_in(client, "olga", "operator")
    _add(client, storm, kind="task", text="Smilšu maisi uz Pasta salu",
         assignee="Komunālā pārvalde", due_at="2026-11-24T15:00")
    (task,) = _stored(db, storm)
    assert _board(_page(client, storm))["open"] == [1]
    update = f"/activations/{storm.id}/journal/{task.id}/state"
    assert post_form(client, update, {"task_state": "in_progress", "text": "Izbrauca"}
                     ).status_code == 302
    board = _board(_page(client, storm))
    assert (board["open"], board["in_progress"]) == ([], [1])
    post_form(client, update, {"task_state": "done"})
    assert _board(_page(client, storm))["done"] == [1]
    assert [(e.kind, e.task_state, e.refers_to_id) for e in _stored(db, storm)] == [
        ("task", "open", None), ("task_update", "in_progress", task.id),
        ("task_update", "done", task.id)]
    refused = post_form(client, update, {"task_state": "finished"})
    assert refused.status_code == 422
    assert field_has_error(refused.get_data(as_text=True), "task_state")


def test_a_correction_is_shown_on_the_corrected_entry_which_stays_as_it_was(client, users, db,
                                                                            storm):
    users.signed_in(client, "karlis", "commission")
    _add(client, storm, kind="information", text="Ūdens līmenis 3,2 m", source="LVĢMC")
    (wrong,) = _stored(db, storm)
    response = post_form(client, f"/activations/{storm.id}/journal/{wrong.id}/correct",
                         {"text": "Līmenis bija 3,4 m"})
    assert response.status_code == 302
    original, fix = _stored(db, storm)
    assert (original.text, original.hash) == (wrong.text, wrong.hash)
    assert (fix.kind, fix.refers_to_id, fix.text) == ("correction", wrong.id, "Līmenis bija 3,4 m")
    page = _page(client, storm)
    corrected = page[page.index('id="e1"'):]
    assert re.search(r'data-testid="corrected-by" data-seq="2">.*?Līmenis bija 3,4 m',
                     corrected, flags=re.S)
    empty = post_form(client, f"/activations/{storm.id}/journal/{wrong.id}/correct",
                      {"text": ""})
    assert empty.status_code == 422 and field_has_error(empty.get_data(as_text=True), "text")
    assert len(_stored(db, storm)) == 2


def test_who_may_read_and_write_the_journal(app, users, db, storm):
    drill = _activation(db, "exercise")
    journal.add_entry(db, db.get(Activation, storm.id),
                      JournalEntryIn(kind="information", text="Ziņa"), None)
    db.commit()
    auditor, trainer, coordinator = app.test_client(), app.test_client(), app.test_client()
    users.signed_in(auditor, "ivars", "auditor")
    users.signed_in(trainer, "tija", "trainer")
    users.signed_in(coordinator, "cilda", "coordinator")
    assert auditor.get(f"/activations/{storm.id}/journal").status_code == 200
    assert auditor.get(f"/activations/{storm.id}/journal.csv").status_code == 200
    assert _add(auditor, storm, kind="information", text="x").status_code == 403
    assert trainer.get(f"/activations/{storm.id}/journal").status_code == 403
    assert _add(trainer, storm, kind="information", text="x").status_code == 403
    assert _add(trainer, drill, kind="information", text="Mācību ziņa").status_code == 302
    assert coordinator.get(f"/activations/{storm.id}/journal").status_code == 403
    assert [e.text for e in _stored(db, storm)] == ["Ziņa"]
    assert [e.text for e in _stored(db, drill)] == ["Mācību ziņa"]
    assert 'data-testid="add"' not in auditor.get(
        f"/activations/{storm.id}/journal").get_data(as_text=True)


def test_a_closed_activation_s_journal_is_read_only(client, users, db, storm):
    close_activation(db, storm, ActivationClose(closing_note="Beigas"), None)
    db.commit()
    users.signed_in(client, "karlis", "commission")
    page = _page(client, storm)
    assert 'data-testid="closed"' in page and 'data-testid="add"' not in page
    response = _add(client, storm, kind="information", text="Vēl viena ziņa")
    assert response.status_code == 422
    assert 'id="e-activation"' in response.get_data(as_text=True)
    assert _stored(db, storm) == []


def test_the_page_shows_where_the_chain_is_broken(client, users, db, storm):
    users.signed_in(client, "karlis", "commission")
    for words in ("Pirmā", "Otrā", "Trešā"):
        _add(client, storm, kind="information", text=words)
    if ON_POSTGRES:
        db.execute(text("DROP TRIGGER journal_entry_append_only ON journal_entry"))
    else:
        db.execute(text("DROP TRIGGER journal_entry_no_update"))
    db.execute(text("UPDATE journal_entry SET text = 'Cita' WHERE seq = 2"))
    db.commit()
    assert 'data-testid="chain" data-intact="no" data-broken-at="2"' in _page(client, storm)


def test_the_csv_export_holds_every_entry_with_its_hash(client, users, db, storm):
    users.signed_in(client, "karlis", "commission")
    _add(client, storm, kind="decision", text="Slēgt tiltu, \"Lielupes\"", decided_by="Komisija")
    _add(client, storm, kind="task", text="Izlikt zīmes", assignee="Policija")
    response = client.get(f"/activations/{storm.id}/journal.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    stored = _stored(db, storm)
    assert [(int(line["seq"]), line["kind"], line["text"], line["hash"]) for line in lines] == [
        (e.seq, e.kind, e.text, e.hash) for e in stored]
    assert (lines[0]["decided_by"], lines[1]["assignee"], lines[1]["prev_hash"]) == (
        "Komisija", "Policija", stored[0].hash)


def test_the_activation_page_leads_to_its_journal(client, users, storm):
    users.signed_in(client, "karlis", "commission")
    page = client.get(f"/activations/{storm.id}").get_data(as_text=True)
    assert f'href="/activations/{storm.id}/journal" data-testid="journal"' in page
