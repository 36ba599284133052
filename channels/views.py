"""The alert pages: the list, one alert with its live progress, the manual-alert
form with a preview, the approval queue and the delivery ledger."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from sargs import clock
from sargs.activations.service import list_activations
from sargs.areas.service import home_areas
from sargs.audit.service import record
from sargs.auth.access import roles
from sargs.auth.models import User
from sargs.auth.service import verify_totp
from sargs.channels import acks, alerts, audience, escalation, ledger, rates, texts
from sargs.channels.models import (
    CAP_STATUSES,
    CHANNELS,
    DELIVERY_STATES,
    LEVELS,
    Alert,
    AlertEvent,
    AlertText,
    ContactGroup,
    Delivery,
)
from sargs.channels.schemas import ApproveForm, LedgerFilter, ManualAlertForm, RejectForm
from sargs.context import db_session, settings
from sargs.web.forms import InputError, form_data, validate

bp = Blueprint("channels", __name__, template_folder="templates", url_prefix="/channels")

WRITERS = ("admin", "commission", "operator")
READERS = ("auditor",)
APPROVERS = tuple(sorted(alerts.APPROVER_ROLES))
LIST_LIMIT = 200
LANGUAGES = ("lv", "en")

STATE_LABELS = {
    "draft": _l("draft"), "awaiting_approval": _l("awaiting approval"),
    "approved": _l("approved"), "sending": _l("sending"), "done": _l("done"),
    "cancelled": _l("cancelled"),
}
CHANNEL_LABELS = {
    "sms": _l("SMS"), "voice": _l("Voice call"), "telegram": _l("Telegram"),
    "email": _l("E-mail"), "pbx": _l("IP phones (PBX)"), "sip": _l("IP phones (SIP)"),
}
# Ledger columns on the progress fragment, in the order rows move.
PROGRESS_STATES = ("held", "pending", "claimed", "sent", "delivered", "failed")
# AlertError fields → what the user reads (the engine's own messages are English).
ALERT_ERRORS = {
    "activation_id": _l("An exercise alert belongs to an open exercise activation; "
                        "an exercise activation sends exercise alerts only."),
    "cap_status": _l("An exercise activation sends exercise alerts only."),
    "drill_wording": _l("Wording that passes a drill off as real is not allowed in an exercise or "
                        "test."),
    "control_characters": _l("The text contains control characters that cannot be sent."),
    "approver": _l("Another authorised person must approve this alert; its author cannot."),
    "second_factor": _l("Confirm your second factor again to approve."),
    "state": _l("The alert has moved on meanwhile; this step is no longer possible."),
}


def _alert_error(exc: alerts.AlertError) -> str:
    message = ALERT_ERRORS.get(exc.reason or exc.field)
    return str(message) if message is not None else exc.message


def _alert_or_404(alert_id: int) -> Alert:
    alert = db_session().get(Alert, alert_id)
    if alert is None:
        abort(404)
    return alert


def _may(*wanted: str) -> bool:
    return bool(current_user.role_names & set(wanted))


def _submitted_at(session: Any, alert: Alert) -> Any:
    """When the alert last went to the approval queue."""
    at = session.scalar(
        select(AlertEvent.at).where(AlertEvent.alert_id == alert.id, AlertEvent.action == "submitted")
        .order_by(AlertEvent.id.desc()).limit(1)
    )
    return at or alert.created_at


def _waiting_minutes(since: Any) -> int:
    return max(int((clock.now() - since).total_seconds() // 60), 0)


def _people(session: Any, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.display_name for u in session.scalars(select(User).where(User.id.in_(wanted)))}


def _progress_context(alert: Alert) -> dict[str, Any]:
    session = db_session()
    counts = ledger.progress(session, alert.id)
    total = sum(sum(states.values()) for states in counts.values())
    finished = sum(n for states in counts.values() for state, n in states.items()
                   if state in ledger.FINAL_DELIVERY_STATES)
    delivered = sum(states.get("delivered", 0) for states in counts.values())
    rows = []
    for channel in alert.channels:
        states = counts.get(channel, {})
        rows.append({
            "channel": channel,
            "counts": {state: states.get(state, 0) for state in PROGRESS_STATES},
            "other": sum(n for state, n in states.items()
                         if state not in PROGRESS_STATES),
            "total": sum(states.values()),
        })
    return {
        "alert": alert, "rows": rows, "total": total, "finished": finished,
        "delivered": delivered, "percent": round(100 * finished / total) if total else 0,
        "milestones": ledger.milestones(session, alert.id, alert.sending_at),
        "failures": ledger.failures(session, alert.id),
        "not_configured": ledger.held_not_configured(session, alert.id),
        "polling": alert.state == "sending",
        "states": PROGRESS_STATES, "channel_labels": CHANNEL_LABELS,
    }


def _approval_context(session: Any, alert: Alert) -> dict[str, Any]:
    is_author = alert.created_by_id == current_user.id
    return {
        "may_approve": alert.state == "awaiting_approval" and _may(*APPROVERS),
        "is_author": is_author,
        "waiting": _waiting_minutes(_submitted_at(session, alert))
        if alert.state == "awaiting_approval" else None,
    }


def _detail_page(alert: Alert, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    session = db_session()
    events = list(session.scalars(
        select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)))
    people = _people(session, {e.actor_id for e in events}
                     | {alert.created_by_id, alert.approved_by_id})
    codes = alert.audience.get("groups", [])
    groups = {g.code: g.name for g in session.scalars(
        select(ContactGroup).where(ContactGroup.code.in_(codes)))} if codes else {}
    return render_template(
        "channels/detail.html", alert=alert, events=events, people=people, groups=groups,
        errors=errors or {}, may_write=_may(*WRITERS),
        may_ledger=True, may_export=_may("admin", "commission", "auditor"),
        state_labels=STATE_LABELS, channel_labels=CHANNEL_LABELS,
        progress=_progress_context(alert), **_approval_context(session, alert),
        ack=_ack_context(session, alert),
    ), status


# --- acknowledgements and the escalation chain ---------------------------------

ACK_VIA_LABELS = {"telegram": _l("Telegram"), "sms": _l("SMS reply"),
                  "voice": _l("key 1 on the call"), "web": _l("on the web")}


def _ack_context(session: Any, alert: Alert) -> dict[str, Any]:
    people = acks.people(session, alert)
    own = acks.contact_of_user(session, current_user.email) if alert.ack_required else None
    return {
        "required": alert.ack_required, "people": people,
        "names": {p.contact_id: p.name for p in people},
        "users": _people(session, {p.acknowledgement.user_id for p in people
                                   if p.acknowledgement is not None}),
        "chain": escalation.state_of(session, alert), "own_contact_id": own.id if own else None,
        "may_ack": alert.state not in ("draft", "cancelled") and _may(*WRITERS),
        "via_labels": ACK_VIA_LABELS,
    }


@bp.route("/<int:alert_id>/acknowledge", methods=["POST"])
@roles(*WRITERS)
def acknowledge(alert_id: int) -> Any:
    """The user's own acknowledgement, or the duty officer's on a person's behalf."""
    alert = _alert_or_404(alert_id)
    session = db_session()
    raw = request.form.get("contact_id", "")
    ack = acks.acknowledge_on_web(session, alert, int(raw), current_user.id) \
        if raw.isdigit() else None
    if ack is None:
        session.rollback()
        flash(_("Contact: this person has nothing to acknowledge in this alert."), "error")
    else:
        session.commit()
        flash(_("Acknowledgement recorded."), "success")
    return redirect(url_for("channels.detail", alert_id=alert_id))


