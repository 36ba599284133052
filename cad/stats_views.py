"""The 8787 line's statistics page and its CSV / XLSX exports: the tables of the annual
report, with bar charts drawn on the server as SVG. The figures come from
:func:`sargs.cad.stats.year_stats`; this module only names and lays them out."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from sargs import clock
from sargs.auth.access import roles
from sargs.cad import stats
from sargs.cad.views import CHANNEL_LABELS, JURISDICTION_LABELS, may_write
from sargs.context import db_session, settings

bp = Blueprint("cad_stats", __name__, template_folder="templates", url_prefix="/cad")
staff = roles("admin", "commission", "operator", read=["auditor"])
SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")  # characters Excel refuses in a sheet's name
MONTH_NAMES = (_l("January"), _l("February"), _l("March"), _l("April"), _l("May"),
               _l("June"), _l("July"), _l("August"), _l("September"), _l("October"),
               _l("November"), _l("December"))


@dataclass
class Table:
    """One table of the report: its rows as plain values, and whether to chart it."""

    slug: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: bool = True  # bars of the first column's label and the second's count
    vertical: bool = False
    chart_rows: int | None = None  # chart only this many leading rows (not a total)
    notes: list[str] = field(default_factory=list)


@dataclass
class Period:
    year: int
    month_from: int = 1
    month_to: int = 12
    errors: dict[str, str] = field(default_factory=dict)


def _int_arg(name: str, default: int, low: int, high: int, errors: dict[str, str]) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        errors[name] = _("Give a number from %(low)s to %(high)s.", low=low, high=high)
        return default
    return int(raw)


def _period(years: list[int]) -> Period:
    """The year and months asked for; a bad value is named and the default used."""
    errors: dict[str, str] = {}
    now_year = clock.now().astimezone(settings().zone).year
    default = years[0] if years else now_year
    year = _int_arg("year", default, 2000, now_year + 1, errors)
    month_from = _int_arg("from", 1, 1, 12, errors)
    month_to = _int_arg("to", 12, 1, 12, errors)
    if month_from > month_to:
        errors["to"] = _("The last month comes before the first.")
        month_from, month_to = 1, 12
    return Period(year, month_from, month_to, errors)


def _pct(value: float) -> str:
    return format_decimal(value, format="0.##") + " %"


def tables(figures: stats.YearStats, language: str) -> list[Table]:
    """The report's tables, titles and headers in ``language``'s words."""
    total = figures.total

    def category_name(code: str) -> str:
        lv, en = figures.category_names.get(code, (code, code))
        return lv if language == "lv" else en

    def share(n: int) -> str:
        return _pct(figures.percent(n)) if total else "—"

    count, pct = _("Reports"), _("Share")
    result = [
        Table("jurisdiction", _("City and municipality"), [_("Where"), count, pct], [
            [str(JURISDICTION_LABELS["city"]), figures.city, share(figures.city)],
            [str(JURISDICTION_LABELS["municipality"]), figures.municipality,
             share(figures.municipality)],
            [_("Total"), total, share(total)]], chart_rows=2),
        Table("months", _("Reports by month"), [_("Month"), count, pct], [
            [str(MONTH_NAMES[int(m) - 1]), n, share(n)] for m, n in figures.by_month.items()
            if figures.month_from <= int(m) <= figures.month_to], vertical=True),
        Table("categories", _("Reports by category"), [_("Category"), count, pct], [
            [category_name(code), n, share(n)] for code, n in figures.by_category.items()]),
        Table("partners", _("Reports by partner"), [_("Partner"), count, pct], [
            [figures.partner_names.get(code, code), n, share(n)]
            for code, n in figures.by_partner.items()]),
        Table("channels", _("Reports by channel"), [_("Channel"), count, pct], [
            [str(CHANNEL_LABELS.get(code, code)), n, share(n)]
            for code, n in figures.by_channel.items()]),
        Table("times", _("Response and resolution times (working days)"), [
            _("Partner"), _("Reports"), _("Response, median"), _("Response, 90th percentile"),
            _("Resolution, median"), _("Resolution, 90th percentile"), _("Overdue")], [
            [figures.partner_names.get(code, code), n,
             *_times(figures.response.get(code)), *_times(figures.resolution.get(code)),
             figures.overdue.get(code, 0)]
            for code, n in figures.by_partner.items()], chart=False,
            notes=[_("Response: from receiving the report to the partner's acceptance. "
                     "Resolution: to its closing as resolved. Overdue: answered or finished "
                     "after the category's deadline.")]),
    ]
    if figures.earlier:
        years = [(figures.year, {"total": total, "city": figures.city,
                                 "municipality": figures.municipality,
                                 "by_category": figures.by_category,
                                 "by_partner": figures.by_partner}),
                 *figures.earlier.items()]
        top = list(figures.by_category)[:3]
        result.append(Table(
            "years", _("Year on year"),
            [_("Year"), _("Total"), str(JURISDICTION_LABELS["city"]),
             str(JURISDICTION_LABELS["municipality"]), *(category_name(c) for c in top)],
            [[str(y), e["total"], e["city"], e["municipality"],
              *(e["by_category"].get(c, 0) for c in top)] for y, e in sorted(years)],
            vertical=True))
    return result


def _times(times: stats.Times | None) -> list[Any]:
    if times is None:
        return ["—", "—"]
    return [format_decimal(times.median or 0, format="0.#"),
            format_decimal(times.p90 or 0, format="0.#")]


def _figures() -> tuple[stats.YearStats, Period, list[int]]:
    session, zone = db_session(), settings().zone
    years = stats.years_with_data(session, zone)
    period = _period(years)
    figures = stats.year_stats_now(session, zone, period.year, period.month_from,
                                   period.month_to)
    return figures, period, years


def _language() -> str:
    return "lv" if str(get_locale()) == "lv" else "en"


def _file_name(period: Period, extension: str) -> str:
    months = ("" if (period.month_from, period.month_to) == (1, 12)
              else f"-{period.month_from:02d}-{period.month_to:02d}")
    return f"8787-{period.year}{months}.{extension}"


@bp.route("/stats")
@staff
def page() -> Any:
    figures, period, years = _figures()
    return render_template(
        "cad/stats.html", figures=figures, period=period, years=years,
        tables=tables(figures, _language()), month_names=MONTH_NAMES,
        stats_url=request.path, may_write=may_write(), language=_language(),
    ), 400 if period.errors else 200


@bp.route("/stats.csv")
@staff
def export_csv() -> Any:
    """One CSV with every table, one after another (Excel opens it: BOM and ``;``)."""
    figures, period, _years = _figures()
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for number, table in enumerate(tables(figures, _language())):
        if number:
            writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.columns)
        writer.writerows(table.rows)
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_file_name(period, "csv")}"'})


@bp.route("/stats.xlsx")
@staff
def export_xlsx() -> Any:
    """One sheet per table, its header row in the page's language."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    figures, period, _years = _figures()
    book = Workbook()
    book.remove(book.active)
    for table in tables(figures, _language()):
        sheet = book.create_sheet(title=SHEET_UNSAFE.sub(" ", table.title)[:31])
        sheet.append(table.columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(row)
        sheet.column_dimensions["A"].width = max(12, min(60, max(
            (len(str(row[0])) for row in table.rows), default=10) + 2))
        for note in table.notes:
            sheet.append([])
            sheet.append([note])
    body = io.BytesIO()
    book.save(body)
    return Response(body.getvalue(), mimetype=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), headers={
        "Content-Disposition": f'attachment; filename="{_file_name(period, "xlsx")}"'})
