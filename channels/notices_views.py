"""Cancel and Correct on the alert page: a confirm step that shows the templated
follow-up (editable for a correction), then one POST (see channels/notices.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from sargs.auth.access import roles
from sargs.channels import audience, ledger, notices, texts
from sargs.channels.alerts import AlertError, needs_second_person
from sargs.channels.models import Alert
from sargs.context import db_session, settings

bp = Blueprint("notices", __name__, template_folder="templates", url_prefix="/channels")

WRITERS = ("admin", "commission", "operator")
NOTE_MAX = 1000
TEXT_MAX = 1600
ERRORS = {
    "state": _l("Only an alert that is being or was sent can be cancelled with a notice or "
                "corrected; an alert not yet sent is simply cancelled."),
    "msg_type": _l("A cancel notice cannot itself be cancelled or corrected."),
    "follow_up": _l("This alert already has a cancel or correction; cancel or correct that one "
                    "instead."),
    "texts": _l("Write the corrected text in at least one of the alert's languages."),
}


def _alert_or_404(alert_id: int) -> Alert:
    alert = db_session().get(Alert, alert_id)
    if alert is None:
        abort(404)
    return alert


def _error(exc: AlertError) -> str:
    message = ERRORS.get(exc.field)
    return str(message) if message is not None else exc.message


def _told_counts(alert: Alert) -> dict[str, int]:
    return dict(Counter(r.channel for r in audience.told(db_session(), alert.id)))


def _unsent(alert: Alert) -> int:
    if alert.state != "sending":
        return 0
    counts = ledger.progress(db_session(), alert.id)
    stoppable = ledger.ALLOWED_FROM["cancelled"]
    return sum(n for states in counts.values() for state, n in states.items()
               if state in stoppable)


@bp.app_template_global("follow_up_info")
def follow_up_info(alert: Alert) -> dict[str, Any]:
    """What the alert page's follow-up block shows: this alert's cancels and
    corrections, the alert it follows up, and which buttons apply."""
    session = db_session()
    found = notices.follow_ups(session, alert)
    possible = (alert.state in notices.FOLLOWED_UP_STATES and alert.msg_type != "Cancel"
                and notices.standing_follow_up(session, alert) is None)
    return {
        "follow_ups": found,
        "original": session.get(Alert, alert.references_id) if alert.references_id else None,
        "may_cancel": possible and (alert.state != "cancelled" or bool(
            audience.told(session, alert.id))),
        "may_correct": possible,
    }


def _marked(alert: Alert, bodies: dict[str, str]) -> dict[str, str]:
    return {language: texts.mark(alert.cap_status, language, body)
            for language, body in bodies.items()}


@bp.route("/<int:alert_id>/cancel-notice", methods=["GET", "POST"])
@roles(*WRITERS)
def cancel_notice(alert_id: int) -> Any:
    alert = _alert_or_404(alert_id)
    if request.method == "POST":
        session = db_session()
        try:
            outcome = notices.cancel(session, alert, current_user.id,
                                     configured=ledger.configured_channels(settings()),
                                     note=request.form.get("note", "").strip()[:NOTE_MAX])
            session.commit()
        except AlertError as exc:
            session.rollback()
            flash(_error(exc), "error")
            return redirect(url_for("channels.detail", alert_id=alert_id))
        flash(_("Alert cancelled: %(stopped)s deliveries not yet sent were stopped, "
                "%(told)s cancel notices are on their way.",
                stopped=outcome.stopped, told=outcome.deliveries), "success")
        target = outcome.follow_up.id if outcome.follow_up is not None else alert_id
        return redirect(url_for("channels.detail", alert_id=target))
    if not follow_up_info(alert)["may_cancel"]:
        flash(_("This alert cannot be cancelled with a notice now."), "error")
        return redirect(url_for("channels.detail", alert_id=alert_id))
    return render_template(
        "channels/cancel_notice.html", alert=alert, texts=_marked(alert, notices.cancel_texts(alert)),
        told=_told_counts(alert), unsent=_unsent(alert), info=follow_up_info(alert),
    )


def _correct_page(alert: Alert, values: dict[str, str], errors: dict[str, str],
                  status: int = 200) -> Any:
    return render_template(
        "channels/correct.html", alert=alert, values=values, errors=errors,
        prefixes=notices.CORRECTION_PREFIX, told=_told_counts(alert), unsent=_unsent(alert),
        needs_approval=needs_second_person(alert.cap_status, "manual", alert.audience),
        info=follow_up_info(alert),
    ), status


@bp.route("/<int:alert_id>/correct", methods=["GET", "POST"])
@roles(*WRITERS)
def correct(alert_id: int) -> Any:
    alert = _alert_or_404(alert_id)
    languages = [text.language for text in alert.texts]
    if request.method == "GET":
        if not follow_up_info(alert)["may_correct"]:
            flash(_("This alert cannot be corrected now."), "error")
            return redirect(url_for("channels.detail", alert_id=alert_id))
        return _correct_page(alert, notices.correction_defaults(alert), {})
    values = {language: request.form.get(f"text_{language}", "") for language in languages}
    errors = {f"text_{language}": _("At most %(n)s characters.", n=TEXT_MAX)
              for language, body in values.items() if len(body) > TEXT_MAX}
    if errors:
        return _correct_page(alert, values, errors, 422)
    session = db_session()
    try:
        outcome = notices.correct(session, alert, values, current_user.id,
                                  configured=ledger.configured_channels(settings()),
                                  note=request.form.get("note", "").strip()[:NOTE_MAX])
        session.commit()
    except AlertError as exc:
        session.rollback()
        if exc.field == "texts":
            return _correct_page(alert, values, {f"text_{languages[0]}": _error(exc)}, 422)
        if exc.field.startswith("text_"):  # drill wording that would pass as real
            return _correct_page(alert, values, {exc.field: _(
                "Wording that passes a drill off as real is not allowed in an exercise "
                "or test.")}, 422)
        flash(_error(exc), "error")
        return redirect(url_for("channels.detail", alert_id=alert_id))
    fixed = outcome.follow_up
    assert fixed is not None
    if fixed.state == "awaiting_approval":
        flash(_("The wrong text is stopped. The correction waits for a second authorised "
                "person to approve it."), "success")
    else:
        flash(_("The wrong text is stopped; the correction is on its way to %(n)s addresses.",
                n=outcome.deliveries), "success")
    return redirect(url_for("channels.detail", alert_id=fixed.id))

