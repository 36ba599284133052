"""The crisis journal of an activation: the timeline (newest first), a form per kind of
entry, the task board, corrections, the chain's check and the CSV export.

The commission, admins and duty operators write; auditors read; trainers write in
exercise journals only (and see nothing of real ones)."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from sargs.activations import journal, service
from sargs.activations.journal_schemas import JournalEntryIn
from sargs.activations.models import ENTRY_KINDS, TASK_STATES, Activation
from sargs.auth.access import roles
from sargs.context import db_session
from sargs.web.forms import InputError, validate

bp = Blueprint("journal", __name__, template_folder="templates", url_prefix="/activations")

WRITERS = ("admin", "commission", "operator", "trainer")
READERS = ("auditor",)

KIND_LABELS = {
    "information": _l("Information"), "decision": _l("Decision"), "task": _l("Task"),
    "task_update": _l("Task update"), "correction": _l("Correction"),
}
STATE_LABELS = {
    "open": _l("Open"), "in_progress": _l("In progress"), "done": _l("Done"),
    "cancelled": _l("Cancelled"),
}
LINK_LABELS = {
    "alert": _l("Alert"), "warning": _l("Warning"), "report": _l("Report"),
    "shelter": _l("Shelter"), "callout": _l("Call-out"), "request": _l("Reserve request"),
}
# Where a linked object's page is: link type → (endpoint, its id argument).
LINK_PAGES = {
    "alert": ("channels.detail", "alert_id"), "warning": ("warnings.detail", "warning_id"),
    "report": ("cad.detail", "report_id"), "shelter": ("shelters.detail", "shelter_id"),
    "callout": ("callouts.detail", "callout_id"),
    "request": ("reserve_requests.detail", "request_id"),
}


def link_url(link: dict[str, Any]) -> str:
    endpoint, argument = LINK_PAGES[link["type"]]
    return url_for(endpoint, **{argument: link["id"]})


def _may_write(activation: Activation) -> bool:
    held = current_user.role_names
    if activation.is_exercise:
        return bool(held & set(WRITERS))
    return bool(held & {"admin", "commission", "operator"})


def _activation_or_404(activation_id: int) -> Activation:
    activation = service.get_activation(db_session(), activation_id)
    if activation is None:
        abort(404)
    # A trainer works with exercises; a real activation's journal is not theirs to see.
    if not (_may_write(activation) or current_user.role_names & set(READERS)):
        abort(403)
    return activation


def _page(activation: Activation, errors: dict[str, str] | None = None,
          failed: str | None = None, values: dict[str, Any] | None = None) -> Any:
    session = db_session()
    everything = journal.entries(session, activation, newest_first=True)
    kind = request.args.get("kind")
    shown = [e for e in everything if e.kind == kind] if kind in ENTRY_KINDS else everything
    board = journal.tasks(session, activation)
    return render_template(
        "activations/journal/page.html", activation=activation, entries=shown, kind=kind,
        by_id={e.id: e for e in everything}, corrections=journal.corrections_by_entry(everything),
        columns={state: [t for t in board if t.state == state] for state in TASK_STATES},
        broken_at=journal.verify(session, activation), may_write=_may_write(activation)
        and activation.is_open, errors=errors or {}, failed=failed, values=values or {},
        kinds=ENTRY_KINDS, kind_labels=KIND_LABELS, state_labels=STATE_LABELS,
        link_labels=LINK_LABELS, link_url=link_url, task_states=TASK_STATES,
    ), (422 if errors else 200)


@bp.route("/<int:activation_id>/journal")
@roles(*WRITERS, read=READERS)
def page(activation_id: int) -> Any:
    return _page(_activation_or_404(activation_id))


def _add(activation: Activation, values: dict[str, Any], failed: str) -> Any:
    """Validate and append one entry; on bad input the page again with the field named."""
    if not _may_write(activation):
        abort(403)
    session = db_session()
    try:
        data = validate(JournalEntryIn, values)
        entry = journal.add_entry(session, activation, data, current_user)
        session.commit()
    except InputError as refused:
        session.rollback()
        return _page(activation, refused.errors, failed, values)
    except service.ActivationError as refused:
        session.rollback()
        return _page(activation, {refused.field: refused.message}, failed, values)
    flash(_("Entry #%(n)s recorded.", n=entry.seq), "success")
    return redirect(url_for("journal.page", activation_id=activation.id) + f"#e{entry.seq}")


@bp.route("/<int:activation_id>/journal", methods=["POST"])
@roles(*WRITERS)
def add(activation_id: int) -> Any:
    activation = _activation_or_404(activation_id)
    values = request.form.to_dict()
    values.pop("csrf_token", None)
    return _add(activation, values, values.get("kind") or "information")


@bp.route("/<int:activation_id>/journal/<int:entry_id>/state", methods=["POST"])
@roles(*WRITERS)
def update_task(activation_id: int, entry_id: int) -> Any:
    activation = _activation_or_404(activation_id)
    values = {"kind": "task_update", "refers_to": entry_id,
              "task_state": request.form.get("task_state", ""),
              "text": request.form.get("text", "")}
    return _add(activation, values, f"task-{entry_id}")


@bp.route("/<int:activation_id>/journal/<int:entry_id>/correct", methods=["POST"])
@roles(*WRITERS)
def correct(activation_id: int, entry_id: int) -> Any:
    activation = _activation_or_404(activation_id)
    values = {"kind": "correction", "refers_to": entry_id, "text": request.form.get("text", "")}
    return _add(activation, values, f"correct-{entry_id}")


@bp.route("/<int:activation_id>/journal.csv")
@roles(*WRITERS, read=READERS)
def export_csv(activation_id: int) -> Any:
    activation = _activation_or_404(activation_id)
    entries = journal.entries(db_session(), activation)
    seq_of = {e.id: e.seq for e in entries}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["seq", "occurred_at_utc", "recorded_at_utc", "kind", "text", "source",
                     "decided_by", "assignee", "due_at_utc", "task_state", "refers_to_seq",
                     "links", "author", "prev_hash", "hash"])
    for e in entries:
        writer.writerow([
            e.seq, e.occurred_at.isoformat(), e.recorded_at.isoformat(), e.kind, e.text,
            e.source, e.decided_by, e.assignee, e.due_at.isoformat() if e.due_at else "",
            e.task_state or "", seq_of.get(e.refers_to_id, "") if e.refers_to_id else "",
            " ".join(f"{link['type']}:{link['id']}" for link in e.links), e.author_name,
            e.prev_hash, e.hash,
        ])
    return Response(
        "\ufeff" + buffer.getvalue(), mimetype="text/csv",
        headers={"Content-Disposition":
                 f"attachment; filename=sargs-journal-{activation.id}.csv"},
    )
