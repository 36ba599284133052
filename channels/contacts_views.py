"""The contact registry pages: staff, institutions, partners and IP-phone paging
groups — who the alerts to groups reach, over which channels, in which order.

Residents who subscribed themselves are kept out of these pages (they manage
their own data through the subscription pages)."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from sargs.auth.access import roles
from sargs.channels import contact_import, contacts
from sargs.channels.models import CHANNELS, Contact, ContactGroup, ContactGroupMember
from sargs.context import db_session
from sargs.web.forms import InputError, form_data, validate

bp = Blueprint("contacts", __name__, template_folder="templates", url_prefix="/contacts")

WRITERS = ("admin", "commission", "operator")
READERS = ("auditor",)
ADDRESS_ROWS = 4
IMPORT_MAX_BYTES = 2_000_000

KIND_LABELS = {"person": _l("Person"), "institution": _l("Institution")}
GROUP_KIND_LABELS = {
    "staff": _l("Staff group"), "institution": _l("Institutions"),
    "partner": _l("Partner organisations"), "paging": _l("IP-phone paging group"),
}
# AddressError.field of contacts.normalise → what the user reads.
ADDRESS_ERRORS = {
    "phone": _l("Not a phone number (e.g. +371 20000000)."),
    "email": _l("Not an e-mail address."),
    "telegram": _l("A Telegram chat id is a number."),
    "channel": _l("Unknown channel."),
    "pbx": _l("An extension is required."),
    "sip": _l("An extension (e.g. 7001) or a SIP address (sip:7001@pbx.example.lv) is required."),
}
IMPORT_ERRORS = {
    "name": _l("a name of 1 to 200 characters is required"),
    "kind": _l("the kind must be person or institution"),
    "language": _l("the language must be lv or en"),
    "group": _l("unknown group"),
    "no_address": _l("at least one address is required"),
    "address": _l("not a valid address"),
    "missing_column": _l("the file has no such column"),
    "too_many": _l("too many rows in one file"),
}


class ContactForm(BaseModel):
    name: str = Field(min_length=1, max_length=contact_import.NAME_MAX)
    kind: Literal["person", "institution"] = "person"
    language: Literal["lv", "en"] = "lv"
    groups: list[int] = Field(default_factory=list)

    def addresses(self) -> list[tuple[str, str]]:
        """The filled address rows of the submitted form, in order."""
        pairs = []
        for row in range(ADDRESS_ROWS):
            address = request.form.get(f"address_{row}", "").strip()
            if address:
                pairs.append((request.form.get(f"channel_{row}", ""), address))
        return pairs


class GroupForm(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["staff", "institution", "partner", "paging"]


def _contact_or_404(contact_id: int) -> Contact:
    contact = db_session().get(Contact, contact_id)
    if contact is None or contact.is_public_subscriber:
        abort(404)
    return contact


def _group_or_404(group_id: int) -> ContactGroup:
    group = db_session().get(ContactGroup, group_id)
    if group is None:
        abort(404)
    return group


def _address_error(exc: contacts.AddressError, pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Put the error on the form row that holds the bad address."""
    filled = [row for row in range(ADDRESS_ROWS) if request.form.get(f"address_{row}", "").strip()]
    position = int(exc.field.removeprefix("address_"))
    channel = pairs[position][0]
    kind = "phone" if channel in ("sms", "voice") else channel
    return {f"address_{filled[position]}": str(ADDRESS_ERRORS.get(kind, ADDRESS_ERRORS["channel"]))}


def _contact_page(contact: Contact | None, values: Any, errors: dict[str, str],
                  status: int = 200) -> Any:
    session = db_session()
    groups = list(session.scalars(select(ContactGroup).order_by(ContactGroup.name)))
    if contact is not None and request.method == "GET":
        values = {"name": contact.name, "kind": contact.kind, "language": contact.language}
        for row, address in enumerate(contact.addresses[:ADDRESS_ROWS]):
            values[f"channel_{row}"], values[f"address_{row}"] = address.channel, address.address
        member_of = {g.id for g in contacts.groups_of(session, contact.id)}
    else:
        member_of = {int(v) for v in getattr(values, "getlist", lambda _k: [])("groups")
                     if str(v).isdigit()}
    return render_template(
        "contacts/edit.html", contact=contact, values=values, errors=errors, groups=groups,
        member_of=member_of, rows=range(ADDRESS_ROWS), channels=CHANNELS,
        kind_labels=KIND_LABELS, group_kind_labels=GROUP_KIND_LABELS,
    ), status


def _save_contact(contact: Contact | None) -> Any:
    session = db_session()
    try:
        data = form_data(ContactForm)
    except InputError as exc:
        return _contact_page(contact, request.form, exc.errors, 422)
    pairs = data.addresses()
    if not pairs:
        return _contact_page(contact, request.form, {"address_0": _("Add at least one address.")}, 422)
    known = set(session.scalars(select(ContactGroup.id)))
    try:
        if contact is None:
            contact = contacts.register_contact(session, data.name, pairs, kind=data.kind,
                                                language=data.language)
        else:
            contacts.update_contact(session, contact, name=data.name, kind=data.kind,
                                    language=data.language, addresses=pairs)
    except contacts.AddressError as exc:
        session.rollback()
        return _contact_page(contact if contact and contact.id else None, request.form,
                             _address_error(exc, pairs), 422)
    contacts.set_groups(session, contact, [g for g in data.groups if g in known])
    session.commit()
    flash(_("The contact is saved."), "success")
    return redirect(url_for("contacts.edit", contact_id=contact.id))


