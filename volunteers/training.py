"""The training module: courses, their sessions, enrolment with a waiting list,
reminders, attendance, the certificates attendance earns and their renewal.

Rules live here so the pages, the portal, the API and the scheduler share them:

- only active and reserve volunteers enrol, once per session, in a planned session
  that has not started; while seats remain they are enrolled, then they wait in the
  order they asked;
- a seat given back (a cancelled enrolment, a larger capacity) goes to the first
  who waits, and they are told;
- the day before, every enrolled volunteer is reminded once (``reminder_sent_at``);
- the instructor of the session (or a trainer, coordinator, admin) marks
  attendance; attending a course that gives a certificate issues it, with its
  expiry, linked to the enrolment;
- a certificate expiring within :data:`RENEW_WITHIN` is told once
  (``renewal_reminded_at``), with the next session that renews it.

Messages go through the notification engine as "reminder" alerts to each
volunteer's own contact, on their preferred channel, so the delivery ledger shows
who was told what. A volunteer without a contact is simply not told. Every function
leaves committing to the caller: one operation, one transaction.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.auth.models import User, UserRole
from sargs.volunteers import messages, service
from sargs.volunteers.models import (
    Certificate,
    Course,
    Enrolment,
    TrainingSession,
    Volunteer,
)
from sargs.volunteers.schemas import CertificateIn, CourseIn, SessionIn
from sargs.volunteers.service import CALLABLE, Staff, VolunteerError

log = logging.getLogger(__name__)

SOURCE = "reminder"
CHANNELS = ("telegram", "sms", "email")  # a volunteer's addresses, preferred first
REMIND_BEFORE = timedelta(hours=24)
RENEW_WITHIN = timedelta(days=30)
TEACHER_ROLES = ("instructor", "trainer")
MANAGER_ROLES = frozenset({"admin", "coordinator", "trainer"})
# The volunteer's own training page; the blueprint serves it at this path.
MINE_PATH = "/volunteers/training/mine"

TEXTS: dict[str, dict[str, str]] = {
    "lv": {
        "reminder": "Atgādinājums: {when} mācības “{title}”, {place}. Ja nevarat ierasties, "
                    "atsakieties: {url}",
        "promoted": "Atbrīvojās vieta: jums ir vieta mācībās “{title}” {when}, {place}.",
        "cancelled": "Mācības “{title}” {when} ({place}) ir atceltas. Atvainojamies!",
        "renewal": "Jūsu apliecība “{certificate}” ir derīga līdz {expires}.",
        "next": " Atjaunot var mācībās “{title}” {when}, {place}. Pieteikties: {url}",
        "no_next": " Nākamās mācības vēl nav izsludinātas; sekojiet: {url}",
    },
    "en": {
        "reminder": "Reminder: training “{title}” on {when}, {place}. If you cannot come, "
                    "cancel here: {url}",
        "promoted": "A seat came free: you have a place in the training “{title}” on "
                    "{when}, {place}.",
        "cancelled": "The training “{title}” on {when} ({place}) is cancelled. We are sorry!",
        "renewal": "Your certificate “{certificate}” is valid until {expires}.",
        "next": " Renew it at the training “{title}” on {when}, {place}. Enrol: {url}",
        "no_next": " The next training is not announced yet; watch for it: {url}",
    },
}


class TrainingError(VolunteerError):
    """A training rule refused the operation; ``field`` names what to correct."""


# --- reading ---------------------------------------------------------------------------


@dataclass
class Roster:
    """A session's people: enrolled and waiting in the order they asked."""

    session: TrainingSession
    enrolled: list[tuple[Enrolment, Volunteer]] = field(default_factory=list)
    waiting: list[tuple[Enrolment, Volunteer]] = field(default_factory=list)

    @property
    def seats_left(self) -> int:
        return max(self.session.capacity - len(self.enrolled), 0)

    @property
    def volunteer_ids(self) -> list[int]:
        return [v.id for _e, v in self.enrolled + self.waiting]


def course_title(course: Course, language: str) -> str:
    return course.title_en if language == "en" and course.title_en else course.title_lv


def courses(session: Session, *, active_only: bool = False) -> list[Course]:
    query = select(Course).order_by(Course.code)
    if active_only:
        query = query.where(Course.active.is_(True))
    return list(session.scalars(query))


def instructors(session: Session) -> list[User]:
    """Active staff who may teach a session: instructors and trainers."""
    return list(session.scalars(
        select(User).where(User.active.is_(True), User.id.in_(
            select(UserRole.user_id).where(UserRole.role.in_(TEACHER_ROLES))))
        .order_by(User.display_name)))


