"""The training module's pages: courses and sessions for the people who run them
(trainers, coordinators, admins; the commission and auditors read), one session
with its roster and attendance, "the sessions I teach" for an instructor, the
volunteer's own training page in the portal, and iCalendar files.

Every rule is in :mod:`sargs.volunteers.training`; these read forms and render.
An instructor reaches only the sessions they teach (the same check guards the
page, the attendance form and the calendar file).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from sargs import clock
from sargs.auth.access import public, roles
from sargs.auth.models import User
from sargs.context import db_session, settings
from sargs.extensions import limiter
from sargs.volunteers import ical, service, training
from sargs.volunteers.models import Course, Enrolment, TrainingSession, Volunteer
from sargs.volunteers.portal_session import current_volunteer, volunteer_required
from sargs.volunteers.reference import SKILLS, name_of
from sargs.volunteers.schemas import CourseIn, SessionIn
from sargs.web.forms import InputError, validate

bp = Blueprint("training", __name__, template_folder="templates",
               url_prefix="/volunteers/training")

MANAGERS = ("admin", "coordinator", "trainer")
READERS = ("commission", "auditor")
managers = roles(*MANAGERS, read=READERS)
PAST_DAYS = 90  # how far back the sessions list reaches
FEED_SALT = "training-instructor-feed"
PORTAL_LIMIT = "30 per minute"


def _staff() -> service.Staff:
    return service.Staff(current_user.id, frozenset(current_user.role_names))


def _language() -> str:
    return str(get_locale() or "lv")


@bp.context_processor
def _module_context() -> dict[str, Any]:
    def state_label(state: str) -> str:
        return {"planned": _("planned"), "cancelled": _("cancelled"),
                "done": _("done")}.get(state, state)

    def skill(code: str | None) -> str:
        return name_of(SKILLS, code, _language()) if code else ""

    return {"title_of": lambda course: training.course_title(course, _language()),
            "state_label": state_label, "skill_name": skill, "now": clock.now()}


def _session_or_404(session_id: int) -> TrainingSession:
    ts = db_session().get(TrainingSession, session_id)
    if ts is None:
        abort(404)
    return ts


def _instructor_names(sessions: list[TrainingSession]) -> dict[int, str]:
    ids = {s.instructor_id for s in sessions if s.instructor_id}
    if not ids:
        return {}
    return {user_id: name for user_id, name in db_session().execute(
        select(User.id, User.display_name).where(User.id.in_(ids)))}


# --- the list -----------------------------------------------------------------------


@bp.route("/")
@managers
def index() -> Any:
    sess = db_session()
    sessions = training.sessions_between(sess, clock.now() - timedelta(days=PAST_DAYS))
    return render_template(
        "volunteers/training/index.html", courses=training.courses(sess), sessions=sessions,
        counts=training.counts(sess, [s.id for s in sessions]),
        instructor_names=_instructor_names(sessions),
        may_manage=training.manages(_staff()))


# --- courses ------------------------------------------------------------------------


def _course_page(course: Course | None, values: dict[str, Any], errors: dict[str, str],
                 status: int = 200) -> Any:
    return render_template("volunteers/training/course_form.html", course=course,
                           values=values, errors=errors,
                           skills=[(code, name_of(SKILLS, code, _language())) for code in SKILLS]
                           ), status


def _save_course(course: Course | None) -> Any:
    values = {name: request.form.get(name, "") for name in CourseIn.model_fields}
    values["active"] = "active" in request.form
    sess = db_session()
    try:
        data = validate(CourseIn, {k: v for k, v in values.items() if k != "active"})
        if course is None:
            course = training.create_course(sess, data)
        else:
            training.update_course(sess, course, data, active=values["active"])
        sess.commit()
    except InputError as exc:
        sess.rollback()
        return _course_page(course, values, exc.errors, 422)
    except training.TrainingError as exc:
        sess.rollback()
        return _course_page(course, values, {exc.field: exc.message}, 422)
    flash(_("Course %(code)s saved.", code=course.code), "success")
    return redirect(url_for("training.index"))


@bp.route("/courses/new", methods=["GET", "POST"])
@roles(*MANAGERS)
def course_new() -> Any:
    if request.method == "GET":
        return _course_page(None, {"active": True}, {})
    return _save_course(None)


@bp.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@roles(*MANAGERS)
def course_edit(course_id: int) -> Any:
    course = db_session().get(Course, course_id)
    if course is None:
        abort(404)
    if request.method == "GET":
        values = {name: getattr(course, name) for name in CourseIn.model_fields}
        values["active"] = course.active
        return _course_page(course, values, {})
    return _save_course(course)


# --- sessions -----------------------------------------------------------------------


def _local_input(moment: Any) -> str:
    """A stored UTC time as a datetime-local field's value (Riga time)."""
    return clock.local(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _session_page(ts: TrainingSession | None, values: dict[str, Any], errors: dict[str, str],
                  status: int = 200) -> Any:
    sess = db_session()
    return render_template("volunteers/training/session_form.html", ts=ts, values=values,
                           errors=errors, courses=training.courses(sess, active_only=ts is None),
                           instructors=training.instructors(sess)), status


def _save_session(ts: TrainingSession | None) -> Any:
    values = {name: request.form.get(name, "") for name in SessionIn.model_fields}
    sess = db_session()
    try:
        data = validate(SessionIn, values)
        if ts is None:
            ts = training.create_session(sess, data)
        else:
            training.update_session(sess, ts, data, settings())
        sess.commit()
    except InputError as exc:
        sess.rollback()
        return _session_page(ts, values, exc.errors, 422)
    except training.TrainingError as exc:
        sess.rollback()
        return _session_page(ts, values, {exc.field: exc.message}, 422)
    flash(_("Session saved."), "success")
    return redirect(url_for("training.session_page", session_id=ts.id))


@bp.route("/sessions/new", methods=["GET", "POST"])
@roles(*MANAGERS)
def session_new() -> Any:
    if request.method == "GET":
        return _session_page(None, {"course_id": request.args.get("course_id", ""),
                                    "capacity": 12}, {})
    return _save_session(None)


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@roles(*MANAGERS)
def session_edit(session_id: int) -> Any:
    ts = _session_or_404(session_id)
    if request.method == "GET":
        values = {name: getattr(ts, name) for name in SessionIn.model_fields}
        values["starts_at"], values["ends_at"] = _local_input(ts.starts_at), _local_input(ts.ends_at)
        return _session_page(ts, values, {})
    return _save_session(ts)


def _named(roster: training.Roster, staff: service.Staff, ts: TrainingSession) -> set[int]:
    """Volunteers whose names this viewer may read: all for those who run or teach the
    session and those who see every volunteer; a coordinator's own volunteers only."""
    ids = roster.volunteer_ids
    if not ids or staff.sees_all or training.teaches(staff, ts) or {"trainer"} & staff.roles:
        return set(ids)
    return service.visible_ids(db_session(), staff, ids)


def _render_session(ts: TrainingSession, errors: dict[str, str] | None = None,
                    status: int = 200) -> Any:
    staff = _staff()
    if not training.may_see(staff, ts):
        abort(403)
    sess = db_session()
    roster = training.roster(sess, ts)
    named = _named(roster, staff, ts)
    service.record_access(sess, "training.roster_viewed", named)
    sess.commit()
    return render_template(
        "volunteers/training/session.html", ts=ts, roster=roster, named=named,
        instructor=sess.get(User, ts.instructor_id) if ts.instructor_id else None,
        may_manage=training.manages(staff), may_mark=training.may_mark(staff, ts),
        may_enrol=bool(staff.roles & {"admin", "coordinator"}),
        errors=errors or {}), status


@bp.route("/sessions/<int:session_id>")
@roles(*MANAGERS, "instructor", read=READERS)
def session_page(session_id: int) -> Any:
    return _render_session(_session_or_404(session_id))


def _act(session_id: int, do: Callable[[TrainingSession], Any], done: str,
         allowed: Callable[[service.Staff, TrainingSession], bool] | None = None) -> Any:
    """Run one service action on a session: saved and back to its page, or the page
    again with the message and nothing changed."""
    ts = _session_or_404(session_id)
    if allowed is not None and not allowed(_staff(), ts):
        abort(403)
    sess = db_session()
    try:
        do(ts)
        sess.commit()
    except training.TrainingError as exc:
        sess.rollback()
        return _render_session(ts, {exc.field: exc.message}, 422)
    flash(done, "success")
    return redirect(url_for("training.session_page", session_id=ts.id))


@bp.route("/sessions/<int:session_id>/attendance", methods=["POST"])
@roles(*MANAGERS, "instructor")
def attendance(session_id: int) -> Any:
    came = {int(v) for v in request.form.getlist("attended") if v.isdigit()}
    return _act(session_id, lambda ts: training.mark_attendance(db_session(), ts, came, _staff()),
                _("Attendance saved."), training.may_mark)


@bp.route("/sessions/<int:session_id>/cancel", methods=["POST"])
@roles(*MANAGERS)
def session_cancel(session_id: int) -> Any:
    return _act(session_id, lambda ts: training.cancel_session(db_session(), ts, settings()),
                _("The session is cancelled; the volunteers are being told."))


@bp.route("/sessions/<int:session_id>/enrol", methods=["POST"])
@roles("admin", "coordinator")
def staff_enrol(session_id: int) -> Any:
    """A coordinator enrols one of their volunteers (by number)."""
    def enrol(ts: TrainingSession) -> None:
        typed = request.form.get("volunteer_id", "").strip()
        volunteer = service.visible(db_session(), _staff(), int(typed)) \
            if typed.isdigit() else None
        if volunteer is None:
            raise training.TrainingError("volunteer_id", _("No such volunteer among yours."))
        training.enrol(db_session(), ts, volunteer)

    return _act(session_id, enrol, _("Volunteer enrolled."))


@bp.route("/sessions/<int:session_id>/enrolments/<int:enrolment_id>/cancel", methods=["POST"])
@roles(*MANAGERS)
def staff_cancel(session_id: int, enrolment_id: int) -> Any:
    def cancel(ts: TrainingSession) -> None:
        enrolment = db_session().get(Enrolment, enrolment_id)
        if enrolment is None or enrolment.session_id != ts.id or enrolment.state == "cancelled":
            raise training.TrainingError("enrolment", _("No such enrolment."))
        training.cancel(db_session(), enrolment, settings())

    return _act(session_id, cancel, _("Enrolment cancelled."))


# --- the instructor -----------------------------------------------------------------


def _feed_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.config["SECRET_KEY"]), salt=FEED_SALT)