@bp.route("/")
@roles(*WRITERS, read=READERS)
def index() -> Any:
    session = db_session()
    found = list(session.scalars(select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc())
                                 .limit(LIST_LIMIT)))
    totals = ledger.totals(session, [a.id for a in found])
    summaries = {}
    for alert in found:
        states = totals.get(alert.id, {})
        total = sum(states.values())
        summaries[alert.id] = {
            "total": total, "delivered": states.get("delivered", 0),
            "finished": sum(n for s, n in states.items() if s in ledger.FINAL_DELIVERY_STATES),
            "held": states.get("held", 0),
        }
    return render_template("channels/index.html", alerts=found, summaries=summaries,
                           state_labels=STATE_LABELS, may_write=_may(*WRITERS),
                           may_approve=_may(*APPROVERS))


@bp.route("/<int:alert_id>")
@roles(*WRITERS, read=READERS)
def detail(alert_id: int) -> Any:
    return _detail_page(_alert_or_404(alert_id))


@bp.route("/<int:alert_id>/progress")
@roles(*WRITERS, read=READERS)
def progress(alert_id: int) -> Any:
    return render_template("channels/_progress.html", p=_progress_context(_alert_or_404(alert_id)))


@bp.route("/<int:alert_id>/send", methods=["POST"])
@roles(*WRITERS)
def send(alert_id: int) -> Any:
    alert = _alert_or_404(alert_id)
    session = db_session()
    try:
        written = alerts.start_sending(session, alert, ledger.configured_channels(settings()))
        session.commit()
    except alerts.AlertError as exc:
        session.rollback()
        flash(_alert_error(exc), "error")
    else:
        flash(_("Sending started: %(n)s deliveries.", n=written), "success")
    return redirect(url_for("channels.detail", alert_id=alert_id))


