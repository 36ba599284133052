"""The warehouse pages of the material reserves: the overview, stock on hand with its
files, the catalogue with minimum levels, warehouses on a map, the movement forms with a
batch picker, an item's stock card, the expiry and replenishment lists and the autonomy
page. Every rule is in :mod:`sargs.reserves.service`; these read forms and render.

The warehouse keeper and the admin change stock and the catalogue; the commission,
auditors and shelter staff read (the commission must see stock and autonomy).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
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
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from sargs.activations.service import list_activations
from sargs.auth.access import access_of, roles
from sargs.context import db_session
from sargs.reserves import reports, service
from sargs.reserves.models import (
    ADJUSTMENT_REASONS,
    CATEGORIES,
    OWNERS,
    UNITS,
    WRITE_OFF_REASONS,
    Batch,
    ReserveItem,
    Warehouse,
)
from sargs.reserves.reports import (
    CATEGORY_LABELS,
    KIND_LABELS,
    OWNER_LABELS,
    REASON_LABELS,
    UNIT_LABELS,
    StockFilters,
)
from sargs.reserves.schemas import ItemIn, MinimumIn, MovementIn, WarehouseIn
from sargs.web.forms import InputError, validate

bp = Blueprint("reserves", __name__, template_folder="templates", url_prefix="/reserves")

WRITERS = frozenset({"admin", "warehouse"})
READERS = ["commission", "auditor", "shelter_staff"]
staff = roles(*sorted(WRITERS), read=READERS)
writers = roles(*sorted(WRITERS))  # the catalogue's and warehouses' forms
FORM_KINDS = ("receipt", "issue", "transfer", "adjustment", "write_off")
EXPIRY_WINDOWS = (30, 90)
DIRECTION_LABELS = {"in": _l("more than recorded (+)"), "out": _l("less than recorded (−)")}

# The module's own navigation, in order; each shows to those its view admits.
NAV = (("reserves.index", _l("Overview")), ("reserves.stock", _l("Stock on hand")),
       ("reserves.movements", _l("Movements")), ("reserve_requests.index", _l("Requests")),
       ("stocktakes.index", _l("Stock-takes")), ("reserves.expiring", _l("Expiry")),
       ("reserves.replenishment", _l("Replenishment")), ("reserves.autonomy", _l("Autonomy")),
       ("reserves.items", _l("Catalogue")), ("reserves.warehouses", _l("Warehouses")))


def may_write() -> bool:
    return bool(WRITERS & set(current_user.role_names))


def language() -> str:
    return "en" if str(get_locale()) == "en" else "lv"


@bp.app_template_global("reserves_nav")
def reserves_nav() -> list[tuple[str, Any]]:
    """The reserves pages this user may open (the requests' and stock-takes' pages use
    the same navigation)."""
    held = current_user.role_names if current_user.is_authenticated else set()
    found = []
    for endpoint, text in NAV:
        view = current_app.view_functions.get(endpoint)
        access = access_of(view) if view else None
        if access is not None and access.allows(held):
            found.append((endpoint, text))
    return found


@bp.app_template_global("reserves_qty")
def reserves_qty(value: Any, unit: str) -> str:
    """A quantity with its unit in the user's words: "2.5 l", "10 pcs"."""
    return f"{service.fmt(value)} {reports.label(UNIT_LABELS, unit)}"


@bp.context_processor
def _module_context() -> dict[str, Any]:
    return {"may_write": may_write(), "category_labels": CATEGORY_LABELS,
            "unit_labels": UNIT_LABELS, "owner_labels": OWNER_LABELS,
            "kind_labels": KIND_LABELS, "reason_labels": REASON_LABELS,
            "direction_labels": DIRECTION_LABELS, "categories": CATEGORIES, "units": UNITS,
            "owners": OWNERS, "language": language(), "today": service.today(),
            "expired": service.expired, "fmt": service.fmt,
            "category_options": [(c, CATEGORY_LABELS[c]) for c in CATEGORIES],
            "unit_options": [(u, UNIT_LABELS[u]) for u in UNITS],
            "owner_options": [(o, OWNER_LABELS[o]) for o in OWNERS]}


def _item_or_404(item_id: int) -> ReserveItem:
    item = db_session().get(ReserveItem, item_id)
    if item is None:
        abort(404)
    return item


def _warehouse_or_404(warehouse_id: int) -> Warehouse:
    warehouse = db_session().get(Warehouse, warehouse_id)
    if warehouse is None:
        abort(404)
    return warehouse


