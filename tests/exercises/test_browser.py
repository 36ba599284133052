"""The demo exercise in a real browser: a trainer starts it at speed 60× and releases the
commission chair's first inject early; the chair's page brings it without a reload, the
chair acknowledges and answers it; the evaluator rates the inject's objective; the
trainer ends the exercise and the after-action report shows the chair's measured times
and the rating, and its PDF downloads.

The clock is the test's frozen one: the test moves it between what people do, so the
times measured are known to the second."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import expect

from sargs import clock
from sargs.exercises import builder
from sargs.exercises.builder_schemas import ParticipantIn
from sargs.exercises.demo import seed_demo
from tests.areas.test_browser import live_url  # noqa: F401 (the live server)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SARGS_SCREENSHOTS")
CHAIR = "komisijas priekšsēdētājs"
ANSWER = "CA komisija sasaukta uz ārkārtas sēdi plkst. 14:30 domes zālē."
OBSERVATION = "Komisija sasaukta laikā, bet divi locekļi nebija sasniedzami pa tālruni."
ACK_AFTER_S, ANSWER_AFTER_S = 45, 120  # real seconds after the delivery


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


@pytest.fixture
def tab(chromium: Any, live_url: str) -> Iterator[Callable[[], Any]]:  # noqa: F811
    """A new browser of its own (own cookies) for each person."""
    contexts = []

    def open_tab() -> Any:
        context = chromium.new_context(viewport={"width": 1280, "height": 1000},
                                       base_url=live_url, locale="lv-LV")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.page_errors = []
        page.on("pageerror", lambda error: page.page_errors.append(str(error)))
        return page

    yield open_tab
    for context in contexts:
        context.close()


def sign_in(page: Any, user: Any) -> None:
    """Password, then the TOTP code if the user's role asks for one."""
    page.goto("/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    if urlsplit(page.url).path == "/login/totp":
        page.fill("input[name=code]", pyotp.TOTP(user.totp_secret).at(clock.now()))
        with page.expect_navigation():
            page.click("main form button[type=submit]")
    assert urlsplit(page.url).path != "/login/totp"


def _assign(db: Any, exercise: Any, participant: Any, user: Any) -> None:
    builder.update_participant(db, exercise, participant, ParticipantIn(
        **{**builder.participant_values(db, participant), "user_id": user.id}))


def test_a_demo_exercise_is_run_answered_rated_and_its_report_shows_the_times(
        tab, app, users, db, frozen_clock):
    trainer = users.create("treneris", "trainer")
    chair_user, evaluator_user = users.create("priekssedetajs"), users.create("vertetajs")
    with app.test_request_context():
        exercise = seed_demo(db, trainer.id)
        chair = next(p for p in exercise.participants if p.kind == "participant"
                     and p.role == CHAIR)
        evaluator = next(p for p in exercise.participants if p.kind == "evaluator")
        _assign(db, exercise, chair, chair_user)
        _assign(db, exercise, evaluator, evaluator_user)
        builder.mark_ready(db, exercise)  # a changed exercise is checked again
    # The chair's first inject on the exercise page or by SMS, and the objective it serves.
    first = min((i for i in exercise.injects if i.channel in ("page", "sms")
                 and i.recipient_role == CHAIR), key=lambda i: (i.offset_s, i.number))
    exercise_id, chair_id, chair_name, inject_id = exercise.id, chair.id, chair.name, first.id
    number, objective_id = first.number, first.objective_id
    db.commit()
    db.close()  # SQLite: no transaction left open while the app writes

    control = tab()
    sign_in(control, trainer)
    control.goto(f"/exercises/run/{exercise_id}")
    control.fill("#f-start-speed", "60")
    control.click("[data-testid=start]")
    expect(control.locator("[data-testid=clock]")).to_have_attribute("data-state", "running")
    assert control.get_attribute("[data-testid=clock]", "data-speed") == "60.0"

    # The chair's page is open before anything reaches them.
    player = tab()
    sign_in(player, chair_user)
    player.goto(f"/exercises/my/{exercise_id}")
    expect(player.locator("[data-testid=no-injects]")).to_be_visible()
    assert player.locator("[data-testid=inject]").count() == 0

    control.click(f"[data-testid=release-form][data-inject='{number}'] [data-testid=release]")
    line = control.locator(f"[data-testid=line][data-inject='{number}']"
                           f"[data-participant='{chair_id}']")
    expect(line).to_have_attribute("data-state", "delivered")
    expect(control.locator(f"[data-testid=release-form][data-inject='{number}']")).to_have_count(0)

    # The page's feed brings the inject without a reload.
    inject = player.locator(f"[data-testid=inject][data-id='{inject_id}']")
    expect(inject).to_be_visible(timeout=15_000)
    expect(player.locator("[data-testid=no-injects]")).to_be_hidden()
    assert inject.get_attribute("data-acknowledged") == "no"

    frozen_clock.advance(seconds=ACK_AFTER_S)
    inject.locator("[data-testid=acknowledge]").click()
    expect(inject).to_have_attribute("data-acknowledged", "yes")
    expect(inject.locator("[data-testid=acknowledged]")).to_be_visible()

    frozen_clock.advance(seconds=ANSWER_AFTER_S - ACK_AFTER_S)
    inject.locator(f"#f-answer-{inject_id}-text").fill(ANSWER)
    inject.locator("[data-testid=answer-form] button[type=submit]").click()
    answer = player.locator(f"[data-testid=log-entry][data-kind=answer][data-inject='{number}']")
    expect(answer.locator("[data-testid=log-text]")).to_have_text(ANSWER)
    assert player.locator(f"[data-testid=log-entry][data-kind=acknowledgement]"
                          f"[data-inject='{number}']").count() == 1
    _shot(player, "exercise-participant.png")

    rater = tab()
    sign_in(rater, evaluator_user)
    rater.goto(f"/exercises/my/{exercise_id}/evaluate")
    objective = rater.locator(f"[data-testid=objective][data-id='{objective_id}']")
    assert objective.get_attribute("data-rating") == ""
    objective.locator(f"#f-objective-{objective_id}-rating").select_option("some_challenges")
    objective.locator(f"#f-objective-{objective_id}-text").fill(OBSERVATION)
    objective.locator("[data-testid=observation-form] button[type=submit]").click()
    expect(objective).to_have_attribute("data-rating", "some_challenges")
    noted = rater.locator(f"[data-testid=observation][data-objective='{objective_id}']")
    expect(noted).to_have_attribute("data-rating", "some_challenges")
    expect(noted.locator("[data-testid=observation-text]")).to_have_text(OBSERVATION)

    expect(line).to_have_attribute("data-state", "answered")  # the controller's live refresh
    control.click("[data-testid=end]")
    expect(control.locator("[data-testid=clock]")).to_have_attribute("data-state", "ended")

    control.goto(f"/exercises/report/{exercise_id}")
    times = control.locator(f"[data-testid=role-times][data-role='{CHAIR}']")
    assert float(times.get_attribute("data-ack")) == ACK_AFTER_S
    assert float(times.get_attribute("data-answer")) == ANSWER_AFTER_S
    shown = re.findall(r"(\d+(?:\.\d+)?) s", times.inner_text())
    assert [float(s) for s in shown] == [ACK_AFTER_S, ANSWER_AFTER_S]
    person = control.locator("[data-testid=participant-times]"
                             f"[data-name='{chair_name}']")
    assert (person.get_attribute("data-ack"), person.get_attribute("data-answer")) == (
        times.get_attribute("data-ack"), times.get_attribute("data-answer"))
    totals = control.locator("[data-testid=totals]")
    assert (totals.get_attribute("data-delivered"), totals.get_attribute("data-acknowledged"),
            totals.get_attribute("data-answered")) == ("1", "1", "1")
    rated = control.locator(f"[data-testid=report-objectives] [data-testid=objective]"
                            f"[data-id='{objective_id}']")
    assert rated.get_attribute("data-rating") == "some_challenges"
    assert OBSERVATION in rated.inner_text()
    _shot(control, "exercise-report.png")

    pdf = control.request.get(control.get_attribute("[data-testid=download-pdf]", "href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    assert control.page_errors == player.page_errors == rater.page_errors == []
