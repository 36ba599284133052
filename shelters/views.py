"""The staff pages of the shelter register: the list with filters, one place with its
inspections, defects, documents and opening, the register form, the inspection form, the
overdue inspections and the CSV download. Every rule is in :mod:`sargs.shelters.service`;
these only read forms and render.

The admin and the commission change the register and open and close places; shelter
staff, operators, auditors, the warehouse and coordinators read it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from sargs import clock
from sargs.activations.models import Activation
from sargs.activations.service import list_activations
from sargs.audit.service import record
from sargs.auth.access import roles
from sargs.context import db_session
from sargs.shelters import csv_io, documents, service
from sargs.shelters.models import (
    FACILITIES,
    SHELTER_KINDS,
    Shelter,
    ShelterDefect,
    ShelterDocument,
    ShelterInspection,
)
from sargs.shelters.schemas import DefectIn, InspectionIn, ShelterIn
from sargs.web.forms import InputError, validate

bp = Blueprint("shelters", __name__, template_folder="templates", url_prefix="/shelters")

WRITERS = frozenset({"admin", "commission"})
READERS = ["shelter_staff", "operator", "auditor", "warehouse", "coordinator"]
staff = roles(*sorted(WRITERS), read=READERS)
DEFECT_ROWS = 5  # empty defect lines on the inspection form

KIND_LABELS = {"shelter": _l("shelter"), "suitable": _l("suitable for sheltering"),
               "short_stay": _l("short-stay accommodation"),
               "evacuation_point": _l("evacuation point")}
COMPLIANCE_LABELS = {"full": _l("full"), "partial": _l("partial")}
READINESS_LABELS = {"green": _l("ready"), "amber": _l("partly ready"), "red": _l("not ready")}
FACILITY_LABELS = {"water": _l("water"), "toilets": _l("toilets"),
                   "ventilation": _l("ventilation"), "heating": _l("heating"),
                   "power_backup": _l("power backup"), "first_aid": _l("first aid"),
                   "communications": _l("communications")}
SEVERITY_LABELS = {"minor": _l("minor"), "major": _l("major")}


def may_write() -> bool:
    return bool(WRITERS & set(current_user.role_names))


@bp.context_processor
def _module_context() -> dict[str, Any]:
    return {"may_write": may_write(), "kind_labels": KIND_LABELS,
            "compliance_labels": COMPLIANCE_LABELS, "readiness_labels": READINESS_LABELS,
            "facility_labels": FACILITY_LABELS, "severity_labels": SEVERITY_LABELS,
            "facilities": FACILITIES, "kinds": SHELTER_KINDS, "service": service,
            "today": clock.now().date(), "now": clock.now()}


def _shelter_or_404(shelter_id: int) -> Shelter:
    shelter = service.get_shelter(db_session(), shelter_id)
    if shelter is None:
        abort(404)
    return shelter


# --- the register -------------------------------------------------------------------


@bp.route("/")
@staff
def index() -> Any:
    args = request.args
    kind, readiness, state = args.get("kind", ""), args.get("readiness", ""), args.get("open", "")
    shelters = [s for s in service.list_shelters(db_session())
                if (not kind or s.kind == kind) and (not readiness or s.readiness == readiness)
                and (state != "yes" or s.opening_id) and (state != "no" or not s.opening_id)]
    return render_template("shelters/index.html", shelters=shelters,
                           filters={"kind": kind, "readiness": readiness, "open": state})


@bp.route("/inspections")
@staff
def inspections() -> Any:
    """Places never inspected or past their interval, oldest first."""
    return render_template("shelters/inspections.html",
                           shelters=service.overdue_inspections(db_session()))


@bp.route("/export.csv")
@staff
def export_csv() -> Any:
    session = db_session()
    text = csv_io.export_csv(session)
    # The file holds contact people: who took it is recorded.
    record(session, "export", "shelter_register", after={"rows": text.count("\n") - 1})
    session.commit()
    return Response("\ufeff" + text, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=shelters.csv"})


# --- the register form --------------------------------------------------------------


def _form_values() -> dict[str, Any]:
    values: dict[str, Any] = {name: request.form.get(name, "") for name in ShelterIn.model_fields}
    values["facilities"] = request.form.getlist("facilities")
    for name in ("step_free", "lift", "accessible_toilet", "illustrative"):
        values[name] = name in request.form
    return values


def _render_form(shelter: Shelter | None, values: dict[str, Any], errors: dict[str, str],
                 status: int = 200) -> Any:
    return render_template("shelters/form.html", shelter=shelter, values=values,
                           errors=errors), status


def _save(shelter: Shelter | None) -> Any:
    values = _form_values()
    session = db_session()
    try:
        data = validate(ShelterIn, values)
        if shelter is None:
            shelter = service.create_shelter(session, data)
        else:
            service.update_shelter(session, shelter, data)
        session.commit()
    except InputError as exc:
        session.rollback()
        return _render_form(shelter, values, exc.errors, 422)
    except service.ShelterError as exc:
        session.rollback()
        return _render_form(shelter, values, {exc.field: exc.message}, 422)
    flash(_("%(name)s saved.", name=shelter.name), "success")
    return redirect(url_for("shelters.detail", shelter_id=shelter.id))


@bp.route("/new", methods=["GET", "POST"])
@staff
def new() -> Any:
    if request.method == "GET":
        return _render_form(None, {"kind": "shelter", "inspection_interval_days": 365}, {})
    return _save(None)


@bp.route("/<int:shelter_id>/edit", methods=["GET", "POST"])
@staff
def edit(shelter_id: int) -> Any:
    shelter = _shelter_or_404(shelter_id)
    if request.method == "GET":
        return _render_form(shelter, csv_io.shelter_values(shelter), {})
    return _save(shelter)


# --- one place ----------------------------------------------------------------------


def _render_detail(shelter: Shelter, errors: dict[str, str] | None = None,
                   status: int = 200) -> Any:
    session = db_session()
    found = list(session.scalars(select(ShelterInspection).where(
        ShelterInspection.shelter_id == shelter.id)
        .order_by(ShelterInspection.inspected_on.desc(), ShelterInspection.id.desc())))
    defects = list(session.scalars(select(ShelterDefect).where(
        ShelterDefect.shelter_id == shelter.id).order_by(ShelterDefect.id)))
    activation = (session.get(Activation, shelter.opening.activation_id)
                  if shelter.opening else None)
    return render_template(
        "shelters/detail.html", shelter=shelter, inspections=found, defects=defects,
        documents=documents.documents_of(session, shelter), errors=errors or {},
        activation=activation,
        activations=list_activations(session, open_only=True)), status


@bp.route("/<int:shelter_id>")
@staff
def detail(shelter_id: int) -> Any:
    return _render_detail(_shelter_or_404(shelter_id))


def _act(shelter_id: int, do: Callable[[Shelter], Any], done: str) -> Any:
    """Run one service action on a place: saved and back to its page, or the page again
    with the field's error and nothing changed."""
    shelter = _shelter_or_404(shelter_id)
    session = db_session()
    try:
        do(shelter)
        session.commit()
    except (service.ShelterError, InputError) as exc:
        session.rollback()
        errors = exc.errors if isinstance(exc, InputError) else {exc.field: exc.message}
        return _render_detail(_shelter_or_404(shelter_id), errors, 422)
    flash(done, "success")
    return redirect(url_for("shelters.detail", shelter_id=shelter_id))


