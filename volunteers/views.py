"""The coordinators' pages of the volunteer corps: the register with its filters and CSV
download, one volunteer (decision, notes, teams, shelter, call-out history), teams and
neighbourhood groups, and which municipalities each coordinator looks after.

Admins and coordinators work here; the commission and auditors read. A coordinator
sees only their volunteers (:func:`sargs.volunteers.service.scope`): another's is a 404.
Every read of personal data is audit-logged by the service functions called, so every
page commits even when it only reads. Every rule is in :mod:`sargs.volunteers.service`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from sargs import clock
from sargs.areas.service import list_areas
from sargs.auth.access import roles
from sargs.auth.service import list_users
from sargs.context import db_session
from sargs.shelters import service as shelters
from sargs.volunteers import reference, service
from sargs.volunteers.models import Team, Volunteer
from sargs.volunteers.schemas import DecisionIn, NoteIn, SearchIn, TeamIn
from sargs.web.forms import InputError, validate

bp = Blueprint("volunteers", __name__, template_folder="templates", url_prefix="/volunteers")

WRITERS = frozenset({"admin", "coordinator"})
staff_only = roles(*sorted(WRITERS), read=["commission", "auditor"])
admin_sets = roles("admin", read=["coordinator", "commission", "auditor"])

STATUS_LABELS = {"pending": _l("waiting for approval"), "active": _l("active"),
                 "reserve": _l("reserve"), "inactive": _l("inactive"), "erased": _l("erased")}
TEAM_KIND_LABELS = {"team": _l("team"), "neighbourhood": _l("neighbourhood group")}


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "lv"


def _staff() -> service.Staff:
    return service.Staff(current_user.id, frozenset(current_user.role_names))


def may_write() -> bool:
    return bool(WRITERS & set(current_user.role_names))


@bp.context_processor
def _module_context() -> dict[str, Any]:
    language = _language()
    return {"may_write": may_write(), "status_labels": STATUS_LABELS,
            "team_kind_labels": TEAM_KIND_LABELS, "today": clock.now().date(),
            "skill_name": lambda code: reference.name_of(reference.SKILLS, code, language),
            "weekday_name": lambda day: reference.name_of(reference.WEEKDAYS, day, language),
            "language_name": lambda code: reference.name_of(reference.LANGUAGES, code,
                                                            language),
            "skills": reference.SKILLS, "weekdays": reference.WEEKDAYS,
            "licences": reference.LICENCE_CATEGORIES}


def _places() -> tuple[list[Any], list[Any]]:
    session = db_session()
    return list_areas(session, "municipality"), list_areas(session, "neighbourhood")


def _coordinators() -> list[Any]:
    return [u for u in list_users(db_session()) if "coordinator" in u.role_names and u.active]


def _filters(args: MultiDict[str, str]) -> tuple[SearchIn, dict[str, str]]:
    try:
        return validate(SearchIn, args), {}
    except InputError as exc:
        return SearchIn(), exc.errors


# --- the register ---------------------------------------------------------------------


@bp.route("/")
@staff_only
def index() -> Any:
    session, staff = db_session(), _staff()
    filters, errors = _filters(request.args)
    found = [] if errors else service.search(session, filters, staff)
    counts = service.status_counts(db_session(), staff)
    session.commit()  # the search is audit-logged
    municipalities, neighbourhoods = _places()
    return render_template(
        "volunteers/coordinator/index.html", volunteers=found, filters=filters,
        errors=errors, counts=counts, limit=service.SEARCH_LIMIT, teams=service.teams(session),
        municipalities=municipalities, neighbourhoods=neighbourhoods,
        nobody=service.looks_after_nobody(db_session(), staff), query=request.query_string.decode(),
    ), 422 if errors else 200


@bp.route("/export.csv")
@staff_only
def export_csv() -> Any:
    session = db_session()
    filters, errors = _filters(request.args)
    if errors:
        abort(422)
    text = service.export_csv(session, filters, _staff())
    session.commit()  # who took which volunteers is in the audit log
    stamp = clock.now().strftime("%Y%m%d")
    return Response("\ufeff" + text, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=volunteers-{stamp}.csv"})


# --- one volunteer --------------------------------------------------------------------


def _visible_or_404(volunteer_id: int) -> Volunteer:
    volunteer = service.visible(db_session(), _staff(), volunteer_id)
    if volunteer is None:
        abort(404)
    return volunteer


def _detail(volunteer: Volunteer, errors: dict[str, str] | None = None, status: int = 200,
            values: dict[str, str] | None = None) -> Any:
    session = db_session()
    history = service.export(session, volunteer)
    member_of = service.teams_of(session, volunteer)
    notes = service.notes(session, volunteer)
    page = render_template(
        "volunteers/coordinator/detail.html", volunteer=volunteer, errors=errors or {},
        values=values or {}, notes=notes,
        member_of=member_of, teams=[t for t in service.teams(session) if t not in member_of],
        shelters=shelters.list_shelters(session), callouts=history["callouts"],
        trainings=history["trainings"], places=dict(
            (a.code, a.name) for group in _places() for a in group),
        decided_by=_user_name(volunteer.decided_by_id),
        authors={n.author_id: _user_name(n.author_id) for n in notes},
        shelter=shelters.get_shelter(session, volunteer.shelter_id)
        if volunteer.shelter_id else None)
    session.commit()  # the reading is audit-logged
    return page, status


def _user_name(user_id: int | None) -> str:
    if user_id is None:
        return ""
    from sargs.auth.service import get_user

    user = get_user(db_session(), user_id)
    return (user.display_name or user.username) if user is not None else ""


@bp.route("/<int:volunteer_id>")
@staff_only
def detail(volunteer_id: int) -> Any:
    return _detail(_visible_or_404(volunteer_id))


def _done(volunteer: Volunteer, message: str) -> Any:
    db_session().commit()
    flash(message, "success")
    return redirect(url_for("volunteers.detail", volunteer_id=volunteer.id))


def _refused(volunteer: Volunteer, errors: dict[str, str], values: dict[str, str]) -> Any:
    session = db_session()
    session.rollback()
    fresh = service.visible(session, _staff(), volunteer.id)
    assert fresh is not None
    return _detail(fresh, errors, 422, values)


@bp.route("/<int:volunteer_id>/decision", methods=["POST"])
@staff_only
def decide(volunteer_id: int) -> Any:
    volunteer = _visible_or_404(volunteer_id)
    values = {"status": request.form.get("status", ""), "note": request.form.get("note", "")}
    try:
        data = validate(DecisionIn, values)
        service.decide(db_session(), volunteer, data.status, current_user.id, data.note)
    except InputError as exc:
        return _refused(volunteer, exc.errors, values)
    except service.VolunteerError as exc:
        return _refused(volunteer, {exc.field: exc.message}, values)
    return _done(volunteer, _("%(name)s is now %(status)s.", name=volunteer.name,
                              status=STATUS_LABELS[volunteer.status]))


@bp.route("/<int:volunteer_id>/notes", methods=["POST"])
@staff_only
def add_note(volunteer_id: int) -> Any:
    volunteer = _visible_or_404(volunteer_id)
    values = {"text": request.form.get("text", "")}
    try:
        data = validate(NoteIn, values)
    except InputError as exc:
        return _refused(volunteer, exc.errors, values)
    service.add_note(db_session(), volunteer, data.text, current_user.id)
    return _done(volunteer, _("Note added."))


def _team_or_404(team_id: Any) -> Team:
    team = db_session().get(Team, team_id) if str(team_id).isdigit() else None
    if team is None:
        abort(404)
    return team


@bp.route("/<int:volunteer_id>/teams", methods=["POST"])
@staff_only
def join_team(volunteer_id: int) -> Any:
    volunteer = _visible_or_404(volunteer_id)
    if not request.form.get("team_id", "").isdigit():
        return _refused(volunteer, {"team_id": _("Choose a team.")}, {})
    team = _team_or_404(request.form["team_id"])
    service.add_member(db_session(), team, volunteer)
    return _done(volunteer, _("Added to %(team)s.", team=team.name))


@bp.route("/<int:volunteer_id>/teams/<int:team_id>/remove", methods=["POST"])
@staff_only
def leave_team(volunteer_id: int, team_id: int) -> Any:
    volunteer = _visible_or_404(volunteer_id)
    team = _team_or_404(team_id)
    service.remove_member(db_session(), team, volunteer)
    return _done(volunteer, _("Removed from %(team)s.", team=team.name))


@bp.route("/<int:volunteer_id>/shelter", methods=["POST"])
@staff_only
def assign_shelter(volunteer_id: int) -> Any:
    volunteer = _visible_or_404(volunteer_id)
    chosen = request.form.get("shelter_id", "").strip()
    shelter = None
    if chosen:
        shelter = shelters.get_shelter(db_session(), int(chosen)) if chosen.isdigit() else None
        if shelter is None:
            return _refused(volunteer, {"shelter_id": _("Choose a shelter from the list.")},
                            {"shelter_id": chosen})
    service.assign_shelter(db_session(), volunteer, shelter.id if shelter else None)
    if shelter is None:
        return _done(volunteer, _("No longer assigned to a shelter."))
    return _done(volunteer, _("Assigned to %(shelter)s.", shelter=shelter.name))


# --- teams ----------------------------------------------------------------------------


def _teams_page(errors: dict[str, str], values: dict[str, Any], status: int = 200) -> Any:
    session = db_session()
    all_teams = service.teams(session)
    municipalities, neighbourhoods = _places()
    coordinators = _coordinators()
    return render_template(
        "volunteers/coordinator/teams.html", teams=all_teams, errors=errors, values=values,
        areas=municipalities + neighbourhoods, coordinators=coordinators,
        coordinator_names={u.id: u.display_name or u.username for u in coordinators},
    ), status


@bp.route("/teams", methods=["GET", "POST"])
@staff_only
def teams() -> Any:
    if request.method == "GET":
        return _teams_page({}, {"kind": "team"})
    values = {key: request.form.get(key, "") for key in ("name", "kind", "area_code",
                                                          "coordinator_id")}
    session = db_session()
    try:
        data = validate(TeamIn, values)
        if data.coordinator_id is not None and data.coordinator_id not in {
                u.id for u in _coordinators()}:
            raise service.VolunteerError("coordinator_id", _("Choose a coordinator."))
        team = service.create_team(session, data)
    except InputError as exc:
        session.rollback()
        return _teams_page(exc.errors, values, 422)
    except service.VolunteerError as exc:
        session.rollback()
        return _teams_page({exc.field: exc.message}, values, 422)
    session.commit()
    flash(_("%(team)s created.", team=team.name), "success")
    return redirect(url_for("volunteers.team", team_id=team.id))


@bp.route("/teams/<int:team_id>")
@staff_only
def team(team_id: int) -> Any:
    session = db_session()
    found = _team_or_404(team_id)
    members = service.search(session, SearchIn(team_id=found.id), _staff())
    session.commit()  # the list is audit-logged
    return render_template("volunteers/coordinator/team.html", team=found, members=members,
                           coordinator=_user_name(found.coordinator_id))


# --- coordinators' areas -------------------------------------------------------------


@bp.route("/areas", methods=["GET", "POST"])
@admin_sets
def areas() -> Any:
    session = db_session()
    municipalities, _neighbourhoods = _places()
    known = {a.code for a in municipalities}
    if request.method == "POST":
        user_id = request.form.get("user_id", "")
        coordinator = next((u for u in _coordinators() if str(u.id) == user_id), None)
        if coordinator is None:
            abort(404)
        chosen = _known_codes(request.form.getlist("areas"), known)
        service.set_areas(session, coordinator.id, chosen)
        session.commit()
        flash(_("%(name)s looks after %(n)s municipalities.",
                name=coordinator.display_name or coordinator.username, n=len(chosen)),
              "success")
        return redirect(url_for("volunteers.areas"))
    rows = [(u, service.areas_of(db_session(), u.id)) for u in _coordinators()]
    return render_template("volunteers/coordinator/areas.html", rows=rows,
                           municipalities=municipalities,
                           names={a.code: a.name for a in municipalities},
                           may_set="admin" in current_user.role_names)


def _known_codes(codes: Iterable[str], known: set[str]) -> list[str]:
    return [code for code in codes if code in known]
