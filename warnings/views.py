"""The warnings pages: the list with the sources' health and a map, one warning with its
versions, notices and the alerts it raised, and the escalation policies."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from sargs.areas import service as areas
from sargs.auth.access import roles
from sargs.channels.models import CHANNELS, ContactGroup
from sargs.channels.views import CHANNEL_LABELS
from sargs.channels.views import STATE_LABELS as ALERT_STATE_LABELS
from sargs.context import db_session, settings
from sargs.warnings import page_data, policies, service
from sargs.warnings.cap import TYPE_CODES
from sargs.warnings.models import WarningVersion, WeatherWarning
from sargs.warnings.schemas import LIST_STATES, PolicyForm, WarningFilter
from sargs.web.forms import InputError, form_data, validate

bp = Blueprint("warnings", __name__, template_folder="templates", url_prefix="/warnings")

WRITERS = ("admin", "commission", "operator", "trainer")
READERS = ("auditor", "shelter_staff", "coordinator", "warehouse", "instructor")
POLICY_READERS = ("commission", "auditor")
LIST_LIMIT = 200
CAP_CONTENT_TYPE = "application/cap+xml"

LEVEL_LABELS = {"yellow": _l("yellow"), "orange": _l("orange"), "red": _l("red")}
LEVEL_MEANINGS = {"yellow": _l("potentially dangerous"), "orange": _l("dangerous"),
                  "red": _l("very dangerous")}
TYPE_LABELS = {
    "wind": _l("Wind"), "snow-ice": _l("Snow and ice"), "thunderstorm": _l("Thunderstorm"),
    "fog": _l("Fog"), "high-temperature": _l("High temperature"),
    "low-temperature": _l("Low temperature"), "coastal-event": _l("Coastal event"),
    "forest-fire": _l("Forest fire"), "avalanches": _l("Avalanches"), "rain": _l("Rain"),
    "flooding": _l("Flooding"), "rain-flood": _l("Rain and flooding"),
}
STATE_LABELS = {"active": _l("active"), "ended": _l("ended"), "expired": _l("expired"),
                "all": _l("all")}
END_REASON_LABELS = {"cancel": _l("cancelled by LVĢMC"), "all_clear": _l("all clear"),
                     "left_list": _l("no longer in LVĢMC's list")}
NOTICE_KIND_LABELS = {"alert": _l("alert"), "upgrade": _l("upgrade"), "update": _l("update"),
                      "all_clear": _l("all clear")}
NOTICE_STATE_LABELS = {"held": _l("held"), "sent": _l("sent"), "dropped": _l("dropped")}
# policies.PolicyError fields → the form's fields and what the user reads.
POLICY_ERRORS = {
    "name": ("name", _l("This field is required.")),
    "level": ("level", _l("Choose yellow, orange or red.")),
    "channels": ("channels", _l("Choose at least one channel.")),
    "ack_chain": ("ack_minutes", _l("Minutes between calls 1–120, rounds 1–10.")),
}


def _labels() -> dict[str, Any]:
    return {"level_labels": LEVEL_LABELS, "level_meanings": LEVEL_MEANINGS,
            "type_labels": TYPE_LABELS, "state_labels": STATE_LABELS,
            "end_reason_labels": END_REASON_LABELS, "channel_labels": CHANNEL_LABELS}


def _area_names(codes: set[str]) -> dict[str, str]:
    session = db_session()
    found = {}
    for code in sorted(codes):
        area = areas.get_area(session, code)
        found[code] = area.name if area is not None else code
    return found


def _real_warning_or_404(warning_id: int) -> WeatherWarning:
    """Exercise warnings belong to their exercise, never to these pages."""
    warning = service.get_warning(db_session(), warning_id)
    if warning is None or warning.activation_id is not None:
        abort(404)
    return warning


@bp.route("/")
@roles(*WRITERS, read=READERS)
def index() -> Any:
    try:
        state = validate(WarningFilter, request.args.to_dict()).state
    except InputError as exc:
        abort(400, description="; ".join(exc.errors.values()))
    session = db_session()
    found = service.list_warnings(session, state, limit=LIST_LIMIT)
    active = found if state == "active" else service.list_warnings(session, "active")
    urls = {w.id: url_for("warnings.detail", warning_id=w.id) for w in active}
    home = list(settings().home_areas)
    return render_template(
        "warnings/index.html", warnings=found, state=state, states=LIST_STATES,
        alerts=page_data.alerts_of(session, [w.id for w in found]),
        sources=page_data.source_health(session, settings()),
        rejections=page_data.recent_rejections(session),
        shapes=page_data.map_shapes(session, active, home, urls),
        area_names=_area_names({code for w in found for code in w.home_areas or []}),
        **_labels(),
    )


@bp.route("/<int:warning_id>")
@roles(*WRITERS, read=READERS)
def detail(warning_id: int) -> Any:
    warning = _real_warning_or_404(warning_id)
    session = db_session()
    notices = page_data.notices_of(session, warning.id)
    raised = page_data.alerts_of(session, [warning.id]).get(warning.id, [])
    home = list(settings().home_areas)
    return render_template(
        "warnings/detail.html", warning=warning, notices=notices, raised=raised,
        first_delivery=page_data.sent_to_first_delivery(warning, notices, raised),
        shapes=page_data.map_shapes(session, [warning], home, {}),
        area_names=_area_names(set(warning.areas or []) | set(warning.home_areas or [])),
        notice_kind_labels=NOTICE_KIND_LABELS, notice_state_labels=NOTICE_STATE_LABELS,
        alert_state_labels=ALERT_STATE_LABELS,
        **_labels(),
    )


@bp.route("/versions/<int:version_id>.xml")
@roles(*WRITERS, read=READERS)
def version_xml(version_id: int) -> Response:
    """The CAP document of one version, byte for byte as received."""
    version = db_session().get(WarningVersion, version_id)
    if version is None or version.raw is None or version.warning.activation_id is not None:
        abort(404)
    response = Response(version.raw, content_type=CAP_CONTENT_TYPE)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{version.identifier}.xml"')
    return response


# --- escalation policies ----------------------------------------------------------


def _policy_values(policy: Any) -> dict[str, Any]:
    """The form's values for an existing policy (what the admin starts editing from)."""
    chain = policy.ack_chain or {}
    return {
        "name": policy.name, "level": policy.level,
        "awareness_type": policy.awareness_type or "", "area": policy.area or "",
        "groups": list(policy.audience.get("groups", [])),
        "public": bool(policy.audience.get("public")), "channels": list(policy.channels),
        "quiet_hours": policy.quiet_hours, "approval_required": policy.approval_required,
        "ack_groups": ", ".join(chain.get("groups", [])),
        "ack_minutes": chain.get("minutes", ""), "ack_rounds": chain.get("rounds", ""),
        "ack_channels": list(chain.get("channels", [])),
    }


