"""The exercises module's rules. Plain functions on a session; the pages, the API, the CLI
and the after-action report call these. Callers commit (one transaction per operation).

Continuity plans: a plan is saved with its critical services and key contacts in one go,
or not at all. An edit keeps the services it names by id (their last test result and any
exercise objective linked to them stay), adds the new ones and drops the rest; contacts
are replaced as a list. A plan is due for a test ``test_interval_days`` after its last
test; a plan never tested is due now.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.exercises.models import ContinuityPlan, CriticalService, PlanContact
from sargs.exercises.schemas import PlanIn

# --- continuity plans ---------------------------------------------------------------


class PlanError(ValueError):
    """A rule was broken; ``field`` names the input it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


DUE_SOON_DAYS = 30  # the landing page lists plans due within this many days
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_FIELD = "document"
ODT = "application/vnd.oasis.opendocument.text"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _check_dates(data: PlanIn) -> None:
    today = clock.now().date()
    if data.approved_on and data.approved_on > today:
        raise PlanError("approved_on", _("The date is in the future."))
    if data.last_tested_on and data.last_tested_on > today:
        raise PlanError("last_tested_on", _("The date is in the future."))


def _apply(plan: ContinuityPlan, data: PlanIn) -> None:
    _check_dates(data)
    for name in ("organisation", "organisation_kind", "title", "version", "approved_on",
                 "owner", "last_tested_on", "test_interval_days"):
        setattr(plan, name, getattr(data, name))
    kept = {service.id: service for service in plan.services}
    services = []
    for position, item in enumerate(data.services):
        if item.id is not None and item.id not in kept:
            raise PlanError(f"services.{position}.name",
                            _("This service is not part of the plan."))
        service = kept.pop(item.id) if item.id is not None else CriticalService()
        service.position = position
        service.name = item.name
        service.recovery_time_hours = item.recovery_time_hours
        service.minimum_staff = item.minimum_staff
        service.dependencies = list(item.dependencies)
        service.workarounds = item.workarounds
        services.append(service)
    plan.services = services  # those not named are deleted (delete-orphan)
    plan.contacts = [PlanContact(position=position, **item.model_dump())
                     for position, item in enumerate(data.contacts)]
    plan.updated_at = clock.now()


def create_plan(session: Session, data: PlanIn) -> ContinuityPlan:
    now = clock.now()
    plan = ContinuityPlan(created_at=now, updated_at=now, active=True)
    _apply(plan, data)
    session.add(plan)
    session.flush()
    return plan


def update_plan(session: Session, plan: ContinuityPlan, data: PlanIn) -> ContinuityPlan:
    _apply(plan, data)
    session.flush()
    return plan


def archive_plan(session: Session, plan: ContinuityPlan) -> ContinuityPlan:
    """Take a plan out of the lists; it and its history stay (exercises may name it)."""
    plan.active = False
    plan.updated_at = clock.now()
    session.flush()
    return plan


def get_plan(session: Session, plan_id: int) -> ContinuityPlan | None:
    return session.get(ContinuityPlan, plan_id)


def list_plans(session: Session, *, active_only: bool = True) -> list[ContinuityPlan]:
    query = select(ContinuityPlan).order_by(ContinuityPlan.organisation, ContinuityPlan.title)
    if active_only:
        query = query.where(ContinuityPlan.active.is_(True))
    return list(session.scalars(query))


def next_test_due(plan: ContinuityPlan) -> date | None:
    """The day the next test is due; None when the plan was never tested (due now)."""
    if plan.last_tested_on is None:
        return None
    return plan.last_tested_on + timedelta(days=plan.test_interval_days)


def days_overdue(plan: ContinuityPlan, today: date | None = None) -> int | None:
    """Days past the due day (0 on the day itself); None when not yet due or never
    tested (see :func:`is_overdue`)."""
    today = today or clock.now().date()
    due = next_test_due(plan)
    if due is None or due > today:
        return None
    return (today - due).days


def is_overdue(plan: ContinuityPlan, today: date | None = None) -> bool:
    """Never tested, or the due day has passed."""
    today = today or clock.now().date()
    due = next_test_due(plan)
    return due is None or due < today


def overdue_plans(session: Session, today: date | None = None) -> list[ContinuityPlan]:
    """Active plans past their due day, most overdue first (never tested at the top)."""
    today = today or clock.now().date()
    return sorted((plan for plan in list_plans(session) if is_overdue(plan, today)),
                  key=lambda plan: (next_test_due(plan) or date.min, plan.organisation))


def due_soon(session: Session, today: date | None = None,
             days: int = DUE_SOON_DAYS) -> list[ContinuityPlan]:
    """Active plans not overdue but due within ``days``, the soonest first."""
    today = today or clock.now().date()
    horizon = today + timedelta(days=days)
    found = [plan for plan in list_plans(session) if not is_overdue(plan, today)
             and (due := next_test_due(plan)) is not None and due <= horizon]
    return sorted(found, key=lambda plan: (next_test_due(plan), plan.organisation))


def record_test(session: Session, plan: ContinuityPlan, tested_on: date,
                results: dict[int, bool]) -> ContinuityPlan:
    """A test of the plan (an exercise's after-action report calls this): the plan's
    ``last_tested_on``, and per service named in ``results`` (service id → whether it was
    back within its recovery time objective) its own date and result. Services not named
    keep their earlier result. An older test than the one recorded does not move the
    dates back."""
    if tested_on > clock.now().date():
        raise PlanError("tested_on", _("The date is in the future."))
    services = {service.id: service for service in plan.services}
    unknown = sorted(set(results) - set(services))
    if unknown:
        raise PlanError("results", _("These services are not part of the plan: %(ids)s",
                                     ids=", ".join(str(i) for i in unknown)))
    if plan.last_tested_on is None or tested_on >= plan.last_tested_on:
        plan.last_tested_on = tested_on
    for service_id, met in results.items():
        service = services[service_id]
        if service.last_tested_on is None or tested_on >= service.last_tested_on:
            service.last_tested_on = tested_on
            service.met_objective = bool(met)
    plan.updated_at = clock.now()
    session.flush()
    return plan


def document_type(data: bytes) -> str | None:
    """The content type of a plan's document judged by its bytes — PDF, DOCX or ODT —
    never by the file's name or claimed type; None for anything else."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
                return ODT if archive.read("mimetype").strip() == ODT.encode() else None
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return DOCX
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return None


def store_document(session: Session, plan: ContinuityPlan, filename: str,
                   data: bytes) -> ContinuityPlan:
    """Keep the plan's document (replacing the one before); PlanError on ``document``
    when the file is empty, too big, or not a PDF, DOCX or ODT."""
    if not data:
        raise PlanError(DOCUMENT_FIELD, _("The file is empty."))
    if len(data) > MAX_DOCUMENT_BYTES:
        raise PlanError(DOCUMENT_FIELD, _("A file may be at most %(mb)s MB.",
                                          mb=MAX_DOCUMENT_BYTES // (1024 * 1024)))
    kind = document_type(data)
    if kind is None:
        raise PlanError(DOCUMENT_FIELD, _("Only PDF, DOCX and ODT files can be added."))
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "plan"
    plan.document, plan.document_name, plan.document_type = data, name, kind
    plan.updated_at = clock.now()
    session.flush()
    return plan