def sessions_between(session: Session, start: datetime | None = None,
                     end: datetime | None = None, *,
                     instructor_id: int | None = None) -> list[TrainingSession]:
    query = select(TrainingSession).order_by(TrainingSession.starts_at, TrainingSession.id)
    if start is not None:
        query = query.where(TrainingSession.ends_at > start)
    if end is not None:
        query = query.where(TrainingSession.starts_at < end)
    if instructor_id is not None:
        query = query.where(TrainingSession.instructor_id == instructor_id)
    return list(session.scalars(query))


def counts(session: Session, session_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Session id → {"enrolled": n, "waiting": m}, for lists of sessions."""
    ids = list(session_ids)
    found: dict[int, dict[str, int]] = {i: {"enrolled": 0, "waiting": 0} for i in ids}
    if ids:
        for session_id, state, number in session.execute(
                select(Enrolment.session_id, Enrolment.state, func.count())
                .where(Enrolment.session_id.in_(ids), Enrolment.state != "cancelled")
                .group_by(Enrolment.session_id, Enrolment.state)):
            found[session_id][state] = number
    return found


def _entries(session: Session, session_id: int, state: str) -> list[tuple[Enrolment, Volunteer]]:
    return [(e, v) for e, v in session.execute(
        select(Enrolment, Volunteer).join(Volunteer, Volunteer.id == Enrolment.volunteer_id)
        .where(Enrolment.session_id == session_id, Enrolment.state == state)
        .order_by(Enrolment.asked_at, Enrolment.id))]


def roster(session: Session, ts: TrainingSession) -> Roster:
    return Roster(ts, _entries(session, ts.id, "enrolled"), _entries(session, ts.id, "waiting"))


def enrolment_of(session: Session, ts: TrainingSession, volunteer: Volunteer) -> Enrolment | None:
    return session.scalar(select(Enrolment).where(
        Enrolment.session_id == ts.id, Enrolment.volunteer_id == volunteer.id))


def of_volunteer(session: Session,
                 volunteer: Volunteer) -> list[tuple[Enrolment, TrainingSession]]:
    """The volunteer's enrolments (any state), soonest session first."""
    return [(e, s) for e, s in session.execute(
        select(Enrolment, TrainingSession)
        .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
        .where(Enrolment.volunteer_id == volunteer.id)
        .order_by(TrainingSession.starts_at, TrainingSession.id))]


def open_sessions(session: Session) -> list[TrainingSession]:
    """Planned sessions that have not started, soonest first."""
    return list(session.scalars(select(TrainingSession).where(
        TrainingSession.state == "planned", TrainingSession.starts_at > clock.now())
        .order_by(TrainingSession.starts_at, TrainingSession.id)))


def next_session_for(session: Session, kind: str) -> TrainingSession | None:
    """The soonest open session of an active course giving the certificate ``kind``,
    one with a seat left if there is any."""
    found = list(session.scalars(
        select(TrainingSession).join(Course, Course.id == TrainingSession.course_id).where(
            Course.certificate_kind == kind, Course.active.is_(True),
            TrainingSession.state == "planned", TrainingSession.starts_at > clock.now())
        .order_by(TrainingSession.starts_at, TrainingSession.id).limit(20)))
    taken = counts(session, [s.id for s in found])
    for ts in found:
        if taken[ts.id]["enrolled"] < ts.capacity:
            return ts
    return found[0] if found else None


# --- who may do what ------------------------------------------------------------------


def manages(staff: Staff) -> bool:
    """Trainers, coordinators and admins run every session."""
    return bool(staff.roles & MANAGER_ROLES)


def teaches(staff: Staff, ts: TrainingSession) -> bool:
    return staff.user_id is not None and ts.instructor_id == staff.user_id


def may_see(staff: Staff, ts: TrainingSession) -> bool:
    """Managers and readers (commission, auditor) see every session; an instructor
    sees the sessions they teach."""
    return manages(staff) or bool(staff.roles & {"commission", "auditor"}) or teaches(staff, ts)


def may_mark(staff: Staff, ts: TrainingSession) -> bool:
    return manages(staff) or teaches(staff, ts)


# --- courses and sessions ----------------------------------------------------------------


def _check_course(session: Session, data: CourseIn, except_id: int | None = None) -> None:
    query = select(Course.id).where(func.lower(Course.code) == data.code.lower())
    if except_id is not None:
        query = query.where(Course.id != except_id)
    if session.scalar(query) is not None:
        raise TrainingError("code", _("Another course has this code."))
    if data.certificate_months is not None and data.certificate_kind is None:
        raise TrainingError("certificate_months", _(
            "A validity needs a kind of certificate the course gives."))


def create_course(session: Session, data: CourseIn) -> Course:
    _check_course(session, data)
    course = Course(created_at=clock.now(), **data.model_dump())
    session.add(course)
    session.flush()
    return course


def update_course(session: Session, course: Course, data: CourseIn, *,
                  active: bool = True) -> Course:
    _check_course(session, data, course.id)
    for name, value in data.model_dump().items():
        setattr(course, name, value)
    course.active = active
    session.flush()
    return course


def _check_session(session: Session, data: SessionIn) -> Course:
    course = session.get(Course, data.course_id)
    if course is None:
        raise TrainingError("course_id", _("Choose a course from the list."))
    if data.instructor_id is not None and data.instructor_id not in {
            u.id for u in instructors(session)}:
        raise TrainingError("instructor_id", _(
            "The instructor must be a user with the instructor or trainer role."))
    if (data.lat is None) != (data.lon is None):
        raise TrainingError("lon", _("Give both latitude and longitude, or neither."))
    return course


def create_session(session: Session, data: SessionIn) -> TrainingSession:
    course = _check_session(session, data)
    if not course.active:
        raise TrainingError("course_id", _("The course is no longer offered."))
    if data.starts_at <= clock.now():
        raise TrainingError("starts_at", _("The start is in the past."))
    ts = TrainingSession(created_at=clock.now(), state="planned", **data.model_dump())
    session.add(ts)
    session.flush()
    return ts


def update_session(session: Session, ts: TrainingSession, data: SessionIn,
                   settings: Any = None) -> TrainingSession:
    """Change a planned session; a larger capacity seats those who wait (and tells
    them), a capacity below the people already enrolled is refused."""
    if ts.state != "planned":
        raise TrainingError("state", _("Only a planned session can be changed."))
    _check_session(session, data)
    _lock(session, ts)
    enrolled = counts(session, [ts.id])[ts.id]["enrolled"]
    if data.capacity < enrolled:
        raise TrainingError("capacity", _(
            "Volunteers already enrolled: %(n)s; cancel enrolments first.", n=enrolled))
    if data.starts_at != ts.starts_at:
        ts.reminder_sent_at = None  # a new time deserves its own reminder
    for name, value in data.model_dump().items():
        setattr(ts, name, value)
    session.flush()
    if ts.starts_at > clock.now():
        _fill(session, settings, ts)
    return ts


def cancel_session(session: Session, ts: TrainingSession, settings: Any = None) -> int:
    """Cancel a planned session and tell everyone enrolled or waiting; returns how
    many volunteers were told."""
    if ts.state != "planned":
        raise TrainingError("state", _("Only a planned session can be cancelled."))
    ts.state = "cancelled"
    session.flush()
    people = roster(session, ts)
    return _tell(session, settings, [v for _e, v in people.enrolled + people.waiting],
                 "cancelled", ts, f"training_session:{ts.id}:cancelled")


# --- enrolment ----------------------------------------------------------------------------


def _lock(session: Session, ts: TrainingSession) -> None:
    """Re-read the session under a row lock, so two people cannot take the last seat
    (SQLite's BEGIN IMMEDIATE already serialises writers)."""
    session.refresh(ts, with_for_update={"of": TrainingSession})  # not the course row


def enrol(session: Session, ts: TrainingSession, volunteer: Volunteer) -> Enrolment:
    """Enrol the volunteer, or put them on the waiting list when the seats are taken."""
    if volunteer.status not in CALLABLE:
        raise TrainingError("volunteer", _(
            "Only approved volunteers (active or reserve) can enrol in trainings."))
    _lock(session, ts)
    if ts.state == "cancelled":
        raise TrainingError("session", _("This session is cancelled."))
    if ts.state != "planned" or ts.starts_at <= clock.now():
        raise TrainingError("session", _("This session has already started."))
    enrolment = enrolment_of(session, ts, volunteer)
    if enrolment is not None and enrolment.state == "enrolled":
        raise TrainingError("session", _("Already enrolled in this session."))
    if enrolment is not None and enrolment.state == "waiting":
        raise TrainingError("session", _("Already on the waiting list of this session."))
    seated = counts(session, [ts.id])[ts.id]["enrolled"]
    state = "enrolled" if seated < ts.capacity else "waiting"
    if enrolment is None:
        enrolment = Enrolment(session_id=ts.id, volunteer_id=volunteer.id, state=state,
                              asked_at=clock.now())
        session.add(enrolment)
    else:  # asked again after cancelling: to the end of the queue
        enrolment.state, enrolment.asked_at = state, clock.now()
        enrolment.attended = enrolment.certificate_id = None
    session.flush()
    return enrolment


def cancel(session: Session, enrolment: Enrolment, settings: Any = None) -> Enrolment | None:
    """Cancel an enrolment (or leave the waiting list). A seat given back in a session
    still to come goes to the first who waits, who is told; that enrolment is returned."""
    was = enrolment.state
    enrolment.state = "cancelled"
    session.flush()
    ts = session.get(TrainingSession, enrolment.session_id)
    if was != "enrolled" or ts is None or ts.state != "planned" or ts.starts_at <= clock.now():
        return None
    promoted = _fill(session, settings, ts)
    return promoted[0] if promoted else None


def withdraw(session: Session, ts: TrainingSession, volunteer: Volunteer,
             settings: Any = None) -> Enrolment | None:
    """The volunteer gives back their seat or leaves the waiting list, before the start."""
    enrolment = enrolment_of(session, ts, volunteer)
    if enrolment is None or enrolment.state == "cancelled":
        raise TrainingError("session", _("Not enrolled in this session."))
    if ts.starts_at <= clock.now():
        raise TrainingError("session", _(
            "The session has already started; tell the instructor instead."))
    return cancel(session, enrolment, settings)


def _fill(session: Session, settings: Any, ts: TrainingSession) -> list[Enrolment]:
    """Seat those who wait, in order, while seats remain; tell each one."""
    _lock(session, ts)
    free = ts.capacity - counts(session, [ts.id])[ts.id]["enrolled"]
    promoted: list[tuple[Enrolment, Volunteer]] = []
    for enrolment, volunteer in _entries(session, ts.id, "waiting"):
        if len(promoted) >= free:
            break
        if volunteer.status in CALLABLE:
            enrolment.state = "enrolled"
            promoted.append((enrolment, volunteer))
    session.flush()
    for enrolment, volunteer in promoted:
        _tell(session, settings, [volunteer], "promoted", ts,
              f"training_session:{ts.id}:seat:{enrolment.id}")
    return [e for e, _v in promoted]


# --- attendance and certificates ----------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months; the 31st becomes the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))


def _issue(session: Session, ts: TrainingSession, enrolment: Enrolment,
           volunteer: Volunteer) -> Certificate:
    course = ts.course
    assert course.certificate_kind is not None
    issued = min(clock.local(ts.starts_at).date(), clock.now().date())
    instructor = session.get(User, ts.instructor_id) if ts.instructor_id else None
    certificate = service.add_certificate(session, volunteer, CertificateIn(
        kind=course.certificate_kind, title=course.title_lv, issued_on=issued,
        expires_on=add_months(issued, course.certificate_months)
        if course.certificate_months else None,
        issued_by=instructor.display_name if instructor else ""), session_id=ts.id)
    enrolment.certificate_id = certificate.id
    return certificate


def mark_attendance(session: Session, ts: TrainingSession, attended: Iterable[int],
                    staff: Staff) -> list[Certificate]:
    """Record who of the enrolled came (``attended``: enrolment ids); the others did
    not. Attending a course that gives a certificate issues it once; unmarking takes
    back the certificate this session issued. Returns the certificates issued now."""
    if not may_mark(staff, ts):
        raise TrainingError("session", _("Only the session's instructor can mark attendance."))
    if ts.state == "cancelled":
        raise TrainingError("session", _("This session is cancelled."))
    if ts.starts_at > clock.now():
        raise TrainingError("session", _("Attendance can be marked once the session has started."))
    came = set(attended)
    issued: list[Certificate] = []
    for enrolment, volunteer in _entries(session, ts.id, "enrolled"):
        enrolment.attended = enrolment.id in came
        if enrolment.attended and ts.course.certificate_kind and enrolment.certificate_id is None \
                and volunteer.status != "erased":
            issued.append(_issue(session, ts, enrolment, volunteer))
        elif not enrolment.attended and enrolment.certificate_id is not None:
            certificate = session.get(Certificate, enrolment.certificate_id)
            enrolment.certificate_id = None
            if certificate is not None and certificate.session_id == ts.id:
                session.delete(certificate)
    ts.state = "done"
    session.flush()
    return issued


# --- telling volunteers ------------------------------------------------------------------


def _settings(settings: Any) -> Any:
    if settings is None and has_app_context():
        return current_app.extensions["sargs"].settings
    return settings


def _portal_url(settings: Any) -> str:
    return f"{settings.base_url}{MINE_PATH}" if settings is not None else MINE_PATH


def _when(moment: datetime) -> str:
    return clock.local(moment).strftime("%d.%m.%Y %H:%M")


def _session_texts(key: str, ts: TrainingSession, url: str) -> dict[str, str]:
    return {language: words[key].format(title=course_title(ts.course, language),
                                        when=_when(ts.starts_at), place=ts.place, url=url)
            for language, words in TEXTS.items()}


def send(session: Session, settings: Any, volunteers: Iterable[Volunteer],
         texts: dict[str, str], source_ref: str) -> int:
    """One message to each callable volunteer, on their first channel (see
    :mod:`sargs.volunteers.messages`); returns how many were told."""
    contact_ids = [v.contact_id for v in volunteers
                   if v.contact_id is not None and v.status in CALLABLE]
    sent = messages.send(session, contact_ids, CHANNELS, texts=texts, source=SOURCE,
                         source_ref=source_ref, sendable=messages.configured(settings))
    return len(sent)


def _tell(session: Session, settings: Any, volunteers: list[Volunteer], key: str,
          ts: TrainingSession, source_ref: str) -> int:
    settings = _settings(settings)
    return send(session, settings, volunteers,
                _session_texts(key, ts, _portal_url(settings)), source_ref)


# --- the scheduler's tick ----------------------------------------------------------------


def send_reminders(session: Session, settings: Any = None) -> int:
    """Remind the enrolled of each session starting within :data:`REMIND_BEFORE`,
    once per session; returns how many sessions were reminded."""
    now = clock.now()
    due = list(session.scalars(select(TrainingSession).where(
        TrainingSession.state == "planned", TrainingSession.reminder_sent_at.is_(None),
        TrainingSession.starts_at > now, TrainingSession.starts_at <= now + REMIND_BEFORE)
        .order_by(TrainingSession.starts_at)))
    for ts in due:
        _tell(session, settings, [v for _e, v in _entries(session, ts.id, "enrolled")],
              "reminder", ts, f"training_session:{ts.id}:reminder")
        ts.reminder_sent_at = now
    session.flush()
    return len(due)


def _renewed(session: Session, certificate: Certificate) -> bool:
    """The volunteer already holds a newer certificate of the same kind."""
    return session.scalar(select(Certificate.id).where(
        Certificate.volunteer_id == certificate.volunteer_id,
        Certificate.kind == certificate.kind, Certificate.id != certificate.id,
        Certificate.expires_on.is_(None) | (Certificate.expires_on > certificate.expires_on))
        .limit(1)) is not None


def renewal_texts(certificate: Certificate, offer: TrainingSession | None,
                  url: str) -> dict[str, str]:
    texts = {}
    for language, words in TEXTS.items():
        text = words["renewal"].format(certificate=certificate.title,
                                       expires=certificate.expires_on.strftime("%d.%m.%Y")
                                       if certificate.expires_on else "")
        if offer is not None:
            text += words["next"].format(title=course_title(offer.course, language),
                                         when=_when(offer.starts_at), place=offer.place, url=url)
        else:
            text += words["no_next"].format(url=url)
        texts[language] = text
    return texts


def send_renewal_reminders(session: Session, settings: Any = None) -> int:
    """Tell each volunteer whose certificate expires within :data:`RENEW_WITHIN` (once
    per certificate), offering the next session that renews it. A certificate already
    renewed is marked without a message; a volunteer who cannot be reached is tried
    again at a later tick. Returns how many were told."""
    settings = _settings(settings)
    now = clock.now()
    today = clock.local(now).date()
    rows = session.execute(
        select(Certificate, Volunteer).join(Volunteer, Volunteer.id == Certificate.volunteer_id)
        .where(Certificate.renewal_reminded_at.is_(None), Certificate.expires_on >= today,
               Certificate.expires_on <= today + RENEW_WITHIN,
               Volunteer.status.in_(CALLABLE))
        .order_by(Certificate.expires_on, Certificate.id)).all()
    told = 0
    for certificate, volunteer in rows:
        if _renewed(session, certificate):
            certificate.renewal_reminded_at = now
            continue
        offer = next_session_for(session, certificate.kind)
        if send(session, settings, [volunteer],
                renewal_texts(certificate, offer, _portal_url(settings)),
                f"training_certificate:{certificate.id}"):
            certificate.renewal_reminded_at = now
            told += 1
    session.flush()
    return told


def run_due(session: Session, settings: Any) -> None:
    """The scheduler's tick: session reminders and certificate renewals."""
    reminded = send_reminders(session, settings)
    renewals = send_renewal_reminders(session, settings)
    if reminded or renewals:
        log.info("training: %s sessions reminded, %s renewals told", reminded, renewals)
