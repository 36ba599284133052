"""The exercise builder's rules: an exercise's details, its objectives, its participants
(reached through the contact registry), its inject list (MSEL) and the inject library;
the inject list as CSV and a whole exercise as JSON.

Plain functions on a session; the pages and the CLI call these, callers commit. Only a
"draft" or "ready" exercise is built here; running it is not this module's business.

The inject list as CSV (``injects.csv`` on the builder page): UTF-8 (with or without
Excel's byte-order mark), ``,`` or ``;`` between fields, a header row naming the columns
in any order::

    number,offset,channel,sender,recipient_role,text,expected_action
    1,0:00,page,LVĢMC,commission chair,Red wind warning for Zemgale,Convene the commission
    2,0:20,sms,Sadales tīkls,school director,Power is out at the school,Report to the shelter lead

``offset`` is "H:MM" or whole minutes after the start; ``channel`` one of page, telegram,
sms, email, voice, pbx (a "warning" line needs its CAP document and is added on the
page); ``number`` may be left empty for the next free one; ``offset``, ``channel`` and
``text`` are required. All lines or none: each bad line is named with its field.

A whole exercise as JSON (``sargs exercises export ID`` / ``import FILE.json``), to carry
it to another municipality. Participants are kept by their role only — names, users and
contact addresses stay at home — and injects name their objective and participant by
position (1-based) in those lists::

    {"format": "sargs-exercise", "version": 1,
     "exercise": {"kind": "tabletop", "title": "Storm in Jelgava",
                  "scheduled_at": "2026-10-01T07:00:00+00:00", "duration_minutes": 120,
                  "scenario": "A red wind warning …"},
     "objectives": [{"text": "Open a shelter within 2 hours", "capability": "",
                     "service": {"organisation": "Jelgavas 4. vidusskola",
                                 "name": "Shelter"}}],
     "participants": [{"kind": "participant", "organisation": "Dome",
                       "role": "commission chair"}],
     "injects": [{"number": 1, "offset": "0:00", "channel": "page", "sender": "LVĢMC",
                  "recipient_role": "commission chair", "participant": null,
                  "text": "Red wind warning", "expected_action": "Convene",
                  "objective": 1, "cap_document": null}]}

A service is found again by organisation and name among the continuity plans here; when
there is none, its name becomes the objective's capability.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sargs import clock, csv_import
from sargs.auth.models import User
from sargs.channels.contacts import AddressError, normalise_all, register_contact, update_contact
from sargs.channels.models import Contact
from sargs.csv_import import ImportRefused, Problem, decode, delimiter
from sargs.exercises.builder_schemas import (
    ExerciseIn,
    FromLibraryIn,
    InjectIn,
    LibraryIn,
    ObjectiveIn,
    ParticipantIn,
    offset_text,
)
from sargs.exercises.models import (
    ContinuityPlan,
    CriticalService,
    Exercise,
    Inject,
    LibraryInject,
    Objective,
    Participant,
)
from sargs.warnings import cap
from sargs.web.forms import InputError, validate

OWNER = "exercises"
EDITABLE = ("draft", "ready")
CSV_COLUMNS = ("number", "offset", "channel", "sender", "recipient_role", "text",
               "expected_action")
CSV_REQUIRED = ("offset", "channel", "text")
FORMAT = "sargs-exercise"
VERSION = 1


class BuilderError(ValueError):
    """A rule was broken; ``field`` names the input it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _editable(exercise: Exercise) -> None:
    if exercise.state not in EDITABLE:
        raise BuilderError("exercise", _("A running or ended exercise cannot be changed."))


def _touch(exercise: Exercise) -> None:
    exercise.updated_at = clock.now()
    if exercise.state == "ready":  # a changed exercise is checked again before it runs
        exercise.state = "draft"


# --- the exercise -----------------------------------------------------------------------


def create_exercise(session: Session, data: ExerciseIn, by_user_id: int | None = None
                    ) -> Exercise:
    now = clock.now()
    exercise = Exercise(**data.model_dump(), state="draft", created_by_id=by_user_id,
                        created_at=now, updated_at=now)
    session.add(exercise)
    session.flush()
    return exercise


def update_exercise(session: Session, exercise: Exercise, data: ExerciseIn) -> Exercise:
    _editable(exercise)
    late = [i.number for i in exercise.injects if i.offset_s > data.duration_minutes * 60]
    if late:
        raise BuilderError("duration_minutes", _(
            "Injects %(numbers)s come after this duration.",
            numbers=", ".join(map(str, late))))
    for name, value in data.model_dump().items():
        setattr(exercise, name, value)
    _touch(exercise)
    return exercise


