"""The reserves' reports as the pages show them and as files: stock on hand by item, by
warehouse or by owner, the expiry lists and an item's stock card, in CSV (for Excel: a
BOM and ``;``) and XLSX. The figures come from :mod:`sargs.reserves.service`; this module
names, filters and lays them out, and holds the words the pages show for the codes."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from sargs import clock
from sargs.reserves import service
from sargs.reserves.models import OWNERS, ReserveItem, Warehouse

CATEGORY_LABELS = {"water": _l("water"), "food": _l("food"), "hygiene": _l("hygiene"),
                   "medical": _l("medical"), "energy": _l("energy and fuel"),
                   "shelter_equipment": _l("shelter equipment"),
                   "flood_protection": _l("flood protection"), "tools": _l("tools")}
UNIT_LABELS = {"pcs": _l("pcs"), "l": _l("l"), "kg": _l("kg"), "m": _l("m"), "m2": _l("m²"),
               "m3": _l("m³"), "pack": _l("packs"), "box": _l("boxes"), "pair": _l("pairs"),
               "set": _l("sets")}
OWNER_LABELS = {"municipal": _l("municipal reserve"), "state": _l("state reserve")}
KIND_LABELS = {"receipt": _l("receipt"), "issue": _l("issue"), "transfer": _l("transfer"),
               "transfer_out": _l("transfer out"), "transfer_in": _l("transfer in"),
               "adjustment": _l("adjustment"), "write_off": _l("write-off")}
REASON_LABELS = {"stocktake": _l("stock-take"), "found": _l("found"),
                 "counting_error": _l("counting error"),
                 "unit_correction": _l("unit correction"), "other": _l("other"),
                 "expired": _l("expired"), "damaged": _l("damaged"), "lost": _l("lost")}
VIEWS = ("item", "warehouse", "owner")
SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")  # characters Excel refuses in a sheet's name
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def label(labels: dict[str, Any], code: str | None) -> str:
    return "" if code is None else str(labels.get(code, code))


# --- stock on hand -----------------------------------------------------------------


@dataclass
class StockFilters:
    """What the stock page and its files show: grouped by item, warehouse or owner, of
    one warehouse, owner or category (empty: all). Unknown values are ignored."""

    view: str = "item"
    warehouse: str = ""
    owner: str = ""
    category: str = ""

    @classmethod
    def from_args(cls, args: Any) -> StockFilters:
        def pick(name: str, allowed: Any, default: str = "") -> str:
            value = (args.get(name) or "").strip()
            return value if value in allowed else default

        return cls(pick("view", VIEWS, "item"), (args.get("warehouse") or "").strip(),
                   pick("owner", OWNERS), pick("category", CATEGORY_LABELS))

    def args(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


@dataclass
class StockView:
    """Stock rows of the filters, with the items they name (for names in a language)."""

    filters: StockFilters
    rows: list[service.StockRow]
    items: dict[str, ReserveItem]
    warehouses: dict[str, Warehouse]

    @property
    def totals(self) -> list[service.ItemTotal]:
        return service.totals_by_item(self.rows)

    def by_warehouse(self) -> list[tuple[Warehouse, list[service.StockRow]]]:
        return [(w, [r for r in self.rows if r.warehouse == code])
                for code, w in self.warehouses.items()
                if any(r.warehouse == code for r in self.rows)]

    def by_owner(self) -> list[tuple[str, list[service.ItemTotal]]]:
        """Municipal and state reserves apart: they are accounted separately."""
        totals = self.totals
        return [(owner, [t for t in totals if t.owner == owner]) for owner in OWNERS
                if any(t.owner == owner for t in totals)]


def stock_view(session: Session, filters: StockFilters) -> StockView:
    catalogue = {item.code: item for item in service.items(session)}
    stores = {w.code: w for w in service.warehouses(session)}
    warehouse = stores.get(filters.warehouse)
    if warehouse is None:
        filters.warehouse = ""
    rows = service.stock(session, warehouse_id=warehouse.id if warehouse else None,
                         owner=filters.owner or None)
    if filters.category:
        rows = [r for r in rows if catalogue[r.item].category == filters.category]
    return StockView(filters, rows, catalogue, stores)


@dataclass
class Report:
    """One table of a file: its columns in the user's language and plain values (Decimal,
    date, datetime or text)."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def stock_report(view: StockView, language: str) -> Report:
    def name(code: str) -> str:
        return view.items[code].name(language)

    quantity, unit, expiry = _("Quantity"), _("Unit"), _("Earliest expiry")
    if view.filters.view == "warehouse":
        report = Report("stock-by-warehouse", _("Stock on hand by warehouse"), [
            _("Warehouse"), _("Code"), _("Item"), _("Owner"), quantity, unit, expiry])
        for warehouse, rows in view.by_warehouse():
            report.rows += [[warehouse.name, r.item, name(r.item), label(OWNER_LABELS, r.owner),
                             r.quantity, label(UNIT_LABELS, r.unit), r.earliest_expiry]
                            for r in rows]
        return report
    if view.filters.view == "owner":
        report = Report("stock-by-owner", _("Stock on hand by owner"), [
            _("Owner"), _("Code"), _("Item"), quantity, unit, _("Warehouses"), expiry])
        for owner, totals in view.by_owner():
            report.rows += [[label(OWNER_LABELS, owner), t.item, name(t.item), t.quantity,
                             label(UNIT_LABELS, t.unit), t.warehouses, t.earliest_expiry]
                            for t in totals]
        return report
    return Report("stock-by-item", _("Stock on hand by item"), [
        _("Code"), _("Item"), _("Owner"), quantity, unit, _("Warehouses"), expiry], [
        [t.item, name(t.item), label(OWNER_LABELS, t.owner), t.quantity,
         label(UNIT_LABELS, t.unit), t.warehouses, t.earliest_expiry] for t in view.totals])


