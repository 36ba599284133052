"""The training pages: trainers plan courses and sessions, a session's roster with its
waiting list and attendance, an instructor's own sessions (and no one else's), the
volunteer's own training page in the portal, calendar files, and both languages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from sargs import clock
from sargs.volunteers import training
from sargs.volunteers.models import Course, Enrolment, TrainingSession
from sargs.volunteers.portal_session import KEY, SINCE
from tests.conftest import csrf_token
from tests.volunteers.test_training import course, parse_ics, people, planned


def as_volunteer(client: Any, volunteer: Any) -> None:
    """The portal's sign-in, as its one-time code leaves it."""
    with client.session_transaction() as state:
        state[KEY] = volunteer.id
        state[SINCE] = clock.now().isoformat()


def english(client: Any, path: str) -> None:
    client.post("/lang/en", data={"csrf_token": csrf_token(client, path), "next": path})


def post(client: Any, path: str, form: str, data: dict[str, Any] | None = None) -> Any:
    """Submit a form as the page at ``form`` would, with its CSRF token."""
    return client.post(path, data={"csrf_token": csrf_token(client, form), **(data or {})})


def test_a_trainer_plans_a_course_and_a_session(client, users, db):
    instructor = users.create("ilze", "instructor")
    users.signed_in(client, "maris", "trainer")
    answer = post(client, "/volunteers/training/courses/new", "/volunteers/training/courses/new",
                  {"code": "PP1", "title_lv": "Pirmā palīdzība", "title_en": "First aid",
                   "certificate_kind": "first_aid", "certificate_months": "24"})
    assert answer.status_code == 302
    kind = db.scalar(select(Course))
    assert (kind.code, kind.certificate_kind, kind.certificate_months) == ("PP1", "first_aid", 24)
    form = {"course_id": kind.id, "starts_at": "2026-12-01T18:00", "ends_at": "2026-12-01T17:00",
            "place": "Rūpniecības iela 4", "instructor_id": instructor.id, "capacity": "2"}
    db.commit()  # SQLite: the test's read ends before the page writes
    refused = post(client, "/volunteers/training/sessions/new", "/volunteers/training/sessions/new",
                   form)
    assert refused.status_code == 422
    assert "Beigām jābūt vēlāk par sākumu." in refused.get_data(as_text=True)
    form["ends_at"] = "2026-12-01T21:00"
    saved = post(client, "/volunteers/training/sessions/new", "/volunteers/training/sessions/new",
                 form)
    assert saved.status_code == 302
    ts = db.scalar(select(TrainingSession))
    assert ts.starts_at.isoformat() == "2026-12-01T16:00:00+00:00"  # 18:00 in Riga
    db.commit()
    page = client.get("/volunteers/training/").get_data(as_text=True)
    assert "Pirmā palīdzība" in page and "01.12.2026 18:00–21:00" in page
    assert "0 / 2" in page


def test_the_session_page_shows_the_roster_and_the_waiting_list_in_order(
        client, users, db, make_volunteer):
    first, second, third, fourth = people(make_volunteer, 4)
    ts = planned(db, course(db).id, capacity=2)
    for volunteer in (first, second, third, fourth):
        training.enrol(db, ts, volunteer)
    ids = [v.id for v in (first, second, third, fourth)]
    path = f"/volunteers/training/sessions/{ts.id}"
    db.commit()
    # A coordinator sees the names of their own volunteers only (none here).
    users.signed_in(client, "anna", "coordinator")
    page = client.get(path).get_data(as_text=True)
    assert not any(f"Brīvprātīgais {letter}" in page for letter in "ABCD")
    assert f"Brīvprātīgais Nr. {ids[0]}" in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    users.signed_in(client, "maris", "trainer")
    page = client.get(path).get_data(as_text=True)
    assert 'data-testid="capacity">aizņemtas 2 no 2, brīvas 0<' in page
    enrolled = re.findall(r'data-testid="enrolled" data-volunteer="(\d+)"', page)
    waiting = re.findall(r'data-testid="waiting-volunteer" data-volunteer="(\d+)"', page)
    assert enrolled == [str(i) for i in ids[:2]]
    assert waiting == [str(i) for i in ids[2:]]
    assert "Brīvprātīgais C" in page
    # Attendance waits for the start.
    assert 'name="attended"' not in page
    assert "Apmeklējumu var atzīmēt, kad nodarbība ir sākusies." in page