def is_upcoming(exercise: Exercise) -> bool:
    return exercise.scheduled_at >= clock.now()


def list_exercises(session: Session) -> list[Exercise]:
    """Upcoming exercises first (soonest first), then past ones (latest first)."""
    found = list(session.scalars(select(Exercise)))
    upcoming = sorted((e for e in found if is_upcoming(e)), key=lambda e: e.scheduled_at)
    past = sorted((e for e in found if not is_upcoming(e)),
                  key=lambda e: e.scheduled_at, reverse=True)
    return upcoming + past



def mark_ready(session: Session, exercise: Exercise) -> Exercise:
    """Ready to run: someone to take part and something to send them."""
    _editable(exercise)
    if not any(p.kind == "participant" for p in exercise.participants):
        raise BuilderError("participants", _("Add at least one participant first."))
    if not exercise.injects:
        raise BuilderError("injects", _("Add at least one inject first."))
    exercise.state = "ready"
    exercise.updated_at = clock.now()
    return exercise


def mark_draft(session: Session, exercise: Exercise) -> Exercise:
    _editable(exercise)
    exercise.state = "draft"
    exercise.updated_at = clock.now()
    return exercise


# --- objectives ---------------------------------------------------------------------------


def service_choices(session: Session) -> list[tuple[int, str]]:
    """Every critical service of the active plans, as "organisation — service"."""
    rows = session.execute(
        select(CriticalService.id, ContinuityPlan.organisation, CriticalService.name)
        .join(ContinuityPlan, CriticalService.plan_id == ContinuityPlan.id)
        .where(ContinuityPlan.active.is_(True))
        .order_by(ContinuityPlan.organisation, CriticalService.position, CriticalService.id))
    return [(sid, f"{organisation} — {name}") for sid, organisation, name in rows]


def add_objective(session: Session, exercise: Exercise, data: ObjectiveIn) -> Objective:
    _editable(exercise)
    if data.service_id is not None and session.get(CriticalService, data.service_id) is None:
        raise BuilderError("service_id", _("No such critical service."))
    objective = Objective(exercise=exercise, text=data.text, service_id=data.service_id,
                          capability=data.capability,
                          position=max((o.position for o in exercise.objectives), default=0) + 1)
    session.add(objective)
    _touch(exercise)
    session.flush()
    return objective


def remove_objective(session: Session, exercise: Exercise, objective: Objective) -> None:
    _editable(exercise)
    for inject in exercise.injects:
        if inject.objective_id == objective.id:
            inject.objective_id = None
    exercise.objectives.remove(objective)
    _touch(exercise)
    session.flush()


def objective_label(session: Session, objective: Objective) -> str:
    if objective.service_id is not None:
        labels = dict(service_choices(session))
        if objective.service_id in labels:
            return labels[objective.service_id]
    return objective.capability


# --- participants -------------------------------------------------------------------------


def user_choices(session: Session) -> list[tuple[int, str]]:
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    return [(u.id, f"{u.display_name} ({u.username})") for u in users]


def _addresses(data: ParticipantIn) -> list[tuple[str, str]]:
    """The participant's addresses normalised, each bad one named by its form field."""
    found: list[tuple[str, str]] = []
    for field, channel, raw in (("phone", "sms", data.phone), ("email", "email", data.email),
                                ("telegram", "telegram", data.telegram),
                                ("pbx", "pbx", data.pbx)):
        if not raw:
            continue
        try:
            found += normalise_all([(channel, raw)])
        except AddressError:
            raise BuilderError(field, {
                "phone": _("A phone number has 6–20 digits, e.g. +371 20000000."),
                "email": _("Not an e-mail address (e.g. name@example.lv)."),
                "telegram": _("A Telegram chat id is a number."),
                "pbx": _("Not a paging extension (e.g. 7001)."),
            }[field]) from None
        if channel == "sms":
            found.append(("voice", found[-1][1]))
    return found


def add_participant(session: Session, exercise: Exercise, data: ParticipantIn) -> Participant:
    """A person of the exercise; their addresses become a contact owned by the exercises
    (the notification chain reaches them through it)."""
    _editable(exercise)
    if data.user_id is not None and session.get(User, data.user_id) is None:
        raise BuilderError("user_id", _("No such user."))
    addresses = _addresses(data)
    contact = register_contact(session, data.name, addresses, owner=OWNER) if addresses else None
    participant = Participant(
        exercise=exercise, kind=data.kind, name=data.name, organisation=data.organisation,
        role=data.role, user_id=data.user_id, contact_id=contact.id if contact else None)
    session.add(participant)
    _touch(exercise)
    session.flush()
    return participant


