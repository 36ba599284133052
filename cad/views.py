"""The 8787 line's pages for operators: the queue with bulk actions, the intake form for
a live phone call, one report with its timeline and actions, search, and the map of open
reports. Every rule is in :mod:`sargs.cad.service`; these only read forms and render."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field, field_validator

from sargs import clock
from sargs.auth.access import roles
from sargs.cad import service
from sargs.cad.models import REPORT_CHANNELS, REPORT_STATES, CadPhoto, CadReport
from sargs.cad.photos import photos_of
from sargs.cad.schemas import ReportIn
from sargs.context import db_session, settings
from sargs.web.forms import InputError, validate

bp = Blueprint("cad", __name__, template_folder="templates", url_prefix="/cad")

WRITERS = frozenset({"admin", "operator", "commission"})
staff = roles(*sorted(WRITERS), read=["auditor"])
PAGE_SIZE = 50
SEARCH_COUNT_LIMIT = 1000  # beyond this a search says "more than 1000": narrow it down
QUEUE_LIMIT = 50  # the oldest first: the ones that waited longest

STATE_LABELS = {
    "draft": _l("draft"), "new": _l("new"), "routed": _l("sent to partner"),
    "returned": _l("returned by partner"), "accepted": _l("accepted"),
    "resolved": _l("resolved"), "rejected": _l("rejected"), "duplicate": _l("duplicate"),
}
CHANNEL_LABELS = {"phone": _l("phone"), "web": _l("web"), "app": _l("app"),
                  "email": _l("e-mail"), "other": _l("other")}
JURISDICTION_LABELS = {"city": _l("Jelgava city"), "municipality": _l("Jelgava municipality")}
FEEDBACK_LABELS = {"email": _l("e-mail"), "sms": _l("SMS"), "telegram": _l("Telegram"),
                   "open311": _l("Open311 status")}
EVENT_LABELS = {
    "created": _l("registered"), "classified": _l("classified"), "edited": _l("edited"),
    "routed": _l("sent to partner"), "accepted": _l("accepted by partner"),
    "planned": _l("planned"), "rejected_by_partner": _l("returned by partner"),
    "resolved": _l("resolved"), "rejected": _l("closed as rejected"),
    "duplicate": _l("closed as duplicate"), "reopened": _l("reopened"), "note": _l("note"),
    "overdue": _l("overdue"), "feedback": _l("reporter told"),
    "contact_erased": _l("contact data erased"), "photo": _l("photo"),
    "partner_mail": _l("e-mail to partner"),
}
MAIL_OUTCOME_LABELS = {"sent": _l("sent"), "failed": _l("could not be sent"),
                       "not_configured": _l("not sent: e-mail is not configured"),
                       "no_address": _l("not sent: the partner has no e-mail address")}
OVERDUE_LABELS = {"response": _l("response overdue"), "resolution": _l("resolution overdue")}
QUEUE_TABS = (("new", _l("New")), ("waiting", _l("With partners")), ("overdue", _l("Overdue")))


def _labels() -> dict[str, Any]:
    # Translated once per page, not once per table row.
    labels = {name: {key: str(text) for key, text in table.items()} for name, table in (
        ("state_labels", STATE_LABELS), ("channel_labels", CHANNEL_LABELS),
        ("jurisdiction_labels", JURISDICTION_LABELS), ("feedback_labels", FEEDBACK_LABELS),
        ("event_labels", EVENT_LABELS), ("overdue_labels", OVERDUE_LABELS),
        ("mail_outcome_labels", MAIL_OUTCOME_LABELS))}
    return {**labels, "labels": labels}


def may_write() -> bool:
    return bool(WRITERS & set(current_user.role_names))


@bp.context_processor
def _module_context() -> dict[str, Any]:
    """The module's navigation links the statistics page wherever it is registered."""
    stats = next((rule.endpoint for rule in current_app.url_map.iter_rules()
                  if rule.rule.rstrip("/") == "/cad/stats" and "GET" in (rule.methods or ())),
                 None)
    return {"stats_url": url_for(stats) if stats else None, "may_write": may_write(),
            "language": str(get_locale())}