@bp.route("/<int:shelter_id>/open", methods=["POST"])
@staff
def open_(shelter_id: int) -> Any:
    activation_id = request.form.get("activation_id", type=int) or 0
    return _act(shelter_id, lambda s: service.open_shelter(db_session(), s, activation_id),
                _("The shelter is open."))


@bp.route("/<int:shelter_id>/close", methods=["POST"])
@staff
def close(shelter_id: int) -> Any:
    return _act(shelter_id, lambda s: service.close_shelter(db_session(), s),
                _("The shelter is closed."))


@bp.route("/<int:shelter_id>/remove", methods=["POST"])
@staff
def remove(shelter_id: int) -> Any:
    """Take a place out of the register; its history stays (and an import restores it)."""
    return _act(shelter_id, lambda s: service.remove_shelter(db_session(), s),
                _("The place is no longer in the register."))


@bp.route("/<int:shelter_id>/defects/<int:defect_id>/fix", methods=["POST"])
@staff
def fix_defect(shelter_id: int, defect_id: int) -> Any:
    defect = db_session().get(ShelterDefect, defect_id)
    if defect is None or defect.shelter_id != shelter_id:
        abort(404)
    note = request.form.get("note", "").strip()[:2000]
    return _act(shelter_id, lambda s: service.fix_defect(db_session(), defect, note),
                _("The defect is marked fixed."))