@bp.route("/teaching")
@roles(*training.TEACHER_ROLES, "admin")  # an administrator may teach too
def teaching() -> Any:
    """The sessions I teach: upcoming first, then the recent ones."""
    sess = db_session()
    mine = training.sessions_between(sess, clock.now() - timedelta(days=PAST_DAYS),
                                     instructor_id=current_user.id)
    now = clock.now()
    return render_template(
        "volunteers/training/teaching.html",
        upcoming=[s for s in mine if s.ends_at > now],
        past=list(reversed([s for s in mine if s.ends_at <= now])),
        counts=training.counts(sess, [s.id for s in mine]),
        feed_url=url_for("training.feed", token=_feed_serializer().dumps(current_user.id),
                         _external=True))


def _events(sessions: list[TrainingSession], link: Callable[[TrainingSession], str]
            ) -> list[ical.Event]:
    host = urlsplit(settings().base_url).hostname or "sargs"
    language = _language()
    return [ical.Event(
        uid=f"training-session-{s.id}@{host}", start=s.starts_at, end=s.ends_at,
        summary=training.course_title(s.course, language), location=s.place,
        description=s.course.description, lat=s.lat, lon=s.lon, url=link(s),
        cancelled=s.state == "cancelled") for s in sessions]


def _calendar(sessions: list[TrainingSession], link: Callable[[TrainingSession], str],
              filename: str, name: str = "") -> Response:
    text = ical.calendar(_events(sessions, link), stamp=clock.now(), name=name)
    return Response(text, mimetype="text/calendar", headers={
        "Content-Type": ical.MIME, "Content-Disposition": f"attachment; filename={filename}"})


