"""Activation pages: the list, opening one, its page, closing it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sargs.activations import service
from sargs.activations.models import Activation
from sargs.activations.schemas import ActivationClose, ActivationOpen
from sargs.auth.access import roles
from sargs.context import db_session
from sargs.web.forms import InputError, form_data

bp = Blueprint("activations", __name__, template_folder="templates", url_prefix="/activations")

# Who may open and close: emergencies the commission, exercises also trainers.
MANAGERS = ("admin", "commission", "trainer")
READERS = ("operator", "auditor", "coordinator", "instructor", "warehouse", "shelter_staff")


def _may_manage(kind: str) -> bool:
    held = current_user.role_names
    if kind == "exercise":
        return bool(held & set(MANAGERS))
    return bool(held & {"admin", "commission"})


def _activation_or_404(activation_id: int) -> Activation:
    activation = service.get_activation(db_session(), activation_id)
    if activation is None:
        abort(404)
    return activation


@bp.route("/", methods=["GET", "POST"])
@roles(*MANAGERS, read=READERS)
def index() -> Any:
    session = db_session()
    errors: dict[str, str] = {}
    values = request.form.to_dict()
    if request.method == "POST":
        try:
            data = form_data(ActivationOpen)
            if not _may_manage(data.kind):
                abort(403)
            activation = service.open_activation(session, data, current_user.id)
            session.commit()
        except InputError as exc:
            errors = exc.errors
        else:
            flash(_("Activation opened."), "success")
            return redirect(url_for("activations.detail", activation_id=activation.id))
    return render_template(
        "activations/index.html", activations=service.list_activations(session),
        errors=errors, values=values, may_open=_may_manage("exercise"),
        may_open_emergency=_may_manage("emergency"),
    ), (422 if errors else 200)


@bp.route("/<int:activation_id>")
@roles(*MANAGERS, read=READERS)
def detail(activation_id: int) -> Any:
    activation = _activation_or_404(activation_id)
    return render_template("activations/detail.html", activation=activation,
                           may_manage=_may_manage(activation.kind), errors={})


@bp.route("/<int:activation_id>/close", methods=["POST"])
@roles(*MANAGERS)
def close(activation_id: int) -> Any:
    activation = _activation_or_404(activation_id)
    if not _may_manage(activation.kind):
        abort(403)
    session = db_session()
    try:
        service.close_activation(session, activation, form_data(ActivationClose), current_user.id)
        session.commit()
    except InputError as exc:
        return render_template("activations/detail.html", activation=activation,
                               may_manage=True, errors=exc.errors), 422
    except service.ActivationError:
        flash(_("This activation is already closed."), "warning")
    else:
        flash(_("Activation closed."), "success")
    return redirect(url_for("activations.detail", activation_id=activation.id))