# --- overview and stock on hand ----------------------------------------------------


@bp.route("/")
@staff
def index() -> Any:
    """Stock on hand per item, with the watch lists' counts."""
    view = reports.stock_view(db_session(), StockFilters())
    return render_template("reserves/index.html", view=view,
                           watch=service.watch(db_session()))


@bp.route("/stock")
@staff
def stock() -> Any:
    session = db_session()
    view = reports.stock_view(session, StockFilters.from_args(request.args))
    return render_template("reserves/stock.html", view=view,
                           warehouses=service.warehouses(session))


def _stock_report() -> reports.Report:
    view = reports.stock_view(db_session(), StockFilters.from_args(request.args))
    return reports.stock_report(view, language())


@bp.route("/stock.csv")
@staff
def stock_csv() -> Any:
    return reports.as_csv(_stock_report())


@bp.route("/stock.xlsx")
@staff
def stock_xlsx() -> Any:
    return reports.as_xlsx(_stock_report())


# --- the catalogue -----------------------------------------------------------------


@bp.route("/items")
@staff
def items() -> Any:
    category = request.args.get("category", "")
    found = [i for i in service.items(db_session()) if not category or i.category == category]
    return render_template("reserves/items.html", items=found, category=category)


def _item_values(item: ReserveItem) -> dict[str, Any]:
    values = {name: getattr(item, name) for name in ItemIn.model_fields}
    if item.norm_per_person_day is not None:
        values["norm_per_person_day"] = service.fmt(item.norm_per_person_day)
    return values


def _item_form(item: ReserveItem | None, values: dict[str, Any], errors: dict[str, str],
               status: int = 200) -> Any:
    return render_template("reserves/item_form.html", item=item, values=values,
                           errors=errors), status


def _save_item(item: ReserveItem | None) -> Any:
    values = request.form.to_dict()
    session = db_session()
    try:
        data = validate(ItemIn, values)
        if item is None:
            item = service.create_item(session, data)
        else:
            service.update_item(session, item, data)
        session.commit()
    except InputError as exc:
        session.rollback()
        return _item_form(item, values, exc.errors, 422)
    except service.StockError as exc:
        session.rollback()
        return _item_form(item, values, {exc.field: exc.message}, 422)
    flash(_("%(name)s saved.", name=item.name(language())), "success")
    return redirect(url_for("reserves.item", item_id=item.id))


@bp.route("/items/new", methods=["GET", "POST"])
@writers
def new_item() -> Any:
    if request.method == "GET":
        return _item_form(None, {"owner": "municipal"}, {})
    return _save_item(None)


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@writers
def edit_item(item_id: int) -> Any:
    item = _item_or_404(item_id)
    if request.method == "GET":
        return _item_form(item, _item_values(item), {})
    return _save_item(item)


def _item_page(item: ReserveItem, values: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, status: int = 200) -> Any:
    session = db_session()
    stores = service.warehouses(session)
    levels = service.minimums(session, item)
    if values is None:
        values = {f"minimum_{w.id}": service.fmt(levels[w.id]) for w in stores if w.id in levels}
    return render_template(
        "reserves/item.html", item=item, rows=service.stock(session, item_id=item.id),
        batches=service.batches_of(session, item.id), warehouses=stores, minimums=levels,
        values=values, errors=errors or {}), status


@bp.route("/items/<int:item_id>")
@staff
def item(item_id: int) -> Any:
    return _item_page(_item_or_404(item_id))


@bp.route("/items/<int:item_id>/minimums", methods=["POST"])
@staff
def minimums(item_id: int) -> Any:
    """Minimum levels per warehouse, all at once; a blank field leaves that one as it is."""
    item = _item_or_404(item_id)
    session = db_session()
    stores = service.warehouses(session)
    values = {f"minimum_{w.id}": request.form.get(f"minimum_{w.id}", "").strip()
              for w in stores}
    wanted, errors = [], {}
    for warehouse in stores:
        raw = values[f"minimum_{warehouse.id}"]
        if not raw:
            continue
        try:
            wanted.append((warehouse, validate(MinimumIn, {"minimum": raw}).minimum))
        except InputError as exc:
            errors[f"minimum_{warehouse.id}"] = exc.errors.get("minimum", "")
    if errors:
        return _item_page(item, values, errors, 422)
    for warehouse, minimum in wanted:
        service.set_minimum(session, item, warehouse, minimum)
    session.commit()
    flash(_("Minimum levels saved."), "success")
    return redirect(url_for("reserves.item", item_id=item.id))