def update_participant(session: Session, exercise: Exercise, participant: Participant,
                       data: ParticipantIn) -> Participant:
    _editable(exercise)
    if data.user_id is not None and session.get(User, data.user_id) is None:
        raise BuilderError("user_id", _("No such user."))
    addresses = _addresses(data)
    contact = session.get(Contact, participant.contact_id) if participant.contact_id else None
    if contact is not None:
        update_contact(session, contact, name=data.name, kind="person",
                       language=contact.language, addresses=addresses)
    elif addresses:
        participant.contact_id = register_contact(session, data.name, addresses,
                                                  owner=OWNER).id
    for name in ("kind", "name", "organisation", "role", "user_id"):
        setattr(participant, name, getattr(data, name))
    _touch(exercise)
    session.flush()
    return participant


def participant_values(session: Session, participant: Participant) -> dict[str, Any]:
    """A participant as the form shows it, with their addresses."""
    values: dict[str, Any] = {name: getattr(participant, name) or "" for name in (
        "kind", "name", "organisation", "role", "user_id")}
    contact = session.get(Contact, participant.contact_id) if participant.contact_id else None
    for address in contact.addresses if contact else []:
        field = {"sms": "phone", "email": "email", "telegram": "telegram",
                 "pbx": "pbx"}.get(address.channel)
        if field:
            values.setdefault(field, address.address)
    return values


def remove_participant(session: Session, exercise: Exercise, participant: Participant) -> None:
    _editable(exercise)
    contact = session.get(Contact, participant.contact_id) if participant.contact_id else None
    if contact is not None and contact.owner == OWNER:
        contact.active = False
    for inject in exercise.injects:
        if inject.participant_id == participant.id:
            inject.participant_id = None
    exercise.participants.remove(participant)
    _touch(exercise)
    session.flush()


# --- injects ------------------------------------------------------------------------------


def timeline(exercise: Exercise) -> list[Inject]:
    """The inject list by time from the start (the loaded collection keeps the order the
    lines were added in until it is read again)."""
    return sorted(exercise.injects, key=lambda i: (i.offset_s, i.number))


def next_number(exercise: Exercise) -> int:
    return max((i.number for i in exercise.injects), default=0) + 1


def check_cap(document: str | None) -> str:
    """A recorded warning for the "warning" channel: CAP 1.2 that parses, read safely."""
    if not document:
        raise BuilderError("cap_document", _("A warning inject needs its CAP 1.2 document."))
    try:
        cap.parse(document.encode("utf-8"))
    except cap.CapRejected as exc:
        raise BuilderError("cap_document", _(
            "Not a CAP 1.2 document: %(reason)s", reason=exc.reason)) from None
    return document


def _check_inject(exercise: Exercise, data: InjectIn, inject: Inject | None) -> int:
    """Every rule of one inject line against its exercise; returns its number."""
    number = data.number if data.number is not None else (
        inject.number if inject is not None else next_number(exercise))
    if any(i.number == number and i is not inject for i in exercise.injects):
        raise BuilderError("number", _("Inject number %(n)s is taken.", n=number))
    if data.offset > exercise.duration_minutes * 60:
        raise BuilderError("offset", _(
            "The exercise lasts %(duration)s; this is after its end.",
            duration=offset_text(exercise.duration_minutes * 60)))
    if data.participant_id is not None and data.participant_id not in {
            p.id for p in exercise.participants}:
        raise BuilderError("participant_id", _("Not a participant of this exercise."))
    if data.recipient_role and data.participant_id is not None:
        raise BuilderError("recipient_role", _("Give a role or one participant, not both."))
    if data.channel != "warning" and not data.recipient_role and data.participant_id is None:
        raise BuilderError("recipient_role", _(
            "This channel needs recipients: a role or one participant."))
    if data.objective_id is not None and data.objective_id not in {
            o.id for o in exercise.objectives}:
        raise BuilderError("objective_id", _("Not an objective of this exercise."))
    if data.channel == "warning":
        check_cap(data.cap_document)
    return number