def _submitted_values() -> dict[str, Any]:
    form = request.form
    values: dict[str, Any] = {key: form.get(key, "") for key in form}
    for key in ("groups", "channels", "ack_channels"):
        values[key] = form.getlist(key)
    for key in ("public", "quiet_hours", "approval_required"):
        values[key] = key in form
    return values


def _policy_error(exc: policies.PolicyError) -> dict[str, str]:
    if exc.field == "audience":
        if exc.codes:
            return {"groups": _("Unknown groups: %(codes)s", codes=", ".join(exc.codes))}
        return {"groups": _("The policy reaches nobody: choose groups or the public.")}
    field, message = POLICY_ERRORS.get(exc.field, (exc.field, exc.message))
    return {field: str(message)}


def _save_policy() -> dict[str, str]:
    """Validate and save the submitted policy; the errors by field, none when saved."""
    session = db_session()
    try:
        data = form_data(PolicyForm)
    except InputError as exc:
        return exc.errors
    if data.area and areas.get_area(session, data.area) is None:
        return {"area": _("Unknown area: %(code)s", code=data.area)}
    try:
        row = policies.save(session, data.as_input(), current_user.id)
        session.commit()
    except policies.PolicyError as exc:
        session.rollback()
        return _policy_error(exc)
    flash(_("Policy %(name)s saved as version %(version)s.", name=row.name,
            version=row.version), "success")
    return {}


@bp.route("/policies", methods=["GET", "POST"])
@roles("admin", read=POLICY_READERS)
def policies_page() -> Any:
    session = db_session()
    errors: dict[str, str] = {}
    current = policies.current_policies(session)
    if request.method == "POST":
        errors = _save_policy()
        if not errors:
            return redirect(url_for("warnings.policies_page", edit=request.form.get("name")))
        values = _submitted_values()
    else:
        editing = next((p for p in current if p.name == request.args.get("edit")), None)
        values = _policy_values(editing) if editing else {"channels": [], "groups": [],
                                                          "ack_channels": []}
    groups = dict(session.execute(select(ContactGroup.code, ContactGroup.name)
                                  .order_by(ContactGroup.code)).all())
    return render_template(
        "warnings/policies.html", policies=current,
        histories={p.name: policies.history(session, p.name) for p in current},
        may_edit="admin" in current_user.role_names, errors=errors, values=values,
        groups=groups,
        channels=CHANNELS, type_codes=TYPE_CODES, levels=tuple(LEVEL_LABELS),
        **_labels(),
    ), (422 if errors else 200)
