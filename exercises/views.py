"""The exercises module's pages: the landing page (plans due for a test, overdue plans,
the way to plans and exercises) and the continuity plans — the list, one plan, the form
with rows of critical services and key contacts, the plan's document.

Trainers and the admin keep the plans; the commission and auditors read them. A plan's
key contacts (names, phones, e-mails of people) are shown to trainers, the admin and the
commission, who may have to call them; auditors see how many there are, not who — they
check that plans exist and are tested, and the audit log keeps the contacts out too.

Every rule is in :mod:`sargs.exercises.service`; these read forms and render. The form
works without JavaScript: "more rows" buttons post the form back with an empty row added.
"""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from sargs import clock
from sargs.auth.access import roles
from sargs.context import db_session
from sargs.exercises import service
from sargs.exercises.models import DEPENDENCIES, ORGANISATION_KINDS, ContinuityPlan
from sargs.exercises.schemas import PlanIn
from sargs.web.forms import InputError, validate

bp = Blueprint("exercises", __name__, template_folder="templates", url_prefix="/exercises")

WRITERS = frozenset({"trainer", "admin"})
CONTACT_READERS = frozenset({"trainer", "admin", "commission"})
staff = roles(*sorted(WRITERS), read=["commission", "auditor"])
writers = roles(*sorted(WRITERS))  # the forms themselves, not only their posts
MAX_ROWS = 100  # rows of services or contacts one form may carry
SERVICE_FIELDS = ("id", "name", "recovery_time_hours", "minimum_staff", "workarounds")
CONTACT_FIELDS = ("name", "role", "phone", "email")

DEPENDENCY_LABELS = {"power": _l("power"), "water": _l("water"), "heating": _l("heating"),
                     "it": _l("IT"), "communications": _l("communications"),
                     "suppliers": _l("suppliers"), "transport": _l("transport"),
                     "staff": _l("staff")}
KIND_LABELS = {"institution": _l("institution"), "company": _l("company")}


def may_write() -> bool:
    return bool(WRITERS & set(current_user.role_names))


def may_see_contacts() -> bool:
    return bool(CONTACT_READERS & set(current_user.role_names))


@bp.context_processor
def _module_context() -> dict[str, Any]:
    return {"may_write": may_write(), "may_see_contacts": may_see_contacts(),
            "dependency_labels": DEPENDENCY_LABELS, "dependencies": DEPENDENCIES,
            "kind_labels": KIND_LABELS, "kinds": ORGANISATION_KINDS, "plans_service": service,
            "today": clock.now().date()}


def _plan_or_404(plan_id: int) -> ContinuityPlan:
    plan = service.get_plan(db_session(), plan_id)
    if plan is None:
        abort(404)
    return plan


# --- the landing page ---------------------------------------------------------------


@bp.route("/")
@staff
def index() -> Any:
    session = db_session()
    return render_template("exercises/index.html", overdue=service.overdue_plans(session),
                           due_soon=service.due_soon(session),
                           due_days=service.DUE_SOON_DAYS,
                           exercises_url=url_for("exercise_builder.index"))


# --- continuity plans ---------------------------------------------------------------


@bp.route("/plans/")
@staff
def plans() -> Any:
    return render_template("exercises/plans/index.html",
                           plans=service.list_plans(db_session()))


@bp.route("/plans/<int:plan_id>")
@staff
def plan(plan_id: int) -> Any:
    return _render_plan(_plan_or_404(plan_id))


def _render_plan(plan: ContinuityPlan, errors: dict[str, str] | None = None,
                 status: int = 200) -> Any:
    return render_template("exercises/plans/detail.html", plan=plan,
                           errors=errors or {}), status


def _blank_service() -> dict[str, Any]:
    return {**dict.fromkeys(SERVICE_FIELDS, ""), "dependencies": []}


def _blank_contact() -> dict[str, Any]:
    return dict.fromkeys(CONTACT_FIELDS, "")


def _plan_values(plan: ContinuityPlan) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(plan, name) for name in (
        "organisation", "organisation_kind", "title", "version", "owner",
        "test_interval_days")}
    values["approved_on"] = plan.approved_on.isoformat() if plan.approved_on else ""
    values["last_tested_on"] = plan.last_tested_on.isoformat() if plan.last_tested_on else ""
    values["services"] = [{**{name: getattr(s, name) for name in SERVICE_FIELDS},
                           "dependencies": list(s.dependencies)} for s in plan.services]
    values["contacts"] = [{name: getattr(c, name) for name in CONTACT_FIELDS}
                          for c in plan.contacts]
    return values


