"""Stock-takes: start one for a warehouse, count on a phone, submit, see the variances,
approve them into adjustments; a printable count sheet for counting on paper.

The count is blind: while counting, neither the sheet nor its print shows the balance
the books expect, so the counter writes what is on the shelf, not what should be there.
The expected balances appear with the variance report once the count is submitted.

The keeper or the admin start, count, submit and cancel. The variances become
adjustments only when someone other than who started the count approves them — the
commission, the admin or another keeper (:func:`sargs.reserves.service.approve_counted`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from sargs.auth.access import roles
from sargs.context import db_session
from sargs.reserves import service
from sargs.reserves.models import StockTake, Warehouse
from sargs.reserves.request_views import language, quantity
from sargs.reserves.schemas import CountIn
from sargs.web.forms import InputError, validate

bp = Blueprint("stocktakes", __name__, template_folder="templates",
               url_prefix="/reserves/stocktakes")

COUNTERS = ("warehouse", "admin")
APPROVERS = frozenset({"commission", "admin", "warehouse"})
STATE_LABELS = {"counting": _l("counting"), "submitted": _l("awaiting approval"),
                "approved": _l("approved"), "cancelled": _l("cancelled")}


def signed(value: Decimal | int, unit: str) -> str:
    """A difference with its sign and unit: +2 l, −1.5 l, 0 l."""
    value = Decimal(value)
    sign = "+" if value > 0 else "−" if value < 0 else ""
    return f"{sign}{service.fmt(abs(value))} {unit}"


@bp.context_processor
def _context() -> dict[str, Any]:
    from sargs.auth.models import User

    session = db_session()

    def person(user_id: int | None) -> str:
        user = session.get(User, user_id) if user_id else None
        return user.display_name if user else "—"

    held = set(current_user.role_names)
    return {"lang": language(), "qty": quantity, "signed": signed, "person": person,
            "state_labels": STATE_LABELS, "may_count": bool(set(COUNTERS) & held),
            "may_approve": bool(APPROVERS & held)}


def _take_or_404(take_id: int) -> StockTake:
    take = db_session().get(StockTake, take_id)
    if take is None:
        abort(404)
    return take


def _warehouse(take: StockTake) -> Warehouse | None:
    return db_session().get(Warehouse, take.warehouse_id)


@bp.route("/")
@roles(*COUNTERS, "commission", read=["auditor"])
def index() -> Any:
    return _index()


def _index(errors: dict[str, str] | None = None, status: int = 200) -> Any:
    session = db_session()
    warehouses = {w.id: w for w in service.warehouses(session)}
    return render_template("reserves/stocktakes/index.html", takes=service.stocktakes(session),
                           warehouses=warehouses, errors=errors or {}), status


@bp.route("/start", methods=["POST"])
@roles(*COUNTERS)
def start() -> Any:
    session = db_session()
    try:
        warehouse = service.warehouse_by_code(session, request.form.get("warehouse", ""))
        take = service.start_stocktake(session, warehouse, current_user.id)
        session.commit()
    except service.StockError as exc:
        session.rollback()
        return _index({"warehouse": exc.message}, 422)
    flash(_("Stock-take of %(w)s started: %(n)s batches to count.", w=warehouse.code,
            n=len(take.lines)), "success")
    return redirect(url_for("stocktakes.sheet", take_id=take.id))


def _render(take: StockTake, typed: dict[str, str] | None = None,
            errors: dict[str, str] | None = None, status: int = 200) -> Any:
    """The count sheet while counting (blind), else the variance report."""
    template = "sheet.html" if take.state == "counting" else "report.html"
    return render_template(f"reserves/stocktakes/{template}", take=take,
                           warehouse=_warehouse(take), typed=typed or {},
                           errors=errors or {},
                           variances=dict((line.id, delta)
                                          for line, delta in service.variances(take))), status


@bp.route("/<int:take_id>")
@roles(*COUNTERS, "commission", read=["auditor"])
def sheet(take_id: int) -> Any:
    return _render(_take_or_404(take_id))


@bp.route("/<int:take_id>/count", methods=["POST"])
@roles(*COUNTERS)
def count(take_id: int) -> Any:
    """Save what was typed (a blank field stays as it was); with ``action=submit`` also
    hand the sheet in."""
    take = _take_or_404(take_id)
    session = db_session()
    typed = {f"counted-{line.id}": request.form.get(f"counted-{line.id}", "")
             for line in take.lines}
    errors: dict[str, str] = {}
    try:
        for line in take.lines:
            name = f"counted-{line.id}"
            if not typed[name].strip():
                continue
            try:
                counted = validate(CountIn, {"counted": typed[name]}).counted
            except InputError as exc:
                errors[name] = next(iter(exc.errors.values()))
                continue
            service.count(session, take, line.id, counted)
        if errors:
            session.rollback()
            return _render(_take_or_404(take_id), typed, errors, 422)
        if request.form.get("action") == "submit":
            service.submit_stocktake(session, take)
        session.commit()
    except service.StockError as exc:
        session.rollback()
        return _render(_take_or_404(take_id), typed, {exc.field: exc.message}, 422)
    flash(_("Count submitted for approval.") if take.state == "submitted"
          else _("Counts saved."), "success")
    return redirect(url_for("stocktakes.sheet", take_id=take_id))


def _decide(take_id: int, do: Any, done: str) -> Any:
    take = _take_or_404(take_id)
    session = db_session()
    try:
        do(session, take, current_user.id)
        session.commit()
    except service.StockError as exc:
        session.rollback()
        return _render(_take_or_404(take_id), errors={exc.field: exc.message}, status=422)
    flash(done, "success")
    return redirect(url_for("stocktakes.sheet", take_id=take_id))


@bp.route("/<int:take_id>/approve", methods=["POST"])
@roles(*sorted(APPROVERS))
def approve(take_id: int) -> Any:
    return _decide(take_id, service.approve_counted,
                   _("Variances approved: the balances are adjusted."))


@bp.route("/<int:take_id>/cancel", methods=["POST"])
@roles(*COUNTERS, "commission")
def cancel(take_id: int) -> Any:
    return _decide(take_id, service.cancel_stocktake, _("Stock-take cancelled."))


@bp.route("/<int:take_id>/print")
@roles(*COUNTERS, "commission", read=["auditor"])
def print_(take_id: int) -> Any:
    """The count sheet on A4, blind like the page: a column to write the count in."""
    take = _take_or_404(take_id)
    return render_template("reserves/stocktakes/print.html", take=take,
                           warehouse=_warehouse(take))