def test_an_instructor_sees_and_marks_only_their_own_sessions(
        client, users, db, make_volunteer, frozen_clock):
    volunteer, = people(make_volunteer, 1)
    ilze = users.signed_in(client, "ilze", "instructor")
    other = users.create("juris", "instructor")
    kind = course(db, certificate_kind="first_aid", certificate_months=12)
    own = planned(db, kind.id, instructor_id=ilze.id, place="Mana zāle")
    theirs = planned(db, kind.id, instructor_id=other.id, place="Cita zāle")
    own_seat, their_seat = training.enrol(db, own, volunteer), training.enrol(db, theirs, volunteer)
    own_id, theirs_id, own_seat_id, their_seat_id, start = (
        own.id, theirs.id, own_seat.id, their_seat.id, own.starts_at)
    db.commit()

    page = client.get("/volunteers/training/teaching").get_data(as_text=True)
    assert re.findall(r'data-testid="teaching-row" data-id="(\d+)"', page) == [str(own_id)]
    assert "Mana zāle" in page and "Cita zāle" not in page
    assert client.get(f"/volunteers/training/sessions/{theirs_id}").status_code == 403
    assert client.get("/volunteers/training/").status_code == 403

    frozen_clock.set(start + timedelta(hours=1))
    form = f"/volunteers/training/sessions/{own_id}"
    assert post(client, f"/volunteers/training/sessions/{theirs_id}/attendance", form,
                {"attended": str(their_seat_id)}).status_code == 403
    assert post(client, f"/volunteers/training/sessions/{own_id}/attendance", form,
                {"attended": str(own_seat_id)}).status_code == 302
    db.expire_all()
    assert db.get(Enrolment, own_seat_id).attended is True
    assert db.get(Enrolment, own_seat_id).certificate_id is not None
    assert db.get(Enrolment, their_seat_id).attended is None
    db.commit()
    page = client.get(form).get_data(as_text=True)
    assert 'data-testid="certified"' in page and "checked" in page


def test_the_volunteer_enrols_waits_and_gives_back_in_the_portal(
        client, db, make_volunteer, app):
    first, second = people(make_volunteer, 2)
    ts = planned(db, course(db).id, capacity=1)
    mine = "/volunteers/training/mine"
    assert "/volunteer/signin" in client.get(mine).headers["Location"]

    as_volunteer(client, first)
    page = client.get(mine).get_data(as_text=True)
    assert re.findall(r'data-testid="offered-session" data-id="(\d+)"', page) == [str(ts.id)]
    assert 'data-testid="seats-left">Brīvas vietas: 1<' in page
    assert post(client, f"{mine}/sessions/{ts.id}/enrol", mine).status_code == 302
    page = client.get(mine).get_data(as_text=True)
    assert f'data-id="{ts.id}" data-state="enrolled"' in page

    second_client = app.test_client()
    as_volunteer(second_client, second)
    page = second_client.get(mine).get_data(as_text=True)
    assert "Vietu nav: varat pieteikties gaidīšanas sarakstā (pašlaik gaida: 0)." in page
    post(second_client, f"{mine}/sessions/{ts.id}/enrol", mine)
    assert 'data-state="waiting"' in second_client.get(mine).get_data(as_text=True)
    # Twice is refused, with the reason.
    post(second_client, f"{mine}/sessions/{ts.id}/enrol", mine)
    assert "Jau ir šīs nodarbības gaidīšanas sarakstā" in second_client.get(mine).get_data(
        as_text=True)

    post(client, f"{mine}/sessions/{ts.id}/withdraw", mine)
    assert 'data-state="enrolled"' in second_client.get(mine).get_data(as_text=True)
    assert f'data-testid="offered-session" data-id="{ts.id}"' in client.get(mine).get_data(
        as_text=True)  # offered again


