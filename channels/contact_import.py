"""CSV import and export of the staff contact registry.

One row a contact: ``name, kind, language, groups, addresses``. ``groups`` are
group codes separated by ";". ``addresses`` are ``channel:address`` pairs
separated by ";" in the order they should be tried, e.g.
``voice:+37120000001; telegram:123456789``. Municipal IP phones are rows
like ``Skola Nr. 4, institution, lv, paging-schools, pbx:7004``.

An import is all or nothing: every line is checked first, and one bad line
stores nothing. A row whose address already belongs to a staff contact
updates that contact, so the same file can be imported again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.channels import contacts
from sargs.channels.models import Contact, ContactGroup, ContactGroupMember

COLUMNS = ("name", "kind", "language", "groups", "addresses")
LANGUAGES = ("lv", "en")
NAME_MAX = 200
MAX_ROWS = 10_000


@dataclass(frozen=True)
class LineError:
    """``code`` says what is wrong (see contacts_views.IMPORT_ERRORS); ``detail`` quotes it."""

    line: int
    column: str
    code: str
    detail: str = ""


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[LineError] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    name: str
    kind: str
    language: str
    groups: tuple[str, ...]
    addresses: tuple[tuple[str, str], ...]


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _parse_row(line: int, raw: dict[str, str], known_groups: set[str]) -> _Row | LineError:
    name = (raw.get("name") or "").strip()
    if not name or len(name) > NAME_MAX:
        return LineError(line, "name", "name")
    kind = (raw.get("kind") or "person").strip() or "person"
    if kind not in contacts.CONTACT_KINDS:
        return LineError(line, "kind", "kind", kind)
    language = (raw.get("language") or "lv").strip() or "lv"
    if language not in LANGUAGES:
        return LineError(line, "language", "language", language)
    groups = tuple(_split(raw.get("groups") or ""))
    unknown = [code for code in groups if code not in known_groups]
    if unknown:
        return LineError(line, "groups", "group", ", ".join(unknown))
    pairs = []
    for part in _split(raw.get("addresses") or ""):
        channel, _sep, address = part.partition(":")
        pairs.append((channel.strip().lower(), address.strip()))
    if not pairs:
        return LineError(line, "addresses", "no_address")
    try:
        addresses = tuple(contacts.normalise_all(pairs))
    except contacts.AddressError as error:
        position = int(error.field.removeprefix("address_"))
        return LineError(line, "addresses", "address", f"{pairs[position][0]}:{pairs[position][1]}")
    return _Row(name, kind, language, groups, addresses)


def parse(session: Session, text: str) -> tuple[list[_Row], list[LineError]]:
    """Check every line; the rows are usable only when there are no errors."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [column for column in ("name", "addresses") if column not in (reader.fieldnames or ())]
    if missing:
        return [], [LineError(1, column, "missing_column") for column in missing]
    known_groups = set(session.scalars(select(ContactGroup.code)))
    rows: list[_Row] = []
    errors: list[LineError] = []
    for line, raw in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            errors.append(LineError(line, "", "too_many", str(MAX_ROWS)))
            break
        parsed = _parse_row(line, raw, known_groups)
        (errors if isinstance(parsed, LineError) else rows).append(parsed)  # type: ignore[arg-type]
    return rows, errors


def _existing(session: Session, row: _Row) -> Contact | None:
    for channel, address in row.addresses:
        found = contacts.find_by_address(session, channel, address)
        if found is not None:
            return found
    return None


def import_csv(session: Session, text: str) -> ImportResult:
    """Import the file into the session (the caller commits); nothing on any error."""
    rows, errors = parse(session, text)
    if errors:
        return ImportResult(errors=errors)
    result = ImportResult()
    groups = {g.code: g for g in session.scalars(select(ContactGroup))}
    for row in rows:
        contact = _existing(session, row)
        if contact is None:
            contact = contacts.register_contact(session, row.name, row.addresses, kind=row.kind,
                                                language=row.language)
            result.created += 1
        else:
            contacts.update_contact(session, contact, name=row.name, kind=row.kind,
                                    language=row.language, addresses=row.addresses)
            result.updated += 1
        for code in row.groups:
            contacts.add_to_group(session, groups[code], contact)
    return result


def export_csv(session: Session, staff: Iterable[Contact] | None = None) -> str:
    """The registry in the import format (residents who subscribed are not in it)."""
    people = list(staff) if staff is not None else contacts.staff_contacts(session, limit=1_000_000)
    codes: dict[int, list[str]] = {}
    for contact_id, code in session.execute(
            select(ContactGroupMember.contact_id, ContactGroup.code).join(ContactGroup)
            .order_by(ContactGroup.code)):
        codes.setdefault(contact_id, []).append(code)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for contact in people:
        writer.writerow([
            contact.name, contact.kind, contact.language, "; ".join(codes.get(contact.id, [])),
            "; ".join(f"{a.channel}:{a.address}" for a in contact.addresses if a.active),
        ])
    return out.getvalue()