# --- expiry and the stock card -----------------------------------------------------


def expiring_report(session: Session, days: int, language: str) -> Report:
    today = service.today()
    report = Report(f"expiring-{days}", _("Expiring within %(days)s days", days=days), [
        _("Expires"), _("Days left"), _("Code"), _("Item"), _("Warehouse"), _("Batch"),
        _("Quantity"), _("Unit"), _("Expired")])
    for batch in service.expiring(session, days):
        assert batch.expires_on is not None
        report.rows.append([
            batch.expires_on, (batch.expires_on - today).days, batch.item.code,
            batch.item.name(language), batch.warehouse.name, batch.lot, batch.quantity,
            label(UNIT_LABELS, batch.item.unit), _("yes") if service.expired(batch) else ""])
    return report


def card_report(session: Session, item: ReserveItem, language: str) -> Report:
    lines = service.stock_card(session, item)
    names = service.user_names(session, (line.movement.by_user_id for line in lines))
    report = Report(f"stock-card-{item.code}", _("Stock card: %(item)s", item=item.name(language)),
                    [_("When"), _("Who"), _("Movement"), _("Reason"), _("Warehouse"), _("Batch"),
                     _("Quantity"), _("Balance after"), _("Unit"), _("Note")])
    unit = label(UNIT_LABELS, item.unit)
    for line in lines:
        movement = line.movement
        report.rows.append([
            clock.local(movement.created_at), names.get(movement.by_user_id or 0, ""),
            label(KIND_LABELS, movement.kind), label(REASON_LABELS, movement.reason),
            line.batch.warehouse.name, line.batch.lot, movement.quantity, line.balance, unit,
            movement.note])
    return report


# --- files -------------------------------------------------------------------------


def _file_name(report: Report, extension: str) -> str:
    return f"reserves-{report.name}-{service.today().isoformat()}.{extension}"


def _text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return service.fmt(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def as_csv(report: Report) -> Response:
    """One CSV table with a header row; quantities exact, with a decimal point."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(report.columns)
    writer.writerows([_text(value) for value in row] for row in report.rows)
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_file_name(report, "csv")}"'})


def as_xlsx(report: Report) -> Response:
    """One sheet, its header row bold; quantities as numbers, dates as dates."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_UNSAFE.sub(" ", report.title)[:31]
    sheet.append(report.columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in report.rows:
        sheet.append([value.replace(tzinfo=None) if isinstance(value, datetime) else value
                      for value in row])
    for column in sheet.iter_cols(min_row=1):
        width = max((len(str(c.value)) for c in column if c.value is not None), default=8)
        sheet.column_dimensions[column[0].column_letter].width = min(50, max(10, width + 2))
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    body = io.BytesIO()
    book.save(body)
    return Response(body.getvalue(), mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{_file_name(report, "xlsx")}"'})