def test_the_volunteer_sees_past_attendance_and_certificates(
        client, db, make_volunteer, frozen_clock):
    volunteer, = people(make_volunteer, 1)
    ts = planned(db, course(db, certificate_kind="first_aid", certificate_months=24).id,
                 starts="2026-11-30T09:00")
    enrolment = training.enrol(db, ts, volunteer)
    db.commit()
    frozen_clock.set(ts.ends_at + timedelta(days=1))
    training.mark_attendance(db, ts, [enrolment.id],
                             training.Staff(None, frozenset({"trainer"})))
    db.commit()
    as_volunteer(client, volunteer)
    page = client.get("/volunteers/training/mine").get_data(as_text=True)
    assert re.search(rf'data-testid="past-session" data-id="{ts.id}">.*?✓ piedalījās</td>',
                     page, re.S)
    assert 'data-testid="certificate" data-kind="first_aid"' in page
    assert "30.11.2028" in page


def test_calendar_files_for_the_enrolled_the_staff_and_the_instructors_feed(
        client, users, db, make_volunteer, app):
    enrolled, stranger = people(make_volunteer, 2)
    instructor = users.create("ilze", "instructor")
    ts = planned(db, course(db).id, instructor_id=instructor.id, lat=56.6511, lon=23.7214)
    training.enrol(db, ts, enrolled)
    db.commit()
    path = f"/volunteers/training/sessions/{ts.id}.ics"
    assert client.get(path).status_code == 404  # nobody signed in
    as_volunteer(client, stranger)
    assert client.get(path).status_code == 404
    as_volunteer(client, enrolled)
    answer = client.get(path)
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    _calendar, event = parse_ics(answer.get_data(as_text=True))
    assert (event["DTSTART"], event["DTEND"]) == ("20261126T080000Z", "20261126T110000Z")
    assert event["SUMMARY"] == "Pirmā palīdzība"
    assert event["LOCATION"] == "Jelgavas ugunsdzēsēju depo\\, Rūpniecības iela 4"
    assert event["GEO"] == "56.651100;23.721400"
    assert event["UID"].startswith(f"training-session-{ts.id}@") and event["DTSTAMP"]

    staff = app.test_client()
    users.login(staff, instructor)
    teaching = staff.get("/volunteers/training/teaching").get_data(as_text=True)
    url = re.search(r'value="(http[^"]+/feeds/[^"]+\.ics)" aria-label', teaching).group(1)
    anonymous = app.test_client().get(url[url.index("/volunteers"):])
    [event] = parse_ics(anonymous.get_data(as_text=True))[1:]
    assert event["UID"].startswith(f"training-session-{ts.id}@")
    assert app.test_client().get("/volunteers/training/feeds/forged.ics").status_code == 404


def test_the_pages_speak_latvian_and_english(client, users, db, make_volunteer):
    volunteer, = people(make_volunteer, 1)
    ts = planned(db, course(db).id)
    training.enrol(db, ts, volunteer)
    db.commit()
    users.signed_in(client, "maris", "trainer")
    for path in ("/volunteers/training/", f"/volunteers/training/sessions/{ts.id}",
                 "/volunteers/training/courses/new", "/volunteers/training/sessions/new"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert '<html lang="lv"' in page.get_data(as_text=True)
    assert "Pirmā palīdzība" in client.get("/volunteers/training/").get_data(as_text=True)
    english(client, "/volunteers/training/")
    page = client.get("/volunteers/training/").get_data(as_text=True)
    assert '<html lang="en"' in page and "First aid" in page and "Volunteer training" in page

    as_volunteer(client, volunteer)
    page = client.get("/volunteers/training/mine").get_data(as_text=True)
    assert '<html lang="en"' in page and "My trainings" in page and "First aid" in page
