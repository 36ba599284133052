"""The after-action report of a scripted run on the frozen clock: two participants in two
roles get three injects on the exercise page and by SMS and answer them at known
seconds; the report measures exactly those seconds per participant and per role, its
HTML shows the timeline, its PDF is a PDF whose text carries the title and a measured
time with the Latvian letters intact, and finishing it marks the continuity plan tested
with the trainer's choice per critical service."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

from sargs import clock
from sargs.exercises import builder, conduct, report, run
from sargs.exercises.builder_schemas import ExerciseIn, InjectIn, ObjectiveIn, ParticipantIn
from sargs.exercises.models import Exercise
from tests.conftest import csrf_token
from tests.kernel.helpers import field_has_error

CHAIR = "komisijas vadītājs"
DIRECTOR = "skolas direktore"
TITLE = "Vētra Jelgavā: ūdens, ģenerators, ķēde"
BASE = "/exercises/report"


def _deliver(db: Any) -> list[int]:
    numbers = [i.number for i in run.deliver_due(db, None)]
    db.commit()
    return numbers


def _respond(db: Any, exercise: Exercise, who: str, number: int, kind: str,
             via: str = "page") -> None:
    person = next(p for p in exercise.participants if p.name == who)
    inject = next(i for i in exercise.injects if i.number == number)
    conduct.respond(db, exercise, person, kind, "" if kind == "acknowledgement"
                    else "Komisija sasaukta", inject=inject, via=via)
    db.commit()


@pytest.fixture
def scripted(db: Any, plan: Any, frozen_clock: Any) -> Exercise:
    """The scripted run, ended. Inject 1 (0 min, page) and 3 (20 min, page) go to the chair,
    inject 2 (10 min, SMS) to the director. The chair acknowledges after 45 s and 15 s and
    decides after 120 s and 300 s; the director acknowledges after 30 s, decides after
    120 s. The evaluator rates the heating objective "some challenges" (met) and the meals
    one "major challenges" (not met)."""
    exercise = builder.create_exercise(db, ExerciseIn(
        title=TITLE, scheduled_at=clock.now(), duration_minutes=60,
        scenario="Sarkanais vēja brīdinājums; skolā nav elektrības."))
    heating, meals = plan.services
    builder.add_objective(db, exercise, ObjectiveIn(text="Apkure atjaunota 4 h laikā",
                                                    service_id=heating.id))
    builder.add_objective(db, exercise, ObjectiveIn(text="Ēdināšana nodrošināta",
                                                    service_id=meals.id))
    builder.add_participant(db, exercise, ParticipantIn(
        name="Jānis Ozols", role=CHAIR, phone="+37120000001"))
    builder.add_participant(db, exercise, ParticipantIn(
        name="Anna Bērziņa", role=DIRECTOR, phone="+37120000002"))
    for minutes, channel, role in ((0, "page", CHAIR), (10, "sms", DIRECTOR),
                                   (20, "page", CHAIR)):
        builder.add_inject(db, exercise, InjectIn(
            offset=minutes * 60, channel=channel, recipient_role=role, sender="LVĢMC",
            text=f"Ievads {minutes}. minūtē: stiprs vējš", expected_action="Sasaukt komisiju"))
    builder.mark_ready(db, exercise)
    run.start(db, exercise, None)
    db.commit()

    assert _deliver(db) == [1]
    frozen_clock.advance(seconds=45)
    _respond(db, exercise, "Jānis Ozols", 1, "acknowledgement")
    frozen_clock.advance(seconds=75)
    _respond(db, exercise, "Jānis Ozols", 1, "decision")
    frozen_clock.advance(seconds=600 - 120)
    assert _deliver(db) == [2]
    frozen_clock.advance(seconds=30)
    _respond(db, exercise, "Anna Bērziņa", 2, "acknowledgement", via="sms")
    frozen_clock.advance(seconds=90)
    _respond(db, exercise, "Anna Bērziņa", 2, "answer", via="sms")
    frozen_clock.advance(seconds=1200 - 720)
    assert _deliver(db) == [3]
    frozen_clock.advance(seconds=15)
    _respond(db, exercise, "Jānis Ozols", 3, "acknowledgement")
    frozen_clock.advance(seconds=285)
    _respond(db, exercise, "Jānis Ozols", 3, "decision")

    first, second = exercise.objectives
    conduct.observe(db, exercise, first, "some_challenges", "Ģenerators iedarbināts vēlu",
                    user_id=None, strength="Ātra sasaukšana", improvement="Ģeneratora atslēga")
    conduct.observe(db, exercise, second, "major_challenges", "Pārtikas nebija",
                    user_id=None, improvement="Sausās pārtikas krājums")
    run.end(db, exercise)
    db.commit()
    return exercise


def test_the_draft_waits_for_the_end(db, plan):
    exercise = builder.create_exercise(db, ExerciseIn(title="Vēl nav", scheduled_at=clock.now()))
    with pytest.raises(report.ReportError) as refused:
        report.draft(db, exercise)
    assert refused.value.field == "exercise"


def test_the_report_measures_the_scripted_seconds(db, scripted):
    drafted = report.draft(db, scripted)
    db.commit()
    assert report.draft(db, scripted).id == drafted.id  # once
    found = report.contents(db, scripted, drafted)

    people = {m.name: (m.deliveries, m.acknowledged, m.median_ack_s, m.median_answer_s)
              for m in found.by_participant}
    assert people == {"Jānis Ozols": (2, 2, 30.0, 210.0),
                      "Anna Bērziņa": (1, 1, 30.0, 120.0)}
    roles = {m.role: (m.deliveries, m.acknowledged, m.answered, m.median_ack_s,
                      m.median_answer_s) for m in found.by_role}
    assert roles == {CHAIR: (2, 2, 2, 30.0, 210.0), DIRECTOR: (1, 1, 1, 30.0, 120.0)}
    assert [(line.inject.number, line.participant.name, line.ack_s, line.answer_s, line.state)
            for line in found.timeline] == [
        (1, "Jānis Ozols", 45.0, 120.0, "answered"),
        (2, "Anna Bērziņa", 30.0, 120.0, "answered"),
        (3, "Jānis Ozols", 15.0, 300.0, "answered")]
    assert {row.objective.text: row.rating for row in found.objectives} == {
        "Apkure atjaunota 4 h laikā": "some_challenges",
        "Ēdināšana nodrošināta": "major_challenges"}

    sections = drafted.sections
    assert sections["summary"].startswith("Sarkanais vēja brīdinājums")
    assert "3" in sections["summary"]
    assert sections["strengths"] == "- Ātra sasaukšana"
    assert sections["improvements"] == "- Ģeneratora atslēga\n- Sausās pārtikas krājums"
    assert sections["conclusions"] == ""


def test_the_trainer_edits_the_sections_within_limits(db, scripted):
    drafted = report.draft(db, scripted)
    report.update(db, drafted, {"conclusions": "  Plāns jāpapildina.  "}, None)
    assert drafted.sections["conclusions"] == "Plāns jāpapildina."
    assert drafted.sections["strengths"] == "- Ātra sasaukšana"  # kept
    with pytest.raises(report.ReportError) as refused:
        report.update(db, drafted, {"appendix": "x"}, None)
    assert refused.value.field == "appendix"
    with pytest.raises(report.ReportError) as refused:
        report.update(db, drafted, {"summary": "x" * (report.SECTION_LIMIT + 1)}, None)
    assert refused.value.field == "summary"


def test_the_pages_show_the_timeline_and_the_pdf_carries_the_times(client, users, db,
                                                                   scripted):
    users.signed_in(client, "ilze", "trainer")
    page = client.get(f"{BASE}/{scripted.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert len(re.findall(r'data-testid="timeline-line"', text)) == 3
    assert 'data-testid="role-times" data-role="komisijas vadītājs" data-ack="30.0" ' \
           'data-answer="210.0"' in text

    download = client.get(f"{BASE}/{scripted.id}.html")
    assert download.status_code == 200 and "attachment" in download.headers[
        "Content-Disposition"]
    html = download.get_data(as_text=True)
    assert "<script" not in html and "<svg" in html and "DejaVu Sans" in html
    assert re.findall(r'data-testid="timeline-line" data-inject="(\d)" '
                      r'data-participant="([^"]+)"', html) == [
        ("1", "Jānis Ozols"), ("2", "Anna Bērziņa"), ("3", "Jānis Ozols")]

    pdf = client.get(f"{BASE}/{scripted.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    words = " ".join(" ".join(p.extract_text().split())
                     for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert TITLE in words  # ē, ū, ģ, ķ as written
    assert "Jānis Ozols" in words and "210 s" in words


def test_readers_read_and_only_trainers_write(client, users, db, scripted):
    users.signed_in(client, "ilze", "trainer")
    assert client.get(f"{BASE}/{scripted.id}").status_code == 200  # drafted here
    client.post("/logout", data={"csrf_token": csrf_token(client, f"{BASE}/{scripted.id}")})

    users.signed_in(client, "komisija", "commission")
    assert client.get(f"{BASE}/{scripted.id}").status_code == 200
    assert client.get(f"{BASE}/{scripted.id}/edit").status_code == 403
    token = csrf_token(client, f"{BASE}/{scripted.id}")
    assert client.post(f"{BASE}/{scripted.id}/finish",
                       data={"csrf_token": token}).status_code == 403


def test_a_bad_section_edit_is_named_and_the_pdf_answers_503_without_weasyprint(
        client, users, db, scripted, monkeypatch):
    users.signed_in(client, "ilze", "trainer")
    client.get(f"{BASE}/{scripted.id}")
    token = csrf_token(client, f"{BASE}/{scripted.id}/edit")
    response = client.post(f"{BASE}/{scripted.id}/edit", data={
        "csrf_token": token, "summary": "x" * 20_001, "conclusions": "Labi"})
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), "summary")
    assert client.post(f"{BASE}/{scripted.id}/edit", data={
        "summary": "Bez žetona"}).status_code == 400  # CSRF

    def unavailable(html: str, base_url: str) -> bytes:
        raise report.PdfUnavailable("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(report, "render_pdf", unavailable)
    response = client.get(f"{BASE}/{scripted.id}.pdf")
    assert response.status_code == 503 and "WeasyPrint" in response.get_data(as_text=True)


def test_finishing_marks_the_plan_tested_with_the_trainers_choice(client, users, db,
                                                                  scripted, plan):
    heating, meals = (s.id for s in plan.services)
    path = f"{BASE}/{scripted.id}"
    db.rollback()  # the pages write: the test's session holds no transaction meanwhile
    users.signed_in(client, "ilze", "trainer")
    page = client.get(path).get_data(as_text=True)
    # Prefilled from the ratings: heating met (some challenges), meals not (major).
    assert re.search(rf'name="met_{heating}".*?<option value="yes" selected', page, re.S)
    assert re.search(rf'name="met_{meals}".*?<option value="no" selected', page, re.S)

    token = csrf_token(client, path)
    response = client.post(f"{path}/finish", data={
        "csrf_token": token, f"met_{heating}": "maybe", f"met_{meals}": "no"})
    assert response.status_code == 422
    assert field_has_error(response.get_data(as_text=True), f"met_{heating}")

    response = client.post(f"{path}/finish", data={
        "csrf_token": token, f"met_{heating}": "yes", f"met_{meals}": "yes"})
    assert response.status_code == 302
    db.expire_all()
    day = clock.local(scripted.started_at).date()
    assert plan.last_tested_on == day
    assert [(s.last_tested_on, s.met_objective) for s in plan.services] == [
        (day, True), (day, True)]  # the trainer judged the meals back in time after all
    assert report.get(db, scripted).finished_at == clock.now()
    db.rollback()
    again = client.post(f"{path}/finish", data={
        "csrf_token": token, f"met_{heating}": "yes", f"met_{meals}": "no"})
    assert again.status_code == 422