@bp.route("/")
@roles(*WRITERS, read=READERS)
def index() -> Any:
    session = db_session()
    search = request.args.get("q", "")[:100]
    sizes = dict(session.execute(
        select(ContactGroupMember.group_id, func.count()).group_by(ContactGroupMember.group_id)).all())
    return render_template(
        "contacts/index.html", search=search,
        groups=list(session.scalars(select(ContactGroup).order_by(ContactGroup.kind, ContactGroup.name))),
        sizes=sizes, people=contacts.staff_contacts(session, search),
        kind_labels=KIND_LABELS, group_kind_labels=GROUP_KIND_LABELS,
        may_write=bool(set(WRITERS) & current_user.role_names),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles(*WRITERS)
def new() -> Any:
    if request.method == "GET":
        return _contact_page(None, {"kind": "person", "language": "lv", "channel_0": "voice"}, {})
    return _save_contact(None)


@bp.route("/<int:contact_id>", methods=["GET", "POST"])
@roles(*WRITERS, read=READERS)
def edit(contact_id: int) -> Any:
    contact = _contact_or_404(contact_id)
    if request.method == "GET":
        return _contact_page(contact, {}, {})
    return _save_contact(contact)


@bp.route("/<int:contact_id>/delete", methods=["POST"])
@roles(*WRITERS)
def delete(contact_id: int) -> Any:
    session = db_session()
    session.delete(_contact_or_404(contact_id))
    session.commit()
    flash(_("The contact is deleted."), "success")
    return redirect(url_for("contacts.index"))


def _group_page(group: ContactGroup | None, values: Any, errors: dict[str, str],
                status: int = 200) -> Any:
    members = sorted((m.contact for m in group.members), key=lambda c: c.name) if group else []
    return render_template("contacts/group.html", group=group, values=values, errors=errors,
                           members=members, group_kind_labels=GROUP_KIND_LABELS), status


@bp.route("/groups/new", methods=["GET", "POST"])
@roles(*WRITERS)
def new_group() -> Any:
    if request.method == "GET":
        return _group_page(None, {"kind": "staff"}, {})
    session = db_session()
    try:
        data = form_data(GroupForm)
    except InputError as exc:
        return _group_page(None, request.form, exc.errors, 422)
    if session.scalar(select(ContactGroup.id).where(ContactGroup.code == data.code)):
        return _group_page(None, request.form, {"code": _("A group with this code exists.")}, 422)
    group = contacts.ensure_group(session, data.code, data.name.strip(), data.kind)
    session.commit()
    flash(_("The group is saved."), "success")
    return redirect(url_for("contacts.group", group_id=group.id))


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
@roles(*WRITERS, read=READERS)
def group(group_id: int) -> Any:
    found = _group_or_404(group_id)
    if request.method == "GET":
        return _group_page(found, {"code": found.code, "name": found.name, "kind": found.kind}, {})
    try:
        # The code is what alerts and imports refer to: it stays as it is.
        data = validate(GroupForm, {**request.form.to_dict(), "code": found.code})
    except InputError as exc:
        return _group_page(found, request.form, exc.errors, 422)
    found.name, found.kind = data.name.strip(), data.kind
    db_session().commit()
    flash(_("The group is saved."), "success")
    return redirect(url_for("contacts.group", group_id=found.id))


@bp.route("/import", methods=["GET", "POST"])
@roles(*WRITERS)
def import_page() -> Any:
    if request.method == "GET":
        return render_template("contacts/import.html", result=None, columns=contact_import.COLUMNS)
    upload = request.files.get("file")
    raw = upload.read(IMPORT_MAX_BYTES + 1) if upload and upload.filename else \
        request.form.get("text", "").encode()
    if len(raw) > IMPORT_MAX_BYTES or not raw.strip():
        flash(_("Choose a CSV file of at most 2 MB."), "error")
        return render_template("contacts/import.html", result=None,
                               columns=contact_import.COLUMNS), 422
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        flash(_("The file must be UTF-8 text (CSV)."), "error")
        return render_template("contacts/import.html", result=None,
                               columns=contact_import.COLUMNS), 422
    session = db_session()
    result = contact_import.import_csv(session, text)
    if result.errors:
        session.rollback()
        return render_template("contacts/import.html", result=result, messages=IMPORT_ERRORS,
                               columns=contact_import.COLUMNS), 422
    session.commit()
    flash(_("Imported: %(created)s new, %(updated)s updated.",
            created=result.created, updated=result.updated), "success")
    return redirect(url_for("contacts.index"))


@bp.route("/export.csv")
@roles("admin", "commission", read=READERS)
def export() -> Any:
    body = contact_import.export_csv(db_session())
    return Response("\ufeff" + body, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=sargs-contacts.csv"})