def add_inject(session: Session, exercise: Exercise, data: InjectIn) -> Inject:
    _editable(exercise)
    number = _check_inject(exercise, data, None)
    inject = Inject(exercise=exercise, number=number, **_inject_fields(data), data={})
    session.add(inject)
    _touch(exercise)
    session.flush()
    return inject


def update_inject(session: Session, exercise: Exercise, inject: Inject, data: InjectIn
                  ) -> Inject:
    _editable(exercise)
    inject.number = _check_inject(exercise, data, inject)
    for name, value in _inject_fields(data).items():
        setattr(inject, name, value)
    _touch(exercise)
    session.flush()
    return inject


def _inject_fields(data: InjectIn) -> dict[str, Any]:
    return {"offset_s": data.offset, "channel": data.channel, "sender": data.sender,
            "recipient_role": data.recipient_role, "participant_id": data.participant_id,
            "text": data.text, "expected_action": data.expected_action,
            "objective_id": data.objective_id,
            "cap_document": data.cap_document if data.channel == "warning" else None}


def inject_values(inject: Inject) -> dict[str, Any]:
    """An inject as the form (and InjectIn) takes it."""
    return {"number": inject.number, "offset": offset_text(inject.offset_s),
            "channel": inject.channel, "sender": inject.sender,
            "recipient_role": inject.recipient_role, "participant_id": inject.participant_id,
            "text": inject.text, "expected_action": inject.expected_action,
            "objective_id": inject.objective_id, "cap_document": inject.cap_document}


def remove_inject(session: Session, exercise: Exercise, inject: Inject) -> None:
    _editable(exercise)
    exercise.injects.remove(inject)
    _touch(exercise)
    session.flush()


# --- the library --------------------------------------------------------------------------


def library(session: Session) -> list[LibraryInject]:
    return list(session.scalars(select(LibraryInject).order_by(
        func.lower(LibraryInject.title), LibraryInject.id)))


def save_to_library(session: Session, inject: Inject, data: LibraryIn) -> LibraryInject:
    entry = LibraryInject(
        title=data.title, channel=inject.channel, sender=inject.sender,
        recipient_role=inject.recipient_role, text=inject.text,
        expected_action=inject.expected_action, cap_document=inject.cap_document,
        tags=data.tags, created_at=clock.now())
    session.add(entry)
    session.flush()
    return entry


def add_from_library(session: Session, exercise: Exercise, data: FromLibraryIn) -> Inject:
    entry = session.get(LibraryInject, data.library_id)
    if entry is None:
        raise BuilderError("library_id", _("No such inject in the library."))
    return add_inject(session, exercise, InjectIn(
        number=data.number, offset=data.offset, channel=entry.channel, sender=entry.sender,
        recipient_role=entry.recipient_role, text=entry.text,
        expected_action=entry.expected_action, cap_document=entry.cap_document))


# --- the inject list as CSV ---------------------------------------------------------------


def export_csv(exercise: Exercise) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for inject in timeline(exercise):
        values = inject_values(inject)
        writer.writerow([values[name] if values[name] is not None else ""
                         for name in CSV_COLUMNS])
    return buffer.getvalue()


def import_csv(session: Session, exercise: Exercise, data: bytes) -> int:
    """Add every line of the file to the inject list; returns how many. A bad line raises
    :class:`ImportRefused` naming every problem, and the caller rolls back."""
    _editable(exercise)
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text))
    header = csv_import.header(reader, CSV_COLUMNS, CSV_REQUIRED)
    problems: list[Problem] = []
    added = 0
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problems.append(Problem(line, "line", _(
                "%(n)s fields, the header has %(m)s.", n=len(cells), m=len(header))))
            continue
        record = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        if record.get("channel") == "warning":
            problems.append(Problem(line, "channel", _(
                "A warning inject is added on the page, with its CAP document.")))
            continue
        try:
            add_inject(session, exercise, validate(InjectIn, record))
            added += 1
        except InputError as exc:
            problems += [Problem(line, f, m) for f, m in exc.errors.items()]
        except BuilderError as exc:
            problems.append(Problem(line, exc.field, exc.message))
    if problems or not added:
        raise ImportRefused(problems or [Problem(2, "file", _("No injects in the file."))])
    return added


# --- a whole exercise as JSON -------------------------------------------------------------