@bp.route("/<int:alert_id>/cancel", methods=["POST"])
@roles(*WRITERS)
def cancel(alert_id: int) -> Any:
    alert = _alert_or_404(alert_id)
    session = db_session()
    try:
        stopped = alerts.cancel(session, alert, current_user.id,
                                request.form.get("note", "").strip()[:1000])
        session.commit()
    except alerts.AlertError as exc:
        session.rollback()
        flash(_alert_error(exc), "error")
    else:
        flash(_("Alert cancelled; %(n)s deliveries not yet sent were stopped.", n=stopped),
              "success")
    return redirect(url_for("channels.detail", alert_id=alert_id))


# --- the manual-alert form ------------------------------------------------


def _form_choices(session: Any) -> dict[str, Any]:
    return {
        "groups": list(session.scalars(select(ContactGroup).order_by(ContactGroup.name))),
        "areas": home_areas(session, settings()),
        "activations": [a for a in list_activations(session, open_only=True)],
        "channel_choices": CHANNELS, "channel_labels": CHANNEL_LABELS,
    }


def _form_page(values: Any, errors: dict[str, str], status: int = 200) -> Any:
    session = db_session()
    chosen = {key: _checked(values, key) for key in ("groups", "areas", "channels")}
    return render_template("channels/new.html", values=values, errors=errors, chosen=chosen,
                           preview=_preview(session, values), **_form_choices(session)), status


def _checked(values: Any, key: str) -> list[str]:
    return values.getlist(key) if hasattr(values, "getlist") else list(values.get(key, []))


def _with_shelter_guidance(session: Any, bodies: dict[str, str],
                           areas: list[str]) -> dict[str, str]:
    """Each language's text with the line naming the open shelters in ``areas`` (and the
    public map) after it; unchanged when none is open there."""
    from sargs.shelters import guidance

    hint = guidance.shelter_hint(session, areas, base_url=settings().base_url) or {}
    return {lang: f"{body}\n{hint[lang]}" if body and lang in hint else body
            for lang, body in bodies.items()}


def _preview(session: Any, values: Any) -> dict[str, Any]:
    """What each language and channel would carry, and how long reaching everyone takes.

    Works on whatever the form holds, valid or not: the recipients are counted
    by the audience resolver on an unsaved alert."""
    cap_status = values.get("cap_status") if values.get("cap_status") in CAP_STATUSES else "Actual"
    level = values.get("level") if values.get("level") in LEVELS else None
    channels = [c for c in _checked(values, "channels") if c in CHANNELS]
    bodies = {lang: (values.get(f"text_{lang}") or "").strip() for lang in LANGUAGES}
    if values.get("shelter_guidance"):
        bodies = _with_shelter_guidance(session, bodies, _checked(values, "areas"))
    marked = {lang: texts.mark(cap_status, lang, body) for lang, body in bodies.items() if body}
    languages = []
    for lang, body in marked.items():
        segments, encoding = texts.sms_segments(body)
        languages.append({"language": lang, "text": body, "segments": segments,
                          "encoding": encoding, "characters": len(body)})
    audience_def: dict[str, Any] = {}
    groups = _checked(values, "groups")
    areas = _checked(values, "areas")
    if groups:
        audience_def["groups"] = groups
    if areas:
        audience_def["public"] = {"areas": areas}
    counts: dict[tuple[str, str], int] = {}
    if channels and audience_def:
        draft = Alert(cap_status=cap_status, level=level, audience=audience_def,
                      channels=channels, source="manual")
        for position, (lang, body) in enumerate(marked.items() or [("lv", "")]):
            draft.texts.append(AlertText(language=lang, position=position, body=body))
        counts = audience.count(session, draft)
    segments_of = {row["language"]: row["segments"] for row in languages}
    estimate = []
    for channel in channels:
        recipients = sum(n for (c, _lang), n in counts.items() if c == channel)
        units = sum(n * max(segments_of.get(lang, 1), 1) for (c, lang), n in counts.items()
                    if c == channel) if channel == "sms" else recipients
        rate = rates.configured_rate(channel, settings())  # SARGS_CHANNEL_RATES, Twilio numbers
        estimate.append({"channel": channel, "recipients": recipients, "units": units,
                         "rate": rate, "seconds": rates.seconds_to_reach(channel, units, rate=rate)})
    return {
        "cap_status": cap_status, "languages": languages, "channels": channels,
        "estimate": estimate, "everyone": max((e["seconds"] for e in estimate), default=0),
        "recipients": sum(counts.values()), "drill": cap_status != "Actual",
        "needs_approval": alerts.needs_second_person(cap_status, "manual", audience_def),
    }


