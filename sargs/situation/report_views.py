"""The situation report's pages: the report on screen with the choice of activation and
language, and its downloads as HTML and PDF. Every rule is in
:mod:`sargs.situation.report`; these read the query and render.

The report is Latvian unless ``?lang=en`` asks for English; ``?activation=ID`` chooses an
emergency activation, else the open one is reported. Each report made — shown, or
downloaded — is recorded in the audit log.

The commission, admins and duty operators make reports; auditors may too (read only).
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from pydantic import BaseModel, Field

from sargs.activations.service import list_activations
from sargs.auth.access import roles
from sargs.channels.views import CHANNEL_LABELS
from sargs.context import db_session, settings
from sargs.pdf import PdfUnavailable, html_to_pdf
from sargs.reserves.service import fmt
from sargs.situation import report
from sargs.web.forms import InputError, validate

bp = Blueprint("situation_report", __name__, template_folder="templates",
               url_prefix="/situation")

MAKERS = ("commission", "admin", "operator")
READERS = ("auditor",)


class ReportQuery(BaseModel):
    activation: int | None = Field(default=None, ge=1)
    lang: Literal["lv", "en"] = "lv"


def _query() -> ReportQuery:
    values = {key: request.args.get(key) for key in ("activation", "lang")}
    return validate(ReportQuery, {k: v for k, v in values.items() if v not in (None, "")})


def _made(query: ReportQuery) -> report.Report:
    session = db_session()
    activation = report.chosen_activation(session, query.activation)
    return report.build(session, settings(), activation, query.lang)


def _recorded(made: report.Report, output: str) -> None:
    """Once the report was handed out: in the audit log, as made in ``output`` form."""
    session = db_session()
    report.record_made(session, made, output)
    session.commit()


def _labels() -> dict[str, Any]:
    return {"channel_labels": CHANNEL_LABELS, "number": fmt}


def _filename(made: report.Report, suffix: str) -> str:
    stamp = made.made_at.strftime("%Y%m%d-%H%M")
    return f"situation-report-{stamp}.{suffix}"


def _refused(errors: dict[str, str]) -> Any:
    return Response("\n".join(f"{field}: {message}" for field, message in errors.items()),
                    status=422, mimetype="text/plain")


def _page(query: ReportQuery | None, errors: dict[str, str], status: int = 200) -> Any:
    made = _made(query) if query is not None and not errors else None
    if made is not None:
        _recorded(made, "page")
    emergencies = [a for a in list_activations(db_session()) if not a.is_exercise]
    return render_template("situation/report/page.html", r=made, errors=errors,
                           emergencies=emergencies, values=request.args,
                           **_labels()), status


@bp.route("/report")
@roles(*MAKERS, read=READERS)
def page() -> Any:
    try:
        query = _query()
    except InputError as exc:
        return _page(None, exc.errors, 422)
    with force_locale(query.lang):
        try:
            return _page(query, {})
        except report.ReportError as exc:
            db_session().rollback()
            return _page(query, {exc.field: exc.message}, 422)


def _document() -> tuple[report.Report | None, str, dict[str, str]]:
    try:
        query = _query()
    except InputError as exc:
        return None, "", exc.errors
    with force_locale(query.lang):
        try:
            made = _made(query)
        except report.ReportError as exc:
            db_session().rollback()
            return None, "", {exc.field: exc.message}
        return made, report.render_html(made, **_labels()), {}


@bp.route("/report.html")
@roles(*MAKERS, read=READERS)
def download_html() -> Any:
    made, html, errors = _document()
    if made is None:
        return _refused(errors)
    _recorded(made, "html")
    return Response(html, mimetype="text/html", headers={
        "Content-Disposition": f"attachment; filename={_filename(made, 'html')}"})


@bp.route("/report.pdf")
@roles(*MAKERS, read=READERS)
def download_pdf() -> Any:
    made, html, errors = _document()
    if made is None:
        return _refused(errors)
    try:
        pdf = html_to_pdf(html, request.url_root)
    except PdfUnavailable:
        return Response(_("The PDF cannot be made on this server: WeasyPrint or the libraries "
                          "it needs are not installed. Download the HTML report and print it "
                          "instead."), status=503, mimetype="text/plain")
    _recorded(made, "pdf")
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename={_filename(made, 'pdf')}"})
