"""Evacuees registered (optionally) in an open shelter, with minimal data.

Registering a household checks it in through the shelter's counter
(:func:`sargs.shelters.service.change_occupancy`), and checking it out counts it out, so
the counter and the list agree. When the shelter closes, :func:`anonymise_opening`
removes the name, phone and notes of everyone registered in that opening: only the
counts and the times stay. Personal data never goes to the logs.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock

# The module, not its names: service imports this one back when a shelter closes.
from sargs.shelters import service
from sargs.shelters.models import Evacuee, Shelter, ShelterOpening
from sargs.shelters.schemas import EvacueeIn
from sargs.web.forms import validate


def register(session: Session, shelter: Shelter, name: str | None, phone: str | None,
             household_size: int | str | None, notes: str | None) -> Evacuee:
    """Register a household in an open shelter and count it in. Bad input raises
    :class:`~sargs.web.forms.InputError` naming the field; nothing is stored then."""
    if shelter.opening_id is None:
        raise service.ShelterError("shelter", _("This shelter is not open."))
    data = validate(EvacueeIn, {"name": name, "phone": phone,
                                "household_size": household_size, "notes": notes})
    service.change_occupancy(session, shelter, data.household_size)
    evacuee = Evacuee(opening_id=shelter.opening_id, name=data.name, phone=data.phone,
                      household_size=data.household_size, notes=data.notes,
                      checked_in_at=clock.now())
    session.add(evacuee)
    session.flush()
    return evacuee


def check_out(session: Session, evacuee: Evacuee) -> Evacuee:
    """A registered household leaves: it is counted out of its shelter."""
    if evacuee.checked_out_at is not None:
        raise service.ShelterError("evacuee", _("This person is already checked out."))
    opening = session.get(ShelterOpening, evacuee.opening_id)
    shelter = session.get(Shelter, opening.shelter_id) if opening else None
    if shelter is None or shelter.opening_id != evacuee.opening_id:
        raise service.ShelterError("evacuee", _("This shelter is not open."))
    session.refresh(shelter)
    # The counter may have counted some of the household out already (the −1 button):
    # the rest is counted out, never below zero, so the person can always leave the list.
    leaving = min(evacuee.household_size, shelter.occupancy)
    if leaving:
        service.change_occupancy(session, shelter, -leaving)
    evacuee.checked_out_at = clock.now()
    session.flush()
    return evacuee


def present(session: Session, shelter: Shelter) -> list[Evacuee]:
    """The households registered in the shelter's current opening and not yet checked out,
    in the order they came."""
    if shelter.opening_id is None:
        return []
    return list(session.scalars(
        select(Evacuee).where(Evacuee.opening_id == shelter.opening_id,
                              Evacuee.checked_out_at.is_(None))
        .order_by(Evacuee.checked_in_at, Evacuee.id)))


def get_evacuee(session: Session, evacuee_id: int) -> Evacuee | None:
    return session.get(Evacuee, evacuee_id)


def anonymise_opening(session: Session, opening_id: int) -> int:
    """Remove the personal data of everyone registered in an opening (when it closes);
    those still checked in leave with the closing. Returns how many were anonymised."""
    now = clock.now()
    evacuees = list(session.scalars(select(Evacuee).where(
        Evacuee.opening_id == opening_id, Evacuee.anonymised_at.is_(None))))
    for evacuee in evacuees:
        evacuee.name = evacuee.phone = evacuee.notes = None
        evacuee.anonymised_at = now
        if evacuee.checked_out_at is None:
            evacuee.checked_out_at = now
    session.flush()
    return len(evacuees)