def _report_or_404(report_id: int) -> CadReport:
    """Exercise reports belong to their exercise, never to these pages."""
    report = service.get_report(db_session(), report_id)
    if report is None or report.activation_id is not None:
        abort(404)
    return report


def _error(exc: service.ReportError) -> dict[str, str]:
    return {exc.field: exc.message}


# --- the queue ---------------------------------------------------------------------


@bp.route("/")
@staff
def index() -> Any:
    tab = request.args.get("tab", "new")
    if tab not in dict(QUEUE_TABS):
        tab = "new"
    session, cfg, now = db_session(), settings(), clock.now()
    found, total = service.queue(session, cfg, tab, limit=QUEUE_LIMIT, now=now)
    routing = service.Routing(session)
    suggested = {r.id: routing.partner_for(r.category, r.jurisdiction, r.area_code)
                 for r in found if r.partner is None}
    return render_template(
        "cad/index.html", tab=tab, tabs=QUEUE_TABS, reports=found, total=total,
        counts=service.queue_counts(session, cfg, now),
        overdue={r.id: service.overdue_kind(r, now) for r in found}, suggested=suggested,
        **_labels())


@bp.route("/bulk", methods=["POST"])
@staff
def bulk() -> Any:
    """Route the selected reports to their suggested partners, or close them as rejected
    with one reason: each through the service, all in one transaction; the ones that
    cannot be done are named with the reason and left as they were."""
    action = request.form.get("action")
    tab = request.form.get("tab", "new")
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit()]
    reason = request.form.get("reason", "").strip()
    if action not in ("route", "reject") or not ids:
        flash(_("Choose reports and an action."), "error")
        return redirect(url_for("cad.index", tab=tab))
    if action == "reject" and not reason:
        flash(_("Say why the reports are closed."), "error")
        return redirect(url_for("cad.index", tab=tab))
    session, cfg = db_session(), settings()
    done, failed = [], []
    for report_id in ids:
        report = service.get_report(session, report_id)
        if report is None or report.activation_id is not None:
            failed.append(_("%(number)s: no such report", number=report_id))
            continue
        try:
            with session.begin_nested():
                if action == "route":
                    service.route(session, cfg, report)
                else:
                    service.close(session, cfg, report, "rejected", reason)
            done.append(report_id)
        except service.ReportError as exc:
            failed.append(f"{report_id}: {exc.message}")
    session.commit()
    if done:
        message = (_("Sent to partners: %(numbers)s", numbers=", ".join(map(str, done)))
                   if action == "route" else
                   _("Closed as rejected: %(numbers)s", numbers=", ".join(map(str, done))))
        flash(message, "success")
    if failed:
        flash(_("Not done: %(reasons)s", reasons="; ".join(failed)), "error")
    return redirect(url_for("cad.index", tab=tab))


# --- intake ------------------------------------------------------------------------


def _category_choices() -> list[dict[str, str]]:
    return [{"code": c.code, "lv": c.name_lv, "en": c.name_en, "keywords": c.keywords}
            for c in service.categories(db_session())]


def _report_form() -> dict[str, Any]:
    """The submitted form as ReportIn's fields; a category typed by its exact name
    (without the page's script) counts as chosen."""
    form = request.form
    values: dict[str, Any] = {name: form.get(name, "") for name in (
        "channel", "category", "description", "address", "lat", "lon", "jurisdiction",
        "reporter_name", "reporter_phone", "reporter_email", "feedback_channel")}
    values["feedback_wanted"] = "feedback_wanted" in form
    typed = form.get("category_search", "").strip().casefold()
    if not values["category"] and typed:
        for choice in _category_choices():
            if typed in (choice["code"], choice["lv"].casefold(), choice["en"].casefold()):
                values["category"] = choice["code"]
    if not values["lat"] or not values["lon"]:
        values["lat"] = values["lon"] = ""
    if not values["jurisdiction"] or values["lat"]:
        values.pop("jurisdiction")
    values["language"] = "en" if str(get_locale()) == "en" else "lv"
    return values