# --- the stock card ----------------------------------------------------------------


@bp.route("/items/<int:item_id>/card")
@staff
def card(item_id: int) -> Any:
    item = _item_or_404(item_id)
    session = db_session()
    lines = service.stock_card(session, item)
    return render_template(
        "reserves/card.html", item=item, lines=lines,
        names=service.user_names(session, (line.movement.by_user_id for line in lines)))


@bp.route("/items/<int:item_id>/card.csv")
@staff
def card_csv(item_id: int) -> Any:
    return reports.as_csv(reports.card_report(db_session(), _item_or_404(item_id), language()))


@bp.route("/items/<int:item_id>/card.xlsx")
@staff
def card_xlsx(item_id: int) -> Any:
    return reports.as_xlsx(reports.card_report(db_session(), _item_or_404(item_id), language()))


# --- warehouses --------------------------------------------------------------------


@bp.route("/warehouses")
@staff
def warehouses() -> Any:
    found = service.warehouses(db_session())
    places = [{"code": w.code, "name": w.name, "address": w.address, "lat": w.lat,
               "lon": w.lon, "url": url_for("reserves.stock", view="warehouse",
                                            warehouse=w.code)}
              for w in found if w.lat is not None and w.lon is not None]
    return render_template("reserves/warehouses.html", warehouses=found, places=places)


def _warehouse_form(warehouse: Warehouse | None, values: dict[str, Any],
                    errors: dict[str, str], status: int = 200) -> Any:
    return render_template("reserves/warehouse_form.html", warehouse=warehouse,
                           values=values, errors=errors), status


def _save_warehouse(warehouse: Warehouse | None) -> Any:
    values = request.form.to_dict()
    session = db_session()
    try:
        data = validate(WarehouseIn, values)
        if warehouse is None:
            warehouse = service.create_warehouse(session, data)
        else:
            service.update_warehouse(session, warehouse, data)
        session.commit()
    except InputError as exc:
        session.rollback()
        return _warehouse_form(warehouse, values, exc.errors, 422)
    except service.StockError as exc:
        session.rollback()
        return _warehouse_form(warehouse, values, {exc.field: exc.message}, 422)
    flash(_("%(name)s saved.", name=warehouse.name), "success")
    return redirect(url_for("reserves.warehouses"))


@bp.route("/warehouses/new", methods=["GET", "POST"])
@writers
def new_warehouse() -> Any:
    if request.method == "GET":
        return _warehouse_form(None, {}, {})
    return _save_warehouse(None)


@bp.route("/warehouses/<int:warehouse_id>/edit", methods=["GET", "POST"])
@writers
def edit_warehouse(warehouse_id: int) -> Any:
    warehouse = _warehouse_or_404(warehouse_id)
    if request.method == "GET":
        return _warehouse_form(warehouse, {name: getattr(warehouse, name)
                                           for name in WarehouseIn.model_fields}, {})
    return _save_warehouse(warehouse)


# --- movements ---------------------------------------------------------------------


def _picker_batches(values: dict[str, str]) -> list[Batch] | None:
    """The chosen item's batches with stock in the chosen warehouse; None until both
    are chosen."""
    session = db_session()
    item = next((i for i in service.items(session) if i.code == values.get("item")), None)
    store = next((w for w in service.warehouses(session) if w.code == values.get("warehouse")),
                 None)
    if item is None or store is None:
        return None
    return service.batches_of(session, item.id, store.id)


def _movements_page(kind: str, values: dict[str, str], errors: dict[str, str],
                    status: int = 200) -> Any:
    session, lang = db_session(), language()
    reasons = ADJUSTMENT_REASONS if kind == "adjustment" else WRITE_OFF_REASONS
    return render_template(
        "reserves/movements.html", kind=kind, kinds=FORM_KINDS, values=values, errors=errors,
        item_options=[(i.code, f"{i.code} · {i.name(lang)} ({UNIT_LABELS[i.unit]})")
                      for i in service.items(session) if i.active],
        warehouse_options=[(w.code, w.name) for w in service.warehouses(session) if w.active],
        reason_options=[(r, REASON_LABELS[r]) for r in reasons],
        direction_options=list(DIRECTION_LABELS.items()),
        activation_options=[(a.id, a.title + (f" ({_('exercise')})" if a.is_exercise else ""))
                            for a in list_activations(session, open_only=True)],
        batches=_picker_batches(values), recent=service.recent_movements(session)), status