def _check_choices(session: Any, data: ManualAlertForm) -> dict[str, str]:
    known_groups = set(session.scalars(select(ContactGroup.code)))
    errors: dict[str, str] = {}
    if set(data.groups) - known_groups:
        errors["groups"] = _("Unknown group: %(code)s",
                             code=", ".join(sorted(set(data.groups) - known_groups)))
    home = {area.code for area in home_areas(session, settings())}
    if set(data.areas) - home:
        errors["areas"] = _("Unknown area: %(code)s", code=", ".join(sorted(set(data.areas) - home)))
    return errors


@bp.route("/new", methods=["GET", "POST"])
@roles(*WRITERS)
def new() -> Any:
    if request.method == "GET":
        return _form_page({"cap_status": "Actual", "level": "orange"}, {})
    session = db_session()
    try:
        data = form_data(ManualAlertForm)
    except InputError as exc:
        return _form_page(request.form, exc.errors, 422)
    errors = _check_choices(session, data)
    if errors:
        return _form_page(request.form, errors, 422)
    texts_by_language = data.texts()
    if data.shelter_guidance:
        texts_by_language = _with_shelter_guidance(session, texts_by_language, data.areas)
    draft = alerts.AlertDraft(
        source="manual", cap_status=data.cap_status, level=data.level, texts=texts_by_language,
        audience=data.audience(), channels=data.channels, activation_id=data.activation_id,
        expires_at=data.expires_at,
    )
    try:
        alert = alerts.create_alert(session, draft, current_user.id)
        alerts.submit(session, alert, current_user.id)
        session.commit()
    except alerts.AlertError as exc:
        session.rollback()
        field = exc.field if exc.field != "texts" else "text_lv"
        return _form_page(request.form, {field: _alert_error(exc)}, 422)
    if alert.state == "awaiting_approval":
        flash(_("The alert waits for a second authorised person to approve it."), "success")
    else:
        flash(_("The alert is approved and ready to send."), "success")
    return redirect(url_for("channels.detail", alert_id=alert.id))


@bp.route("/new/preview", methods=["POST"])
@roles(*WRITERS)
def preview() -> Any:
    return render_template("channels/_preview.html", preview=_preview(db_session(), request.form),
                           channel_labels=CHANNEL_LABELS)


# --- approval ---------------------------------------------------------------


@bp.route("/approvals")
@roles(*APPROVERS)
def approvals() -> Any:
    session = db_session()
    waiting = list(session.scalars(select(Alert).where(Alert.state == "awaiting_approval")
                                   .order_by(Alert.created_at, Alert.id)))
    queue = [{"alert": a, "since": (since := _submitted_at(session, a)),
              "minutes": _waiting_minutes(since)} for a in waiting]
    people = _people(session, {a.created_by_id for a in waiting})
    return render_template("channels/approvals.html", queue=queue, people=people)


@bp.route("/<int:alert_id>/approve", methods=["POST"])
@roles(*APPROVERS)
def approve(alert_id: int) -> Any:
    alert = _alert_or_404(alert_id)
    session = db_session()
    if alert.state != "awaiting_approval":
        flash(_alert_error(alerts.AlertError("state", "")), "error")
        return redirect(url_for("channels.detail", alert_id=alert_id))
    if alert.created_by_id == current_user.id:  # refused before a code is spent
        return _detail_page(alert, {"approval": str(ALERT_ERRORS["approver"])}, 403)
    try:
        data = form_data(ApproveForm)
    except InputError as exc:
        return _detail_page(alert, exc.errors, 422)
    user = session.get(User, current_user.id)
    if user is None or not user.totp_secret:
        return _detail_page(alert, {"code": _(
            "Set up two-factor authentication on your profile before approving alerts.")}, 422)
    cfg = settings()
    result = verify_totp(session, user, data.code, cfg.login_lockout_failures,
                         cfg.login_lockout_minutes)
    if result.user is None:
        session.commit()  # the failure counts towards the lockout
        message = (_("Too many failed attempts. The account is locked for a while.")
                   if result.reason == "locked" else _("The code is not valid."))
        return _detail_page(alert, {"code": message}, 422)
    try:
        alerts.approve(session, alert, user.id, set(user.role_names), clock.now())
        session.commit()
    except alerts.AlertError as exc:
        session.commit()  # keep the spent code spent
        return _detail_page(alert, {"approval": _alert_error(exc)}, 403)
    flash(_("Alert approved; it can be sent now."), "success")
    return redirect(url_for("channels.detail", alert_id=alert_id))


