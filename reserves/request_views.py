"""Requests for reserves: the form (from a shelter's page it opens with the shelter
chosen), the list, one request with its decision, the pick list (printable) and the issue.

Who does what (the issue's request → approval → pick list → issue):
shelter staff, the commission, the admin and the warehouse keeper may ask; only the
commission or the admin approve or reject (the keeper who hands the goods out does not
also decide that they go out); the keeper or the admin issue. The one who asked, the
commission or the admin may cancel a request not yet issued. Auditors read.

Every rule is in :mod:`sargs.reserves.service`; these pages read forms and render.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from sargs.activations.service import list_activations
from sargs.auth.access import roles
from sargs.auth.models import User
from sargs.context import db_session
from sargs.reserves import service
from sargs.reserves.models import Batch, ReserveRequest, Warehouse
from sargs.reserves.schemas import CountIn, RequestIn
from sargs.shelters import service as shelters
from sargs.web.forms import InputError, validate

bp = Blueprint("reserve_requests", __name__, template_folder="templates",
               url_prefix="/reserves/requests")

REQUESTERS = ("shelter_staff", "commission", "admin", "warehouse")
DECIDERS = frozenset({"commission", "admin"})
ISSUERS = frozenset({"warehouse", "admin"})
FIRST_LINES = 3  # empty lines on a new form

STATE_LABELS = {"submitted": _l("awaiting approval"), "approved": _l("approved"),
                "rejected": _l("rejected"), "issued": _l("issued"),
                "cancelled": _l("cancelled")}
KIND_LABELS = {"shelter": _l("shelter"), "institution": _l("institution"),
               "commission": _l("commission")}


def language() -> str:
    return "en" if str(get_locale()) == "en" else "lv"


def _held() -> set[str]:
    return set(current_user.role_names)


def may_decide() -> bool:
    return bool(DECIDERS & _held())


def may_issue() -> bool:
    return bool(ISSUERS & _held())


def may_cancel(req: ReserveRequest) -> bool:
    return req.state in ("submitted", "approved") and (
        may_decide() or req.created_by_id == current_user.id)


def quantity(value: Decimal | None, unit: str = "") -> str:
    return "—" if value is None else f"{service.fmt(value)} {unit}".strip()


@bp.context_processor
def _context() -> dict[str, Any]:
    session = db_session()

    def person(user_id: int | None) -> str:
        user = session.get(User, user_id) if user_id else None
        return user.display_name if user else "—"

    def requester(req: ReserveRequest) -> str:
        if req.requester_kind == "shelter" and req.shelter_id:
            shelter = shelters.get_shelter(session, req.shelter_id)
            return shelter.name if shelter else f"#{req.shelter_id}"
        if req.requester_kind == "institution":
            return req.institution
        return str(KIND_LABELS["commission"])

    return {"lang": language(), "qty": quantity, "person": person, "requester": requester,
            "state_labels": STATE_LABELS, "kind_labels": KIND_LABELS,
            "may_decide": may_decide(), "may_issue": may_issue(), "may_cancel": may_cancel,
            "expired": service.expired}


def _request_or_404(request_id: int) -> ReserveRequest:
    req = db_session().get(ReserveRequest, request_id)
    if req is None:
        abort(404)
    return req


# --- the list ----------------------------------------------------------------------


@bp.route("/")
@roles(*REQUESTERS, read=["auditor"])
def index() -> Any:
    state = request.args.get("state", "")
    found = service.requests(db_session(), [state] if state in STATE_LABELS else None)
    return render_template("reserves/requests/index.html", requests=found, state=state)


# --- the form ----------------------------------------------------------------------


def _rows() -> list[dict[str, str]]:
    items, amounts = request.form.getlist("line_item"), request.form.getlist("line_quantity")
    return [{"item": item.strip(), "quantity": amount.strip()}
            for item, amount in zip(items, amounts, strict=False)]


def _values() -> dict[str, Any]:
    values = {name: request.form.get(name, "").strip() for name in
              ("requester_kind", "shelter_id", "institution", "activation_id", "warehouse",
               "note")}
    values["rows"] = _rows()
    return values


def _render_form(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    session = db_session()
    return render_template(
        "reserves/requests/form.html", values=values, errors=errors,
        shelters=shelters.list_shelters(session),
        activations=list_activations(session, open_only=True),
        warehouses=[w for w in service.warehouses(session) if w.active],
        items=[i for i in service.items(session) if i.active]), status


def _create(values: dict[str, Any]) -> Any:
    """Validate and save; errors of line k of the request land on the row it came from
    (blank rows are left out of the request but stay on the form)."""
    filled = [index for index, row in enumerate(values["rows"]) if row["item"] or row["quantity"]]
    data = {key: value for key, value in values.items() if key != "rows"}
    data["lines"] = [values["rows"][index] for index in filled]

    def at_row(field: str) -> str:
        parts = field.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() \
                and int(parts[1]) < len(filled):
            return f"lines.{filled[int(parts[1])]}.{parts[2]}"
        return field

    session = db_session()
    try:
        req = service.create_request(session, validate(RequestIn, data), current_user.id)
        session.commit()
    except InputError as exc:
        session.rollback()
        return _render_form(values, {at_row(k): v for k, v in exc.errors.items()}, 422)
    except service.StockError as exc:
        session.rollback()
        return _render_form(values, {at_row(exc.field): exc.message}, 422)
    flash(_("Request %(n)s submitted for approval.", n=req.id), "success")
    return redirect(url_for("reserve_requests.detail", request_id=req.id))


@bp.route("/new", methods=["GET", "POST"])
@roles(*REQUESTERS)
def new() -> Any:
    if request.method == "GET":
        shelter_id = request.args.get("shelter_id", type=int)
        values: dict[str, Any] = {
            "requester_kind": "shelter" if shelter_id or "shelter_staff" in _held()
            else "commission" if "commission" in _held() else "shelter",
            "shelter_id": str(shelter_id or ""), "institution": "", "activation_id": "",
            "warehouse": "", "note": "",
            "rows": [{"item": "", "quantity": ""} for _n in range(FIRST_LINES)]}
        return _render_form(values, {})
    values = _values()
    if request.form.get("action") == "add_line":
        values["rows"].append({"item": "", "quantity": ""})
        return _render_form(values, {})
    return _create(values)


# --- one request -------------------------------------------------------------------


def _render_detail(req: ReserveRequest, errors: dict[str, str] | None = None,
                   status: int = 200) -> Any:
    session = db_session()
    warehouse = session.get(Warehouse, req.warehouse_id) if req.warehouse_id else None
    return render_template("reserves/requests/detail.html", req=req, warehouse=warehouse,
                           issued=service.issued_from(session, req),
                           errors=errors or {}), status


@bp.route("/<int:request_id>")
@roles(*REQUESTERS, read=["auditor"])
def detail(request_id: int) -> Any:
    return _render_detail(_request_or_404(request_id))


@bp.route("/<int:request_id>/decide", methods=["POST"])
@roles(*sorted(DECIDERS))
def decide(request_id: int) -> Any:
    req = _request_or_404(request_id)
    approve = request.form.get("decision") == "approve"
    note = request.form.get("note", "")[:2000]
    session = db_session()
    try:
        service.decide(session, req, approve, current_user.id, note)
        session.commit()
    except service.StockError as exc:
        session.rollback()
        return _render_detail(_request_or_404(request_id), {exc.field: exc.message}, 422)
    flash(_("Request approved.") if approve else _("Request rejected."), "success")
    return redirect(url_for("reserve_requests.detail", request_id=request_id))


@bp.route("/<int:request_id>/cancel", methods=["POST"])
@roles(*REQUESTERS)
def cancel(request_id: int) -> Any:
    req = _request_or_404(request_id)
    if not may_decide() and req.created_by_id != current_user.id:
        abort(403)
    session = db_session()
    try:
        service.cancel_request(session, req)
        session.commit()
    except service.StockError as exc:
        session.rollback()
        return _render_detail(_request_or_404(request_id), {exc.field: exc.message}, 422)
    flash(_("Request cancelled."), "success")
    return redirect(url_for("reserve_requests.detail", request_id=request_id))


# --- the pick list and the issue ---------------------------------------------------


def _pick_rows(req: ReserveRequest) -> list[dict[str, Any]]:
    """Per line: the FEFO proposal, every batch the keeper may pick instead (proposed
    quantity or 0), and what cannot be covered."""
    session = db_session()
    rows = []
    for line, proposal in service.pick_list(session, req):
        proposed = {pick.batch.id: pick.quantity for pick in proposal.picks}
        batches = service.pickable(session, line.item, req.warehouse_id)
        rows.append({"line": line, "proposal": proposal, "short": proposal.short,
                     "batches": [(batch, proposed.get(batch.id, service.ZERO))
                                 for batch in batches]})
    return rows


def _render_pick(req: ReserveRequest, typed: dict[str, str] | None = None,
                 errors: dict[str, str] | None = None, status: int = 200) -> Any:
    return render_template("reserves/requests/pick.html", req=req, rows=_pick_rows(req),
                           typed=typed or {}, errors=errors or {}), status


@bp.route("/<int:request_id>/pick")
@roles(*sorted(ISSUERS), read=["commission", "auditor"])
def pick(request_id: int) -> Any:
    return _render_pick(_request_or_404(request_id))


@bp.route("/<int:request_id>/print")
@roles(*sorted(ISSUERS), read=["commission", "auditor", "shelter_staff"])
def print_(request_id: int) -> Any:
    """The pick list on A4 (before the issue: the FEFO proposal; after: what left which
    batch), with lines to sign."""
    req = _request_or_404(request_id)
    session = db_session()
    return render_template("reserves/requests/print.html", req=req,
                           rows=_pick_rows(req) if req.state != "issued" else [],
                           issued=service.issued_from(session, req))


def _picks(req: ReserveRequest) -> tuple[dict[int, list[tuple[int, Decimal]]], dict[str, str],
                                         dict[str, str]]:
    """The keeper's quantities per batch (``pick-<line>-<batch>``; blank is none), the
    typed text, and the errors at each field."""
    session = db_session()
    picks: dict[int, list[tuple[int, Decimal]]] = {}
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    for line in req.lines:
        chosen: list[tuple[int, Decimal]] = []
        for name, text in request.form.items():
            prefix = f"pick-{line.id}-"
            if not name.startswith(prefix) or not name[len(prefix):].isdigit():
                continue
            typed[name] = text
            if not text.strip():
                continue
            try:
                amount = validate(CountIn, {"counted": text}).counted
            except InputError as exc:
                errors[name] = next(iter(exc.errors.values()))
                continue
            batch = session.get(Batch, int(name[len(prefix):]))
            if batch is not None and amount > batch.quantity:
                errors[name] = _("Batch %(lot)s has only %(left)s %(unit)s left.", lot=batch.lot,
                                 left=service.fmt(batch.quantity), unit=batch.item.unit)
            chosen.append((int(name[len(prefix):]), amount))
        picks[line.id] = chosen
    return picks, typed, errors


@bp.route("/<int:request_id>/issue", methods=["POST"])
@roles(*sorted(ISSUERS))
def issue(request_id: int) -> Any:
    req = _request_or_404(request_id)
    picks, typed, errors = _picks(req)
    if errors:
        return _render_pick(req, typed, errors, 422)
    session = db_session()
    try:
        service.issue_request(session, req, current_user.id, picks)
        session.commit()
    except service.StockError as exc:
        session.rollback()
        return _render_pick(_request_or_404(request_id), typed, {exc.field: exc.message}, 422)
    flash(_("Request %(n)s issued.", n=request_id), "success")
    return redirect(url_for("reserve_requests.detail", request_id=request_id))