@bp.route("/movements", methods=["GET", "POST"])
@staff
def movements() -> Any:
    """One form per kind of movement (``?kind=``). The batch picker follows the chosen
    item and warehouse (htmx); without a script, "show the batches" posts the form back
    to list them, recording nothing."""
    if request.method == "GET":
        values = request.args.to_dict()
        kind = values.get("kind") if values.get("kind") in FORM_KINDS else "receipt"
        return _movements_page(kind, values, {})
    values = request.form.to_dict()
    kind = values.get("kind") if values.get("kind") in FORM_KINDS else "receipt"
    if values.pop("action", "") == "show":  # without a script: list the batches, record nothing
        return _movements_page(kind, values, {})
    session = db_session()
    try:
        data = validate(MovementIn, values)
        moved = service.record(session, data, current_user.id)
        batch = session.get(Batch, moved[0].batch_id)
        assert batch is not None
        session.commit()
    except (InputError, service.StockError) as exc:
        session.rollback()
        errors = exc.errors if isinstance(exc, InputError) else {exc.field: exc.message}
        if kind != "receipt" and "lot" in errors:  # the picker names the batch
            errors.setdefault("batch_id", errors.pop("lot"))
        return _movements_page(kind, values, errors, 422)
    flash(_("%(kind)s recorded: %(quantity)s of %(item)s, batch %(lot)s (%(warehouse)s), "
            "which now holds %(left)s.", kind=reports.label(KIND_LABELS, kind).capitalize(),
            quantity=reserves_qty(data.quantity, batch.item.unit),
            item=batch.item.name(language()), lot=batch.lot, warehouse=batch.warehouse.name,
            left=reserves_qty(batch.quantity, batch.item.unit)), "success")
    return redirect(url_for("reserves.movements", kind=kind, item=data.item,
                            warehouse=data.warehouse))


@bp.route("/movements/batches")
@staff
def batch_picker() -> Any:
    """The batch picker alone, for the form to refresh when the item or warehouse
    changes."""
    values = request.args.to_dict()
    return render_template("reserves/_batch_picker.html", values=values, errors={},
                           batches=_picker_batches(values))


# --- watching ----------------------------------------------------------------------


def _window() -> int:
    """The expiry list's window asked for: 30 or 90 days."""
    days = request.args.get("days", type=int)
    return days if days in EXPIRY_WINDOWS else EXPIRY_WINDOWS[0]


@bp.route("/expiring")
@staff
def expiring() -> Any:
    days = _window()
    return render_template("reserves/expiring.html", days=days, windows=EXPIRY_WINDOWS,
                           batches=service.expiring(db_session(), days))


@bp.route("/expiring.csv")
@staff
def expiring_csv() -> Any:
    return reports.as_csv(reports.expiring_report(db_session(), _window(), language()))


@bp.route("/expiring.xlsx")
@staff
def expiring_xlsx() -> Any:
    return reports.as_xlsx(reports.expiring_report(db_session(), _window(), language()))


@bp.route("/replenishment")
@staff
def replenishment() -> Any:
    return render_template("reserves/replenishment.html",
                           levels=service.replenishment(db_session()))


# --- autonomy ----------------------------------------------------------------------


@bp.route("/autonomy")
@staff
def autonomy() -> Any:
    """How long the reserves with a norm last: for a number of people typed in, or for
    the people in open shelters now."""
    session = db_session()
    args = request.args
    owner = args.get("owner", "") if args.get("owner") in OWNERS else ""
    source = "shelters" if args.get("source") == "shelters" else "typed"
    raw = args.get("people", "").strip()
    errors: dict[str, str] = {}
    result = None
    if source == "shelters" or raw:
        people: int | None = None
        if source == "typed":
            if raw.isdigit():
                people = int(raw)
            else:
                errors["people"] = _("Give a whole number of people.")
        if not errors:
            try:
                result = service.autonomy_for(session, people, owner=owner or None,
                                              language=language())
            except service.StockError as exc:
                errors[exc.field] = exc.message
    return render_template(
        "reserves/autonomy.html", result=result, errors=errors, owner=owner, source=source,
        people=raw, sheltered=service.sheltered_people(session)), 422 if errors else 200
