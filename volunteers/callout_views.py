"""The coordinators' call-out pages: the list (still asking first), the form, and one
call-out with its live progress and roster, the replies to settle, check-in and
check-out on site, asking more, closing and cancelling. Every rule is in
:mod:`sargs.volunteers.callouts`; these read forms and render.

The admin, the commission and coordinators run call-outs; the auditor reads them.
Reading a roster (volunteers' names) is audit-logged, as any staff access to their data.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from sargs import clock
from sargs.activations.service import list_activations
from sargs.areas.service import list_areas
from sargs.auth.access import roles
from sargs.channels.ledger import configured_channels
from sargs.channels.texts import sms_segments
from sargs.context import db_session, settings
from sargs.volunteers import callouts, service
from sargs.volunteers.models import CALLOUT_LINKS, CallOut, CallOutAsk, CallOutReply
from sargs.volunteers.reference import SKILLS, name_of
from sargs.volunteers.schemas import CallOutIn
from sargs.web.forms import InputError, validate

bp = Blueprint("callouts", __name__, template_folder="templates",
               url_prefix="/volunteers/callouts")

WRITERS = frozenset({"admin", "commission", "coordinator"})
staff = roles(*sorted(WRITERS), read=["auditor"])
REFRESH_SECONDS = 5
REPLIES_SHOWN = 50
BRIEF_MAX = next(m.max_length for m in CallOutIn.model_fields["brief"].metadata
                 if hasattr(m, "max_length"))

STATE_LABELS = {"open": _l("asking"), "filled": _l("filled"), "closed": _l("closed"),
                "cancelled": _l("cancelled")}
ASK_LABELS = {"asked": _l("no answer yet"), "yes": _l("comes"), "no": _l("cannot come"),
              "released": _l("released"), "withdrawn": _l("withdrawn")}
LINK_LABELS = {"none": _l("nothing"), "alert": _l("an alert"), "cad": _l("an 8787 report"),
               "exercise": _l("an exercise")}
OUTCOME_LABELS = {"yes": _l("yes"), "no": _l("no"), "unclear": _l("unclear"),
                  "late": _l("late"), "busy": _l("already committed")}
REASON_LABELS = {"no_code": _l("no call-out code"), "unknown_code": _l("an unknown code"),
                 "not_asked": _l("a call-out they were not asked in"),
                 "digit": _l("neither 1 nor 2")}


def may_write() -> bool:
    return bool(WRITERS & set(current_user.role_names))


@bp.context_processor
def _module_context() -> dict[str, Any]:
    locale = get_locale()
    language = locale.language if locale is not None else "lv"
    return {"may_write": may_write(), "state_labels": STATE_LABELS, "ask_labels": ASK_LABELS,
            "link_labels": LINK_LABELS, "outcome_labels": OUTCOME_LABELS,
            "reason_labels": REASON_LABELS,
            "skill_name": lambda code: name_of(SKILLS, code, language),
            "refresh_seconds": REFRESH_SECONDS}


def _callout_or_404(callout_id: int) -> CallOut:
    callout = db_session().get(CallOut, callout_id)
    if callout is None:
        abort(404)
    return callout


# --- the list and the form ----------------------------------------------------------


@bp.route("/")
@staff
def index() -> Any:
    session = db_session()
    found = callouts.list_callouts(session)
    return render_template("volunteers/callouts/index.html", callouts=found,
                           counts={c.id: callouts.counts(session, c) for c in found})


def _form_context(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    session = db_session()
    return {"values": values, "errors": errors, "skills": SKILLS, "links": CALLOUT_LINKS,
            "activations": list_activations(session, open_only=True),
            "areas": list_areas(session, "municipality") + list_areas(session,
                                                                      "neighbourhood")}


def _form_values() -> dict[str, Any]:
    values: dict[str, Any] = {name: request.form.get(name, "")
                              for name in CallOutIn.model_fields if name != "skills"}
    values["skills"] = request.form.getlist("skills")
    return values


@bp.route("/new", methods=["GET", "POST"])
@staff
def new() -> Any:
    if request.method == "GET":
        values = {"needed": "2", "link_kind": request.args.get("link_kind", "none"),
                  "link_ref": request.args.get("link_ref", ""), "skills": []}
        return render_template("volunteers/callouts/form.html", **_form_context(values, {}))
    values = _form_values()
    session = db_session()
    try:
        data = validate(CallOutIn, values)
        callout = callouts.create(session, data, current_user.id, settings=settings())
    except InputError as error:
        session.rollback()
        return render_template("volunteers/callouts/form.html",
                               **_form_context(values, error.errors)), 422
    except service.VolunteerError as error:
        session.rollback()
        return render_template("volunteers/callouts/form.html",
                               **_form_context(values, {error.field: error.message})), 422
    session.commit()
    asked = len(callout.asks)
    flash(_("Call-out %(code)s created; %(n)s volunteers asked.", code=callout.code, n=asked),
          "success")
    return redirect(url_for("callouts.detail", callout_id=callout.id))


@bp.route("/preview", methods=["POST"])
@staff
def preview() -> Any:
    """The question as a phone will read it, and its SMS length, while the form is
    filled in (htmx)."""
    values = _form_values()
    sample = CallOut(code="A", title=values.get("title") or "…",
                     place=values.get("place") or "…", brief=values.get("brief") or "",
                     starts_at=clock.now(), ends_at=clock.now())
    try:
        timed = validate(CallOutIn, {**values, "activation_id": 0, "needed": 1,
                                     "title": "x", "place": "x"})
        sample.starts_at, sample.ends_at = timed.starts_at, timed.ends_at
    except InputError:
        pass  # the times are not filled in yet: now stands in
    texts = []
    for language, body in callouts.message_texts(sample, "ask").items():
        segments, encoding = sms_segments(body)
        texts.append({"language": language, "body": body, "length": len(body),
                      "segments": segments, "encoding": encoding})
    return render_template("volunteers/callouts/_preview.html", texts=texts,
                           brief_length=len(values.get("brief") or ""),
                           brief_max=BRIEF_MAX)


# --- one call-out -------------------------------------------------------------------


def _live_context(callout: CallOut) -> dict[str, Any]:
    session = db_session()
    rows = callouts.roster(session, callout)
    service.record_access(session, "callout.roster_viewed", [r.volunteer.id for r in rows])
    session.commit()
    counts = callouts.counts(session, callout)
    return {"callout": callout, "rows": rows, "counts": counts,
            "total_hours": callouts.total_hours(rows),
            "flagged": sum(1 for r in rows if r.flagged),
            "polling": callout.state in callouts.ASKING}


@bp.route("/<int:callout_id>")
@staff
def detail(callout_id: int) -> Any:
    callout = _callout_or_404(callout_id)
    session = db_session()
    review = callouts.to_review(session, callout)
    replies = callouts.replies(session, callout)[:REPLIES_SHOWN]
    return render_template("volunteers/callouts/detail.html", **_live_context(callout),
                           review=review, replies=replies,
                           names=service.names(session, [r.volunteer_id for r in review + replies]))


@bp.route("/<int:callout_id>/live")
@staff
def live(callout_id: int) -> Any:
    """Progress and roster, refreshed by htmx while the call-out is asking."""
    return render_template("volunteers/callouts/_live.html",
                           **_live_context(_callout_or_404(callout_id)))


def _back(callout: CallOut) -> Any:
    return redirect(url_for("callouts.detail", callout_id=callout.id))


def _act(callout: CallOut, work: Any, done: str) -> Any:
    """Run one service operation for the page: commit and say so, or show why not."""
    session = db_session()
    try:
        work(session)
    except service.VolunteerError as error:
        session.rollback()
        flash(error.message, "error")
    else:
        session.commit()
        flash(done, "success")
    return _back(callout)


def _ask_or_404(callout: CallOut, ask_id: int) -> CallOutAsk:
    ask = db_session().get(CallOutAsk, ask_id)
    if ask is None or ask.callout_id != callout.id:
        abort(404)
    return ask


@bp.route("/<int:callout_id>/asks/<int:ask_id>/check-in", methods=["POST"])
@staff
def check_in(callout_id: int, ask_id: int) -> Any:
    callout = _callout_or_404(callout_id)
    ask = _ask_or_404(callout, ask_id)
    return _act(callout, lambda s: callouts.check_in(s, ask), _("Checked in."))


@bp.route("/<int:callout_id>/asks/<int:ask_id>/check-out", methods=["POST"])
@staff
def check_out(callout_id: int, ask_id: int) -> Any:
    callout = _callout_or_404(callout_id)
    ask = _ask_or_404(callout, ask_id)
    return _act(callout, lambda s: callouts.check_out(s, ask), _("Checked out."))


@bp.route("/<int:callout_id>/asks/<int:ask_id>/withdraw", methods=["POST"])
@staff
def withdraw(callout_id: int, ask_id: int) -> Any:
    callout = _callout_or_404(callout_id)
    ask = _ask_or_404(callout, ask_id)
    return _act(callout, lambda s: callouts.withdraw(s, callout, ask),
                _("Taken off the roster; the volunteer is told."))


@bp.route("/<int:callout_id>/replies/<int:reply_id>/settle", methods=["POST"])
@staff
def settle(callout_id: int, reply_id: int) -> Any:
    callout = _callout_or_404(callout_id)
    reply = db_session().get(CallOutReply, reply_id)
    if reply is None or reply.callout_id != callout.id:
        abort(404)
    decision = request.form.get("decision", "")
    return _act(callout, lambda s: callouts.settle(s, reply, decision, current_user.id,
                                                   settings=settings()),
                _("The reply is settled."))


@bp.route("/<int:callout_id>/ask-more", methods=["POST"])
@staff
def ask_more(callout_id: int) -> Any:
    callout = _callout_or_404(callout_id)
    asked: list[int] = []

    def work(session: Any) -> None:
        asked.append(callouts.ask_wave(session, configured_channels(settings()), callout))

    response = _act(callout, work, _("Asking more volunteers."))
    if asked and not asked[0]:
        flash(_("Nobody else matches the call-out."), "error")
    return response


@bp.route("/<int:callout_id>/close", methods=["POST"])
@staff
def close(callout_id: int) -> Any:
    callout = _callout_or_404(callout_id)
    return _act(callout, lambda s: callouts.close(s, callout, settings=settings()),
                _("The call-out is closed."))


@bp.route("/<int:callout_id>/cancel", methods=["POST"])
@staff
def cancel(callout_id: int) -> Any:
    callout = _callout_or_404(callout_id)
    return _act(callout, lambda s: callouts.cancel(s, callout, settings=settings()),
                _("The call-out is cancelled; those who were coming are told."))