@bp.route("/<int:alert_id>/reject", methods=["POST"])
@roles(*APPROVERS)
def reject(alert_id: int) -> Any:
    alert = _alert_or_404(alert_id)
    session = db_session()
    try:
        data = form_data(RejectForm)
    except InputError as exc:
        return _detail_page(alert, exc.errors, 422)
    try:
        alerts.reject(session, alert, current_user.id, data.note)
        session.commit()
    except alerts.AlertError as exc:
        session.rollback()
        flash(_alert_error(exc), "error")
    else:
        flash(_("Alert returned to its author."), "success")
    return redirect(url_for("channels.detail", alert_id=alert_id))


# --- the ledger ---------------------------------------------------------------

LEDGER_PAGE = 500
FULL_ADDRESS_ROLES = frozenset({"admin", "auditor"})


def mask(channel: str, address: str) -> str:
    """An address with all but its end hidden: phones keep their last 3 digits."""
    if channel == "email" and "@" in address:
        local, _at, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(address) <= 3:
        return "***"
    return "*" * (len(address) - 3) + address[-3:]


def _ledger_query(alert_id: int, query: LedgerFilter) -> Any:
    stmt = select(Delivery).where(Delivery.alert_id == alert_id)
    if query.channel:
        stmt = stmt.where(Delivery.channel == query.channel)
    if query.state:
        stmt = stmt.where(Delivery.state == query.state)
    if query.address.strip():
        stmt = stmt.where(Delivery.address.contains(query.address.strip(), autoescape=True))
    return stmt.order_by(Delivery.id)


def _ledger_filter() -> tuple[LedgerFilter, dict[str, str]]:
    try:
        return validate(LedgerFilter, request.args.to_dict()), {}
    except InputError as exc:
        return LedgerFilter(), exc.errors


def _shown_address(full: bool, channel: str, address: str) -> str:
    return address if full else mask(channel, address)


@bp.route("/<int:alert_id>/ledger", endpoint="ledger")
@roles(*WRITERS, read=READERS)
def ledger_page(alert_id: int) -> Any:
    alert = _alert_or_404(alert_id)
    query, errors = _ledger_filter()
    session = db_session()
    found = list(session.scalars(_ledger_query(alert_id, query).limit(LEDGER_PAGE + 1)))
    full = bool(current_user.role_names & FULL_ADDRESS_ROLES)
    return render_template(
        "channels/ledger.html", alert=alert, rows=found[:LEDGER_PAGE],
        more=len(found) > LEDGER_PAGE, query=query, errors=errors, full=full,
        shown=_shown_address, channel_choices=CHANNELS, state_choices=DELIVERY_STATES,
        channel_labels=CHANNEL_LABELS, may_export=_may("admin", "commission", "auditor"),
    ), (400 if errors else 200)


@bp.route("/<int:alert_id>/ledger.csv")
@roles("admin", "commission", "auditor")
def ledger_csv(alert_id: int) -> Any:
    alert = _alert_or_404(alert_id)
    query, errors = _ledger_filter()
    if errors:
        return InputError(errors).as_response(400)
    session = db_session()
    found = list(session.scalars(_ledger_query(alert_id, query)))
    full = bool(current_user.role_names & FULL_ADDRESS_ROLES)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["delivery_id", "alert_id", "channel", "address", "language", "state",
                     "hold_reason", "attempts", "created_at_utc", "sent_at_utc",
                     "delivered_at_utc", "final_at_utc", "provider_id", "last_error"])
    for row in found:
        writer.writerow([
            row.id, row.alert_id, row.channel, _shown_address(full, row.channel, row.address),
            row.language, row.state, row.hold_reason or "", row.attempts,
            *[(moment.isoformat() if moment else "")
              for moment in (row.created_at, row.sent_at, row.delivered_at, row.final_at)],
            row.provider_id or "", row.last_error or "",
        ])
    record(session, "export", "delivery", alert.id,
           after={"alert_id": alert.id, "rows": len(found), "full_addresses": full,
                  **{k: v for k, v in query.model_dump().items() if v}})
    session.commit()
    return Response(
        "\ufeff" + buffer.getvalue(), mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=sargs-alert-{alert.id}-ledger.csv"},
    )