def export_json(session: Session, exercise: Exercise) -> dict[str, Any]:
    """The exercise without anyone's personal data (see the module's docstring)."""
    services = {s.id: s for s in session.scalars(select(CriticalService))}
    objective_no = {o.id: n for n, o in enumerate(exercise.objectives, 1)}
    participant_no = {p.id: n for n, p in enumerate(exercise.participants, 1)}

    def service_of(objective: Objective) -> dict[str, str] | None:
        found = services.get(objective.service_id) if objective.service_id else None
        return ({"organisation": found.plan.organisation, "name": found.name}
                if found else None)

    return {
        "format": FORMAT, "version": VERSION,
        "exercise": {"kind": exercise.kind, "title": exercise.title,
                     "scheduled_at": exercise.scheduled_at.isoformat(),
                     "duration_minutes": exercise.duration_minutes,
                     "scenario": exercise.scenario},
        "objectives": [{"text": o.text, "capability": o.capability, "service": service_of(o)}
                       for o in exercise.objectives],
        "participants": [{"kind": p.kind, "organisation": p.organisation, "role": p.role}
                         for p in exercise.participants],
        "injects": [{**{k: v for k, v in inject_values(i).items()
                        if k not in ("participant_id", "objective_id")},
                     "participant": participant_no.get(i.participant_id),
                     "objective": objective_no.get(i.objective_id)}
                    for i in timeline(exercise)],
    }


def _find_service(session: Session, given: Any) -> CriticalService | None:
    if not isinstance(given, dict):
        return None
    return session.scalar(
        select(CriticalService).join(ContinuityPlan)
        .where(ContinuityPlan.organisation == str(given.get("organisation", "")),
               CriticalService.name == str(given.get("name", "")))
        .order_by(ContinuityPlan.active.desc(), CriticalService.id).limit(1))


def _at(where: str, error: InputError | BuilderError) -> BuilderError:
    if isinstance(error, BuilderError):
        return BuilderError(f"{where}.{error.field}", error.message)
    field, message = next(iter(error.errors.items()))
    return BuilderError(f"{where}.{field}", message)


def import_json(session: Session, text: str | bytes, by_user_id: int | None = None
                ) -> Exercise:
    """A new draft exercise from an exported file; a bad part raises BuilderError naming
    it (e.g. ``injects.3.offset``) and the caller rolls back."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise BuilderError("file", _("The file is not valid JSON.")) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BuilderError("format", _("Not an exported Sargs exercise."))
    if doc.get("version") != VERSION:
        raise BuilderError("version", _("Unknown version of the exercise format."))
    try:
        exercise = create_exercise(session, validate(ExerciseIn, doc.get("exercise") or {}),
                                   by_user_id)
    except InputError as exc:
        raise _at("exercise", exc) from None
    objectives: list[Objective] = []
    for n, given in enumerate(_items(doc, "objectives"), 1):
        service = _find_service(session, given.get("service"))
        capability = str(given.get("capability") or "")
        if service is None and isinstance(given.get("service"), dict):
            capability = capability or " — ".join(
                str(given["service"].get(k, "")) for k in ("organisation", "name"))
        try:
            objectives.append(add_objective(session, exercise, validate(ObjectiveIn, {
                "text": given.get("text"), "capability": capability[:200],
                "service_id": service.id if service else None})))
        except (InputError, BuilderError) as exc:
            raise _at(f"objectives.{n}", exc) from None
    participants: list[Participant] = []
    for n, given in enumerate(_items(doc, "participants"), 1):
        role = str(given.get("role") or "")
        try:
            participants.append(add_participant(session, exercise, validate(ParticipantIn, {
                "kind": given.get("kind"), "role": role,
                "organisation": given.get("organisation") or "",
                "name": role or str(given.get("kind") or "")})))
        except (InputError, BuilderError) as exc:
            raise _at(f"participants.{n}", exc) from None
    for n, given in enumerate(_items(doc, "injects"), 1):
        fields = {k: v for k, v in given.items() if k in InjectIn.model_fields}
        try:
            fields["participant_id"] = _pick(participants, given.get("participant"),
                                             "participant")
            fields["objective_id"] = _pick(objectives, given.get("objective"), "objective")
            add_inject(session, exercise, validate(InjectIn, fields))
        except (InputError, BuilderError) as exc:
            raise _at(f"injects.{n}", exc) from None
    exercise.state = "draft"
    return exercise


def _items(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = doc.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BuilderError(key, _("A list of objects is expected."))
    return items


def _pick(rows: list[Any], position: Any, field: str) -> int | None:
    if position is None:
        return None
    if not isinstance(position, int) or not 1 <= position <= len(rows):
        raise BuilderError(field, _("No such entry in the file's list."))
    return rows[position - 1].id
