"""The whole shelter register as CSV: ``sargs shelters export`` / ``import FILE.csv`` and
the download on the register page.

The file: UTF-8 (with or without the byte-order mark Excel writes), fields separated by
``,`` or ``;``, a header row naming the columns in any order. The columns are the fields
of :class:`~sargs.shelters.schemas.ShelterIn` (listed in the README); ``name``,
``address``, ``lat``, ``lon``, ``kind`` and ``capacity`` must be there. ``facilities`` is
a list like ``water;toilets``; yes/no fields take yes/no, true/false, 1/0 (also jā/nē);
dates are ``YYYY-MM-DD``. An empty cell means the field's default.

A row whose name and address match a place already in the register updates that place
(columns left out of the file keep their values); any other row adds a place. All or
nothing: every bad line is named with its line number, field and reason, and nothing is
stored unless every line is good. Export then import gives the same register.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from sargs import csv_import
from sargs.csv_import import ImportRefused, Problem, decode, delimiter
from sargs.shelters import service
from sargs.shelters.models import Shelter
from sargs.shelters.schemas import ShelterIn
from sargs.web.forms import InputError, validate

COLUMNS = tuple(ShelterIn.model_fields)
REQUIRED = ("name", "address", "lat", "lon", "kind", "capacity")
BOOLEANS = {"jā": "yes", "ja": "yes", "nē": "no", "ne": "no"}

__all__ = ["COLUMNS", "ImportRefused", "Problem", "export_csv", "import_csv"]


def _key(name: str, address: str) -> tuple[str, str]:
    return " ".join(name.split()).casefold(), " ".join(address.split()).casefold()


# --- export --------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def shelter_values(shelter: Shelter) -> dict[str, Any]:
    """A place's register fields, as ShelterIn holds them."""
    return {name: getattr(shelter, name) for name in COLUMNS}


def export_csv(session: Session) -> str:
    """Every place of the register (those removed from it aside), by name."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for shelter in service.list_shelters(session):
        writer.writerow([_cell(value) for value in shelter_values(shelter).values()])
    return buffer.getvalue()


# --- import --------------------------------------------------------------------------


def _values(record: dict[str, str], existing: Shelter | None) -> dict[str, Any]:
    """ShelterIn's input from one row: the place's current values (when it is updated),
    then the row's cells, an empty cell being the field's default."""
    values = shelter_values(existing) if existing is not None else {}
    for name, cell in record.items():
        info = ShelterIn.model_fields[name]
        if cell == "" and not info.is_required():
            values[name] = info.get_default(call_default_factory=True)
        elif info.annotation is bool:
            values[name] = BOOLEANS.get(cell.casefold(), cell)
        else:
            values[name] = cell
    return values


def import_csv(session: Session, data: bytes) -> tuple[int, int]:
    """Store every place of the file, or none; returns (added, updated)."""
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text))
    header = csv_import.header(reader, COLUMNS, REQUIRED)
    known = {_key(s.name, s.address): s for s in service.list_shelters(session, active_only=False)}
    problems: list[Problem] = []
    rows: list[tuple[Shelter | None, ShelterIn]] = []
    seen: dict[tuple[str, str], int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problems.append(Problem(line, "line", _(
                "%(n)s fields, the header has %(m)s.", n=len(cells), m=len(header))))
            continue
        record = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        key = _key(record["name"], record["address"])
        if key in seen:
            problems.append(Problem(line, "name", _(
                "The same name and address as line %(n)s.", n=seen[key])))
            continue
        seen[key] = line
        existing = known.get(key)
        try:
            data_in = validate(ShelterIn, _values(record, existing))
        except InputError as exc:
            problems += [Problem(line, field, message) for field, message in exc.errors.items()]
            continue
        if not service.in_latvia(session, data_in.lat, data_in.lon):
            problems.append(Problem(line, "lat", _("This place is not in Latvia.")))
            continue
        rows.append((existing, data_in))
    if problems:
        raise ImportRefused(problems)
    if not rows:
        raise ImportRefused([Problem(2, "file", _("No places in the file."))])
    added = updated = 0
    for existing, data_in in rows:
        if existing is None:
            service.create_shelter(session, data_in)
            added += 1
        else:
            existing.active = True
            service.update_shelter(session, existing, data_in)
            updated += 1
    session.flush()
    return added, updated
