"""The exercise builder's pages through the test client: a trainer builds an exercise
section by section (each bad field named at its field, typed values kept), the timeline
is sorted by time, "mark ready" checks what is missing, the library and the CSV files
work from the page, and the commission and auditors only read."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.exercises.models import Exercise, LibraryInject
from tests.conftest import csrf_token
from tests.kernel.helpers import field_has_error
from tests.warnings.lvgmc import Doc

BASE = "/exercises/builder"
STORM = {"kind": "tabletop", "title": "Vētra Jelgavā", "scheduled_at": "2026-12-10T09:00",
         "duration_minutes": "120", "scenario": "Sarkanais vēja brīdinājums."}
INJECT = {"number": "", "offset": "0:10", "channel": "sms", "sender": "LVĢMC",
          "recipient_role": "komisija", "participant_id": "", "text": "Brīdinājums",
          "expected_action": "Sasaukt komisiju", "objective_id": "", "cap_document": ""}


def _post(client: Any, path: str, data: dict[str, Any], **options: Any) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_token(client, f"{BASE}/new")},
                       **options)


def _stored(db: Any) -> list[Exercise]:
    with Session(db.get_bind()) as session:
        found = list(session.scalars(select(Exercise).order_by(Exercise.id)))
        for exercise in found:  # load the lists before the session closes
            _ = (exercise.objectives, exercise.participants, exercise.injects)
        session.expunge_all()
    return found


def _new(client: Any, **changes: Any) -> int:
    response = _post(client, f"{BASE}/new", {**STORM, **changes})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def _timeline(page: str) -> list[tuple[int, int]]:
    return [(int(n), int(o)) for n, o in re.findall(
        r'data-testid="inject" data-number="(\d+)" data-offset="(\d+)"', page)]


def test_a_trainer_builds_an_exercise_section_by_section(client, users, db):
    users.signed_in(client, "ilze", "trainer")
    response = _post(client, f"{BASE}/new", {**STORM, "title": "", "duration_minutes": "x"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_has_error(page, "title") and field_has_error(page, "duration_minutes")
    assert "Sarkanais vēja brīdinājums." in page  # what was typed is kept
    exercise_id = _new(client)
    (exercise,) = _stored(db)
    assert exercise.scheduled_at == datetime(2026, 12, 10, 7, 0, tzinfo=UTC)
    path = f"{BASE}/{exercise_id}"

    assert _post(client, f"{path}/objectives", {"text": "Komisija sasaukta 30 min",
                                                "service_id": "", "capability": "vadība"}
                 ).status_code == 302
    response = _post(client, f"{path}/participants", {
        "kind": "participant", "name": "Jānis Ozols", "organisation": "Dome", "role": "komisija",
        "user_id": "", "phone": "nav", "email": "", "telegram": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_has_error(page, "phone") and 'value="Jānis Ozols"' in page
    assert _post(client, f"{path}/participants", {
        "kind": "participant", "name": "Jānis Ozols", "organisation": "Dome", "role": "komisija",
        "user_id": "", "phone": "20000001", "email": "", "telegram": ""}).status_code == 302

    assert _post(client, f"{path}/injects", {**INJECT, "offset": "1:00"}).status_code == 302
    assert _post(client, f"{path}/injects", {**INJECT, "offset": "5"}).status_code == 302
    for changes, field in (({"number": "1"}, "number"), ({"offset": "2:30"}, "offset"),
                           ({"recipient_role": ""}, "recipient_role"),
                           ({"channel": "warning", "recipient_role": ""}, "cap_document")):
        response = _post(client, f"{path}/injects", {**INJECT, **changes})
        assert response.status_code == 422, changes
        page = response.get_data(as_text=True)
        assert field_has_error(page, field), field
    red = Doc(1, datetime(2026, 11, 24, 8, 0, tzinfo=UTC), level=4).xml()
    response = _post(client, f"{path}/injects", {
        **INJECT, "offset": "0:00", "channel": "warning", "recipient_role": "",
        "cap_file": (io.BytesIO(red), "red-wind.xml")}, content_type="multipart/form-data")
    assert response.status_code == 302

    page = client.get(path).get_data(as_text=True)
    assert _timeline(page) == [(3, 0), (2, 300), (1, 3600)]
    assert 'data-testid="participant"' in page and 'data-reachable="yes"' in page
    assert "20000001" not in page  # addresses are not shown on the builder page
    (exercise,) = _stored(db)
    assert exercise.injects[0].cap_document == red.decode()
    assert (len(exercise.objectives), len(exercise.participants)) == (1, 1)


def test_mark_ready_names_what_is_missing(client, users, db):
    users.signed_in(client, "ilze", "trainer")
    path = f"{BASE}/{_new(client)}"
    response = _post(client, f"{path}/ready", {})
    assert response.status_code == 422
    assert 'id="e-participants"' in response.get_data(as_text=True)
    _post(client, f"{path}/participants", {"kind": "participant", "name": "Anna",
                                           "role": "komisija"})
    response = _post(client, f"{path}/ready", {})
    assert response.status_code == 422 and 'id="e-injects"' in response.get_data(as_text=True)
    _post(client, f"{path}/injects", INJECT)
    assert _post(client, f"{path}/ready", {}).status_code == 302
    assert [e.state for e in _stored(db)] == ["ready"]
    assert 'data-testid="mark-draft"' in client.get(path).get_data(as_text=True)
    assert _post(client, f"{path}/draft", {}).status_code == 302
    assert [e.state for e in _stored(db)] == ["draft"]


def test_an_inject_is_edited_kept_in_the_library_and_reused(client, users, db):
    users.signed_in(client, "ilze", "trainer")
    path = f"{BASE}/{_new(client)}"
    _post(client, f"{path}/injects", INJECT)
    inject_id = _stored(db)[0].injects[0].id
    edit = f"{path}/injects/{inject_id}"
    assert 'value="0:10"' in client.get(edit).get_data(as_text=True)
    response = _post(client, edit, {**INJECT, "offset": "9:00"})
    assert response.status_code == 422 and field_has_error(response.get_data(as_text=True),
                                                           "offset")
    assert _post(client, edit, {**INJECT, "offset": "0:45"}).status_code == 302
    assert _stored(db)[0].injects[0].offset_s == 2700

    response = _post(client, f"{edit}/library", {"title": ""})
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "library_title")
    assert _post(client, f"{edit}/library", {"title": "Brīdinājums komisijai"}
                 ).status_code == 302
    with Session(db.get_bind()) as session:
        (entry_id,) = session.scalars(select(LibraryInject.id))
    other = f"{BASE}/{_new(client, title='Otrās mācības')}"
    assert "Brīdinājums komisijai" in client.get(other).get_data(as_text=True)
    response = _post(client, f"{other}/library", {"library_id": str(entry_id), "offset": "x"})
    assert response.status_code == 422 and field_has_error(response.get_data(as_text=True),
                                                           "offset")
    assert _post(client, f"{other}/library", {"library_id": str(entry_id), "offset": "20",
                                              "number": ""}).status_code == 302
    assert [(i.number, i.offset_s) for i in _stored(db)[1].injects] == [(1, 1200)]
    assert _post(client, f"{edit}/delete", {}).status_code == 302
    assert _stored(db)[0].injects == []


def test_the_inject_list_goes_out_and_in_as_csv_from_the_page(client, users, db):
    users.signed_in(client, "ilze", "trainer")
    path = f"{BASE}/{_new(client)}"
    _post(client, f"{path}/injects", INJECT)
    _post(client, f"{path}/injects", {**INJECT, "offset": "30", "text": "Skolā nav strāvas"})
    response = client.get(f"{path}/injects.csv")
    assert response.mimetype == "text/csv"
    data = response.get_data()
    other = f"{BASE}/{_new(client, title='Kopija')}"
    response = _post(client, f"{other}/injects/import", {"file": (io.BytesIO(data), "i.csv")},
                     content_type="multipart/form-data")
    assert response.status_code == 302
    assert client.get(f"{other}/injects.csv").get_data() == data

    bad = b"number,offset,channel,text\n1,0:00,sms,Teksts\n2,soon,page,\n"
    response = _post(client, f"{path}/injects/import", {"file": (io.BytesIO(bad), "b.csv")},
                     content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    problems = set(re.findall(r'data-line="(\d+)" data-field="(\w+)"', page))
    assert problems == {("2", "number"), ("3", "offset"), ("3", "text")}
    assert len(_stored(db)[0].injects) == 2


def test_the_list_shows_upcoming_first_and_readers_only_read(app, client, users, db):
    users.signed_in(client, "ilze", "trainer")
    past = _new(client, title="Pagājušās", scheduled_at="2026-01-05T10:00")
    soon = _new(client, title="Drīz", scheduled_at="2026-11-30T10:00")
    page = client.get(f"{BASE}/").get_data(as_text=True)
    order = [int(i) for i in re.findall(r'data-testid="exercise" data-id="(\d+)"', page)]
    assert order == [soon, past]
    assert f'data-id="{soon}" data-upcoming="yes"' in page

    for name, role in (("komisija", "commission"), ("auditors", "auditor")):
        client = app.test_client()
        users.signed_in(client, name, role)
        page = client.get(f"{BASE}/{soon}").get_data(as_text=True)
        assert "Drīz" in page and 'data-testid="inject-form"' not in page
        assert 'data-testid="export-json"' in page
        token = csrf_token(client, f"{BASE}/")
        response = client.post(f"{BASE}/{soon}/injects", data={**INJECT, "csrf_token": token})
        assert response.status_code == 403
    client = app.test_client()
    users.signed_in(client, "operators", "operator")
    assert client.get(f"{BASE}/").status_code == 403