def _render_intake(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    return render_template(
        "cad/new.html", values=values, errors=errors, categories=_category_choices(),
        channels=REPORT_CHANNELS, **_labels()), status


@bp.route("/new", methods=["GET", "POST"])
@staff
def new() -> Any:
    if request.method == "GET":
        return _render_intake({"channel": "phone"}, {})
    values = _report_form()
    session = db_session()
    try:
        data = validate(ReportIn, values)
        report = service.create_report(session, settings(), data)
        session.commit()
    except InputError as exc:
        session.rollback()
        return _render_intake({**values, **request.form}, exc.errors, 422)
    except service.ReportError as exc:
        session.rollback()
        return _render_intake({**values, **request.form}, _error(exc), 422)
    flash(_("Report %(number)s registered.", number=report.id), "success")
    return redirect(url_for("cad.detail", report_id=report.id))


@bp.route("/duplicates")
@staff
def duplicates() -> Any:
    """Reports that may be the same problem: one category, 150 m, 48 hours."""
    session = db_session()
    args = request.args
    category = service.category_by_code(session, args.get("category", ""))
    try:
        lat, lon = float(args["lat"]), float(args["lon"])
    except (KeyError, ValueError):
        lat = lon = None
    exclude = args.get("exclude", type=int)
    found = service.duplicates(session, category.id if category else None, lat, lon,
                               exclude_id=exclude)
    return render_template("cad/_duplicates.html", found=found, asked=category is not None
                           and lat is not None, **_labels())


# --- one report --------------------------------------------------------------------


def _photo_url(photo: CadPhoto) -> str:
    return url_for("cad_partner.staff_photo", photo_id=photo.id)


def _render_detail(report: CadReport, errors: dict[str, str] | None = None,
                   values: dict[str, Any] | None = None, status: int = 200) -> Any:
    session, now = db_session(), clock.now()
    editing = values or {
        "category": report.category.code if report.category else "",
        "category_search": report.category.name(str(get_locale())) if report.category else "",
        "description": report.description, "address": report.address,
        "lat": report.lat if report.lat is not None else "",
        "lon": report.lon if report.lon is not None else "",
        "jurisdiction": report.jurisdiction}
    photos = photos_of(session, report)
    return render_template(
        "cad/detail.html", report=report, events=report.events, now=now,
        overdue=service.overdue_kind(report, now),
        suggested=service.suggest_partner(session, report.category, report.jurisdiction,
                                          report.area_code),
        partners=service.partners(session),
        similar=service.duplicates(session, report.category_id, report.lat, report.lon,
                                   at=report.received_at, exclude_id=report.id),
        photos=[(photo, _photo_url(photo)) for photo in photos],
        categories=_category_choices(), errors=errors or {}, values=editing,
        show_contact=may_write(), **_labels()), status


@bp.route("/<int:report_id>")
@staff
def detail(report_id: int) -> Any:
    return _render_detail(_report_or_404(report_id))


def _act(report_id: int, do: Callable[[CadReport], Any], done: str) -> Any:
    """Run one service action on a report: saved and back to the report, or the page
    again with the field's error and nothing changed."""
    report = _report_or_404(report_id)
    session = db_session()
    try:
        do(report)
        session.commit()
    except (service.ReportError, InputError) as exc:
        session.rollback()
        errors = exc.errors if isinstance(exc, InputError) else _error(exc)
        report = _report_or_404(report_id)
        values = {**request.form} if request.path.endswith("/classify") else None
        return _render_detail(report, errors, values, 422)
    flash(done, "success")
    return redirect(url_for("cad.detail", report_id=report_id))


@bp.route("/<int:report_id>/classify", methods=["POST"])
@staff
def classify(report_id: int) -> Any:
    def do(report: CadReport) -> None:
        values = _report_form()
        values["channel"] = report.channel  # how it came in does not change
        for name in ("reporter_name", "reporter_phone", "reporter_email", "feedback_channel"):
            values.pop(name, None)
        values.pop("feedback_wanted", None)
        service.classify(db_session(), settings(), report, validate(ReportIn, values))

    return _act(report_id, do, _("Report saved."))


@bp.route("/<int:report_id>/route", methods=["POST"])
@staff
def route(report_id: int) -> Any:
    partner_id = request.form.get("partner_id", type=int)
    return _act(report_id, lambda r: service.route(db_session(), settings(), r, partner_id),
                _("Report sent to the partner."))


@bp.route("/<int:report_id>/close", methods=["POST"])
@staff
def close(report_id: int) -> Any:
    state = request.form.get("state", "")
    note = request.form.get("note", "").strip()
    original = request.form.get("duplicate_of", "").strip().lstrip("#")
    return _act(report_id, lambda r: service.close(
        db_session(), settings(), r, state, note,
        duplicate_of=int(original) if original.isdigit() else None), _("Report closed."))


@bp.route("/<int:report_id>/reopen", methods=["POST"])
@staff
def reopen(report_id: int) -> Any:
    note = request.form.get("note", "").strip()
    return _act(report_id, lambda r: service.reopen(db_session(), r, note),
                _("Report reopened."))


@bp.route("/<int:report_id>/note", methods=["POST"])
@staff
def note(report_id: int) -> Any:
    text = request.form.get("note", "")
    return _act(report_id, lambda r: service.add_note(db_session(), r, text),
                _("Note added."))


# --- search ------------------------------------------------------------------------


class SearchForm(BaseModel):
    """The search page's filters, as they stand in its URL."""

    q: str = Field("", max_length=200)
    category: str | None = None
    partner: str | None = None
    state: Literal[REPORT_STATES] | None = None  # type: ignore[valid-type]
    date_from: date | None = None
    date_to: date | None = None
    jurisdiction: Literal["city", "municipality"] | None = None
    channel: Literal[REPORT_CHANNELS] | None = None  # type: ignore[valid-type]
    overdue: bool = False
    page: int = Field(1, ge=1, le=10_000)

    @field_validator("category", "partner", "state", "date_from", "date_to", "jurisdiction",
                     "channel", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return value or None

    def report_filter(self) -> service.ReportFilter:
        return service.ReportFilter(
            text=self.q, category=self.category, partner=self.partner,
            states=(self.state,) if self.state else (), date_from=self.date_from,
            date_to=self.date_to, jurisdiction=self.jurisdiction, channel=self.channel,
            overdue=self.overdue, limit=PAGE_SIZE, offset=(self.page - 1) * PAGE_SIZE)


@bp.route("/search")
@staff
def search() -> Any:
    session, cfg, now = db_session(), settings(), clock.now()
    args = {key: value for key, value in request.args.items() if value}
    errors: dict[str, str] = {}
    found: list[CadReport] = []
    total = 0
    form = None
    try:
        form = validate(SearchForm, args)
        found, total = service.search(session, cfg, form.report_filter(), now,
                                      count_up_to=SEARCH_COUNT_LIMIT)
    except InputError as exc:
        errors = exc.errors
    page = form.page if form else 1
    pages = max(1, -(-min(total, SEARCH_COUNT_LIMIT) // PAGE_SIZE))
    return render_template(
        "cad/search.html", values=args, errors=errors, reports=found, total=total,
        count_limit=SEARCH_COUNT_LIMIT,
        page=page, pages=pages,
        categories=[(c.code, c.name(str(get_locale())))
                    for c in service.categories(session, active_only=False)],
        partners=[(p.code, p.name) for p in service.partners(session, active_only=False)],
        overdue={r.id: service.overdue_kind(r, now) for r in found},
        **_labels()), (422 if errors else 200)


# --- the map of open reports -------------------------------------------------------


@bp.route("/map")
@staff
def map_page() -> Any:
    return render_template("cad/map.html", **_labels())


@bp.route("/map.json")
@staff
def map_json() -> Any:
    """Open reports with a point; no contact data (see the service)."""
    data = service.open_reports_geojson(db_session(), settings(),
                                        language=str(get_locale()))
    for feature in data["features"]:
        props = feature["properties"]
        props["url"] = url_for("cad.detail", report_id=props["id"])
        props["state_label"] = str(STATE_LABELS.get(props["state"], props["state"]))
        if props["overdue"]:
            props["overdue_label"] = str(OVERDUE_LABELS[props["overdue"]])
    return jsonify(data)
