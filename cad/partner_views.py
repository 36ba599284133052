"""The partner's pages, opened from the signed link in its e-mail (no account): the
report as the partner needs it — category, place, description, photos, deadlines and a
timeline without anyone's personal data — and forms to accept, reject, plan and
resolve it. Also the photo view for staff.

The link (cad/partner_mail.py) names the report and the partner and expires; a link
of a partner the report was taken from no longer works. Every POST carries the page's
CSRF token and goes through :func:`sargs.cad.service.partner_act`. A forged or garbled
link is 404 (like any unknown link), an expired or rerouted one 410.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from sargs import clock
from sargs.auth.access import public, roles
from sargs.cad import partner_mail, photos, service
from sargs.cad.models import CadPartner, CadPhoto, CadReport, CadReportEvent
from sargs.cad.schemas import PartnerAction
from sargs.context import db_session, settings
from sargs.extensions import limiter
from sargs.web.forms import InputError, form_data

bp = Blueprint("cad_partner", __name__, template_folder="templates")

PAGE_LIMIT = "120 per hour"
POST_LIMIT = "30 per hour"
# Timeline entries a partner sees; operators' notes and the contact's erasure stay inside.
PARTNER_EVENTS = ("created", "classified", "routed", "accepted", "planned",
                  "rejected_by_partner", "resolved", "rejected", "duplicate", "reopened",
                  "overdue", "photo")
# Whose notes a partner may read: its own and the closing note (shown to the reporter too).
NOTE_EVENTS = ("accepted", "planned", "rejected_by_partner", "resolved", "rejected",
               "duplicate")
EVENT_LABELS = {
    "created": _l("Received"), "classified": _l("Classified"), "routed": _l("Sent to a partner"),
    "accepted": _l("Accepted"), "planned": _l("Planned"),
    "rejected_by_partner": _l("Returned by the partner"), "resolved": _l("Resolved"),
    "rejected": _l("Closed without work"), "duplicate": _l("Closed as a duplicate"),
    "reopened": _l("Reopened"), "overdue": _l("Overdue"), "photo": _l("Photo added"),
}
STATE_LABELS = {
    "draft": _l("Draft"), "new": _l("New"), "routed": _l("Waiting for you to accept"),
    "returned": _l("Returned to 8787"), "accepted": _l("Accepted"), "resolved": _l("Resolved"),
    "rejected": _l("Closed without work"), "duplicate": _l("Closed as a duplicate"),
}
ACTOR_LABELS = {"user": _l("Operator"), "system": _l("System"), "reporter": _l("Resident")}


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _opened(token: str) -> tuple[CadReport, CadPartner]:
    """The report and partner of a valid link still the partner's; Refused otherwise."""
    try:
        report_id, partner_id = partner_mail.read_token(settings(), token)
    except partner_mail.LinkError as exc:
        if str(exc) == "expired":
            raise Refused(410, _("This link has expired. Please call 8787 for a new one.")) \
                from None
        raise Refused(404, _("This link is not valid. Check that it was copied whole.")) \
            from None
    sess = db_session()
    report = sess.get(CadReport, report_id)
    partner = sess.get(CadPartner, partner_id)
    if report is None or partner is None:
        raise Refused(410, _("This report no longer exists."))
    if report.partner_id != partner.id:
        raise Refused(410, _("Report %(number)s is no longer with your organisation; it was "
                             "sent elsewhere. Nothing needs to be done.", number=report.id))
    return report, partner


def _refused(exc: Refused) -> Any:
    return render_template("cad/partner_refused.html", message=exc.message), exc.status


def _timeline(report: CadReport) -> list[dict[str, Any]]:
    """The timeline without personal data: staff appear as their role, notes only
    where the partner or the closing gave them."""
    entries = []
    for event in report.events:
        if event.kind not in PARTNER_EVENTS:
            continue
        who = event.actor_name if event.actor_kind == "partner" else ACTOR_LABELS.get(
            event.actor_kind, "")
        entries.append({"at": event.at, "label": EVENT_LABELS[event.kind], "who": who,
                        "note": event.note if event.kind in NOTE_EVENTS else "",
                        "data": _public_data(event)})
    return entries


def _public_data(event: CadReportEvent) -> dict[str, Any]:
    keys = ("planned_for", "partner_name", "overdue")
    return {key: event.data[key] for key in keys if event.data.get(key)}


def _page(token: str, report: CadReport, partner: CadPartner,
          errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
          status: int = 200) -> Any:
    return render_template(
        "cad/partner_report.html", token=token, report=report, partner=partner,
        timeline=_timeline(report), photos=photos.photos_of(db_session(), report),
        state_label=STATE_LABELS.get(report.state, report.state),
        errors=errors or {}, values=values or {}, can_accept=report.state == "routed",
        can_work=report.state in ("routed", "accepted"),
        overdue=service.overdue_kind(report, clock.now()),
    ), status


@bp.route("/cad/partner/<token>", methods=["GET", "POST"])
@public
@limiter.limit(PAGE_LIMIT, methods=["GET"])
@limiter.limit(POST_LIMIT, methods=["POST"])
def report(token: str) -> Any:
    try:
        found, partner = _opened(token)
    except Refused as exc:
        return _refused(exc)
    if request.method == "GET":
        return _page(token, found, partner)
    values = {name: request.form.get(name, "") for name in ("action", "note", "planned_for")}
    sess = db_session()
    try:
        action = form_data(PartnerAction)
        upload = request.files.get("photo")
        data = upload.stream.read(photos.MAX_BYTES + 1) if upload is not None else b""
        cleaned = photos.clean(data) if data else None
        if cleaned is not None and action.action != "resolve":
            raise InputError({"photo": _("A photo goes with marking the report done.")})
        service.partner_act(sess, settings(), found, action, partner=partner)
        if cleaned is not None:
            photos.save(sess, found, cleaned, kind="resolution")
    except InputError as exc:
        sess.rollback()
        return _page(token, found, partner, exc.errors, values, 422)
    except service.ReportError as exc:
        sess.rollback()
        field = "photo" if isinstance(exc, photos.PhotoError) else exc.field
        return _page(token, found, partner, {field: exc.message}, values, 422)
    sess.commit()
    flash(_("Saved. Thank you."), "success")
    return redirect(url_for("cad_partner.report", token=token), 303)


@bp.route("/cad/partner/<token>/photos/<int:photo_id>")
@public
@limiter.limit(PAGE_LIMIT)
def partner_photo(token: str, photo_id: int) -> Any:
    try:
        found, _partner = _opened(token)
    except Refused as exc:
        return _refused(exc)
    return _photo(photo_id, found.id)


@bp.route("/cad/photos/<int:photo_id>")
@roles("admin", "operator", "commission", read=["auditor"])
def staff_photo(photo_id: int) -> Any:
    return _photo(photo_id, None)


def _photo(photo_id: int, report_id: int | None) -> Any:
    photo = db_session().get(CadPhoto, photo_id)
    if photo is None or (report_id is not None and photo.report_id != report_id):
        abort(404)
    return Response(photo.data, mimetype=photo.content_type, headers={
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="report-{photo.report_id}-{photo.id}"'})