def _staff_link(ts: TrainingSession) -> str:
    return settings().base_url + url_for("training.session_page", session_id=ts.id)


def _instructor_calendar(user_id: int) -> Response:
    sessions = training.sessions_between(db_session(), clock.now() - timedelta(days=PAST_DAYS),
                                         instructor_id=user_id)
    return _calendar(sessions, _staff_link, "teaching.ics", _("Sessions I teach"))


@bp.route("/teaching.ics")
@roles(*training.TEACHER_ROLES)
def teaching_ics() -> Any:
    return _instructor_calendar(current_user.id)


@bp.route("/feeds/<token>.ics")
@public
def feed(token: str) -> Any:
    """The instructor's sessions for a calendar program to subscribe to: the signed
    link stands in for the sign-in, as long as they still teach."""
    try:
        user_id = _feed_serializer().loads(token)
    except BadSignature:
        abort(404)
    user = db_session().get(User, int(user_id))
    if user is None or not user.active or not set(training.TEACHER_ROLES) & user.role_names:
        abort(404)
    return _instructor_calendar(user.id)


@bp.route("/sessions/<int:session_id>.ics")
@public
def session_ics(session_id: int) -> Any:
    """One session's calendar file, for a volunteer enrolled in it (or waiting) and for
    staff who may see the session."""
    ts = _session_or_404(session_id)
    if current_user.is_authenticated and training.may_see(_staff(), ts):
        return _calendar([ts], _staff_link, f"training-{ts.id}.ics")
    volunteer = current_volunteer()
    if volunteer is not None:
        enrolment = training.enrolment_of(db_session(), ts, volunteer)
        if enrolment is not None and enrolment.state != "cancelled":
            return _calendar([ts], lambda s: settings().base_url + url_for("training.my_sessions"),
                             f"training-{ts.id}.ics")
    abort(404)