def _rows(prefix: str, fields: tuple[str, ...], lists: tuple[str, ...] = ()) -> list[dict]:
    """The form's rows ``<prefix>-<i>-<field>``, as many as ``<prefix>_rows`` says."""
    form = request.form
    count = min(form.get(f"{prefix}_rows", type=int) or 0, MAX_ROWS)
    return [{**{name: form.get(f"{prefix}-{i}-{name}", "").strip() for name in fields},
             **{name: form.getlist(f"{prefix}-{i}-{name}") for name in lists}}
            for i in range(count)]


def _form_values() -> dict[str, Any]:
    values: dict[str, Any] = {name: request.form.get(name, "").strip() for name in (
        "organisation", "organisation_kind", "title", "version", "approved_on", "owner",
        "last_tested_on", "test_interval_days")}
    values["services"] = _rows("services", SERVICE_FIELDS, ("dependencies",))
    values["contacts"] = _rows("contacts", CONTACT_FIELDS)
    return values


def _filled(row: dict[str, Any]) -> bool:
    return any(value for key, value in row.items() if key != "id")


def _render_form(plan: ContinuityPlan | None, values: dict[str, Any], errors: dict[str, str],
                 status: int = 200) -> Any:
    return render_template("exercises/plans/form.html", plan=plan, values=values,
                           errors=errors), status


def _save(plan: ContinuityPlan | None) -> Any:
    """Validate and save the plan with its rows in one transaction; an error of the k-th
    filled row lands on the form row it came from (blank rows stay on the form)."""
    values = _form_values()
    action = request.form.get("action", "")
    if action in ("add_service", "add_contact"):
        key = "services" if action == "add_service" else "contacts"
        values[key].append(_blank_service() if key == "services" else _blank_contact())
        return _render_form(plan, values, {})
    kept = {key: [i for i, row in enumerate(values[key]) if _filled(row)]
            for key in ("services", "contacts")}
    data = {key: value for key, value in values.items() if key not in kept}
    for key, rows in kept.items():
        data[key] = [values[key][i] for i in rows]

    def at_row(field: str) -> str:
        parts = field.split(".")
        if len(parts) == 3 and parts[0] in kept and parts[1].isdigit() \
                and int(parts[1]) < len(kept[parts[0]]):
            return f"{parts[0]}-{kept[parts[0]][int(parts[1])]}-{parts[2]}"
        return field

    session = db_session()
    try:
        checked = validate(PlanIn, data)
        if plan is None:
            plan = service.create_plan(session, checked)
        else:
            service.update_plan(session, plan, checked)
        session.commit()
    except InputError as exc:
        session.rollback()
        return _render_form(plan, values, {at_row(k): v for k, v in exc.errors.items()}, 422)
    except service.PlanError as exc:
        session.rollback()
        return _render_form(plan, values, {at_row(exc.field): exc.message}, 422)
    flash(_("%(title)s saved.", title=plan.title), "success")
    return redirect(url_for("exercises.plan", plan_id=plan.id))


@bp.route("/plans/new", methods=["GET", "POST"])
@writers
def new_plan() -> Any:
    if request.method == "GET":
        return _render_form(None, {"organisation_kind": "institution",
                                   "test_interval_days": 365,
                                   "services": [_blank_service() for _n in range(2)],
                                   "contacts": [_blank_contact() for _n in range(2)]}, {})
    return _save(None)


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@writers
def edit_plan(plan_id: int) -> Any:
    plan = _plan_or_404(plan_id)
    if request.method == "GET":
        values = _plan_values(plan)
        values["services"].append(_blank_service())
        values["contacts"].append(_blank_contact())
        return _render_form(plan, values, {})
    return _save(plan)


@bp.route("/plans/<int:plan_id>/archive", methods=["POST"])
@writers
def archive_plan(plan_id: int) -> Any:
    plan = _plan_or_404(plan_id)
    service.archive_plan(db_session(), plan)
    db_session().commit()
    flash(_("The plan is archived."), "success")
    return redirect(url_for("exercises.plans"))


@bp.route("/plans/<int:plan_id>/document", methods=["POST"])
@writers
def upload_document(plan_id: int) -> Any:
    plan = _plan_or_404(plan_id)
    upload = request.files.get("document")
    data = upload.read(service.MAX_DOCUMENT_BYTES + 1) if upload else b""
    name = (upload.filename or "") if upload else ""
    session = db_session()
    try:
        service.store_document(session, plan, name, data)
        session.commit()
    except service.PlanError as exc:
        session.rollback()
        return _render_plan(_plan_or_404(plan_id), {exc.field: exc.message}, 422)
    flash(_("The document is saved."), "success")
    return redirect(url_for("exercises.plan", plan_id=plan_id))


@bp.route("/plans/<int:plan_id>/document")
@staff
def document(plan_id: int) -> Any:
    plan = _plan_or_404(plan_id)
    if plan.document is None:
        abort(404)
    response = send_file(io.BytesIO(plan.document), mimetype=plan.document_type,
                         as_attachment=True, download_name=plan.document_name or "plan")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