@bp.route("/<int:shelter_id>/documents", methods=["POST"])
@staff
def upload(shelter_id: int) -> Any:
    upload = request.files.get("document")
    data = upload.read(documents.MAX_BYTES + 1) if upload else b""
    name = upload.filename or "" if upload else ""
    return _act(shelter_id, lambda s: documents.store_document(db_session(), s, name, data),
                _("The file is added."))


@bp.route("/documents/<int:document_id>")
@staff
def document(document_id: int) -> Any:
    found = db_session().get(ShelterDocument, document_id)
    if found is None:
        abort(404)
    return Response(found.data, mimetype=found.content_type, headers={
        "Content-Disposition": f'attachment; filename="{_ascii(found.filename)}"',
        "X-Content-Type-Options": "nosniff"})


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                   for c in name)


# --- inspections --------------------------------------------------------------------


def _inspection_form() -> tuple[InspectionIn, list[DefectIn]]:
    """The inspection and its defect lines (blank lines left out); every bad field named,
    a defect's as ``defect_<row>_<field>``."""
    form = request.form
    errors: dict[str, str] = {}
    inspection = None
    try:
        inspection = validate(InspectionIn, {
            "inspected_on": form.get("inspected_on", ""), "inspector": form.get("inspector", ""),
            "notes": form.get("notes", ""),
            "checklist": {item: form.get(f"check_{item}") == "yes" for item in FACILITIES
                          if form.get(f"check_{item}") in ("yes", "no")}})
    except InputError as exc:
        errors.update(exc.errors)
    defects = []
    for row in range(DEFECT_ROWS):
        fields = {name: form.get(f"defect_{row}_{name}", "")
                  for name in ("description", "severity", "owner", "due_on")}
        if not fields["description"].strip():
            continue
        try:
            defects.append(validate(DefectIn, fields))
        except InputError as exc:
            errors.update({f"defect_{row}_{k}": v for k, v in exc.errors.items()})
    if errors or inspection is None:
        raise InputError(errors)
    return inspection, defects


@bp.route("/<int:shelter_id>/inspections/new", methods=["GET", "POST"])
@staff
def new_inspection(shelter_id: int) -> Any:
    shelter = _shelter_or_404(shelter_id)
    values: dict[str, Any] = dict(request.form) if request.method == "POST" else {
        "inspected_on": clock.now().date().isoformat()}
    if request.method == "POST":
        session = db_session()
        try:
            inspection, defects = _inspection_form()
            if inspection.inspected_on > clock.now().date():
                raise InputError({"inspected_on": _("The date is in the future.")})
            service.record_inspection(session, shelter, inspection, defects)
            session.commit()
        except InputError as exc:
            session.rollback()
            return render_template("shelters/inspection_form.html", shelter=shelter,
                                   values=values, errors=exc.errors, rows=DEFECT_ROWS), 422
        flash(_("The inspection is recorded."), "success")
        return redirect(url_for("shelters.detail", shelter_id=shelter.id))
    return render_template("shelters/inspection_form.html", shelter=shelter, values=values,
                           errors={}, rows=DEFECT_ROWS)