# --- the volunteer's own page -------------------------------------------------------


@bp.route("/mine")
@volunteer_required
def my_sessions(volunteer: Volunteer) -> Any:
    sess = db_session()
    now = clock.now()
    mine = training.of_volunteer(sess, volunteer)
    by_session = {s.id: e for e, s in mine}
    offered = training.open_sessions(sess)
    return render_template(
        "volunteers/training/mine.html", volunteer=volunteer,
        may_enrol=volunteer.status in service.CALLABLE,
        upcoming=[(e, s) for e, s in mine if s.ends_at > now and e.state != "cancelled"],
        past=list(reversed([(e, s) for e, s in mine
                            if s.ends_at <= now and e.state == "enrolled"])),
        offered=[s for s in offered if by_session.get(s.id) is None
                 or by_session[s.id].state == "cancelled"],
        counts=training.counts(sess, [s.id for s in offered] + list(by_session)),
        certificates=sorted(volunteer.certificates, key=lambda c: c.issued_on, reverse=True),
        today=clock.local(now).date())


def _portal_act(volunteer: Volunteer, session_id: int,
                do: Callable[[TrainingSession], Any], done: str) -> Any:
    ts = _session_or_404(session_id)
    sess = db_session()
    try:
        do(ts)
        sess.commit()
    except training.TrainingError as exc:
        sess.rollback()
        flash(exc.message, "error")
        return redirect(url_for("training.my_sessions"))
    flash(done, "success")
    return redirect(url_for("training.my_sessions"))


@bp.route("/mine/sessions/<int:session_id>/enrol", methods=["POST"])
@volunteer_required
@limiter.limit(PORTAL_LIMIT)
def my_enrol(volunteer: Volunteer, session_id: int) -> Any:
    def enrol(ts: TrainingSession) -> None:
        enrolment = training.enrol(db_session(), ts, volunteer)
        if enrolment.state == "waiting":
            flash(_("The seats are taken: you are on the waiting list. We will tell you if "
                    "a seat comes free."), "info")

    return _portal_act(volunteer, session_id, enrol, _("Your request is saved."))


@bp.route("/mine/sessions/<int:session_id>/withdraw", methods=["POST"])
@volunteer_required
@limiter.limit(PORTAL_LIMIT)
def my_withdraw(volunteer: Volunteer, session_id: int) -> Any:
    return _portal_act(volunteer, session_id,
                       lambda ts: training.withdraw(db_session(), ts, volunteer, settings()),
                       _("Done: your place is given back."))
