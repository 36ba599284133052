"""The shelter register's rules on the service: validation, readiness from defects,
opening and closing in an activation, occupancy counts, and the nearest open shelter."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from sargs.audit.models import AuditEntry
from sargs.shelters import service
from sargs.shelters.models import OccupancyChange
from sargs.shelters.schemas import DefectIn, InspectionIn, OccupancyIn, ShelterIn
from sargs.web.forms import InputError, validate
from tests.shelters.conftest import CENTRE


def test_a_place_outside_latvia_is_refused_naming_the_field(db, make_shelter):
    with pytest.raises(service.ShelterError) as caught:
        make_shelter(lat=54.6872, lon=25.2797)  # Vilnius
    assert caught.value.field == "lat"
    db.rollback()
    assert db.scalar(text("select count(*) from shelter")) == 0


def test_bad_register_input_names_the_field(app):
    with app.test_request_context():
        with pytest.raises(InputError) as caught:
            validate(ShelterIn, {"name": "Skola", "address": "Iela 1", "lat": "56.6",
                                 "lon": "23.7", "capacity": "-5"})
        assert "capacity" in caught.value.errors
        with pytest.raises(InputError) as caught:
            validate(ShelterIn, {"name": "Skola", "address": "Iela 1", "lat": "56.6",
                                 "lon": "23.7", "capacity": "5", "facilities": "water;sauna"})
        assert "facilities" in caught.value.errors
        with pytest.raises(InputError) as caught:
            validate(OccupancyIn, {"delta": "0"})
        assert "delta" in caught.value.errors


def test_readiness_follows_open_defects(db, make_shelter, frozen_clock):
    shelter = make_shelter()
    inspection = service.record_inspection(
        db, shelter, InspectionIn(inspected_on=date(2026, 11, 20), inspector="VUGD",
                                  checklist={"water": True, "ventilation": False}),
        [DefectIn(description="Ventilācija nedarbojas", severity="major", owner="JNĪP",
                  due_on=date(2026, 12, 20)),
         DefectIn(description="Trūkst norādes", severity="minor")])
    assert (shelter.readiness, shelter.last_inspected_on) == ("red", date(2026, 11, 20))
    major, minor = sorted(inspection_defects(db, inspection.id), key=lambda d: d.severity)
    service.fix_defect(db, major, "Salabota")
    assert shelter.readiness == "amber"
    service.fix_defect(db, minor)
    assert shelter.readiness == "green"
    frozen_clock.advance(timedelta(days=400))
    assert service.refresh_readiness(db, shelter) == "amber"
    assert [s.id for s in service.overdue_inspections(db)] == [shelter.id]


def inspection_defects(db, inspection_id):
    from sargs.shelters.models import ShelterDefect

    return list(db.scalars(select(ShelterDefect).where(
        ShelterDefect.inspection_id == inspection_id)))


def test_opening_needs_an_open_activation_and_is_audited(db, make_shelter, activation):
    shelter = make_shelter()
    with pytest.raises(service.ShelterError):
        service.open_shelter(db, shelter, 999)
    service.open_shelter(db, shelter, activation().id)
    db.commit()
    assert shelter.opening is not None
    with pytest.raises(service.ShelterError):
        service.open_shelter(db, shelter, activation().id)
    service.close_shelter(db, shelter)
    db.commit()
    assert shelter.opening_id is None
    kinds = {(e.object_type, e.action) for e in db.scalars(select(AuditEntry))}
    assert ("shelter_opening", "create") in kinds and ("shelter_opening", "update") in kinds


def test_occupancy_never_below_zero_and_over_capacity_is_flagged(db, make_shelter, activation):
    shelter = make_shelter(capacity=5)
    service.open_shelter(db, shelter, activation().id)
    assert service.change_occupancy(db, shelter, 4).occupancy == 4
    with pytest.raises(service.ShelterError) as caught:
        service.change_occupancy(db, shelter, -5)
    assert caught.value.field == "delta" and shelter.occupancy == 4
    result = service.change_occupancy(db, shelter, 3)
    assert (result.occupancy, result.over_capacity) == (7, True)
    assert shelter.opening.over_capacity_at is not None
    db.commit()
    changes = list(db.scalars(select(OccupancyChange).order_by(OccupancyChange.id)))
    assert [(c.delta, c.occupancy_after, c.over_capacity) for c in changes] == [
        (4, 4, False), (3, 7, True)]


def test_nearest_open_shelters_with_free_places_in_order(db, make_shelter, activation):
    lat, lon = CENTRE
    near = make_shelter("Tuvā", lat=lat + 0.001, lon=lon)
    middle = make_shelter("Vidējā", lat=lat + 0.01, lon=lon)
    full = make_shelter("Pilnā", lat=lat + 0.0005, lon=lon, capacity=1)
    far = make_shelter("Tālā", lat=lat + 0.05, lon=lon)
    closed = make_shelter("Slēgtā", lat=lat, lon=lon + 0.0001)
    real = activation().id
    for shelter in (near, middle, full, far):
        service.open_shelter(db, shelter, real)
    service.change_occupancy(db, full, 1)
    db.commit()
    found, any_open = service.nearest(db, lat, lon, 3)
    assert any_open
    assert [f.shelter.name for f in found] == ["Tuvā", "Vidējā", "Tālā"]
    assert found[0].distance_m == 111
    del closed


def test_none_open_gives_the_nearest_registered_ones(db, make_shelter, activation):
    lat, lon = CENTRE
    make_shelter("A", lat=lat + 0.02, lon=lon)
    make_shelter("B", lat=lat + 0.001, lon=lon)
    exercise_only = make_shelter("C", lat=lat, lon=lon)
    service.open_shelter(db, exercise_only, activation(exercise=True).id)
    db.commit()
    found, any_open = service.nearest(db, lat, lon, 2)
    assert not any_open  # an exercise opening is not open to the public
    assert [f.shelter.name for f in found] == ["C", "B"]
    public = {row["name"]: row for row in service.public_shelters(db)}
    assert public["C"]["open"] is False
    assert "responsible_name" not in public["C"]


def test_an_open_shelter_cannot_leave_the_register(db, make_shelter, activation):
    shelter = make_shelter()
    service.open_shelter(db, shelter, activation().id, notify=False)
    with pytest.raises(service.ShelterError):
        service.remove_shelter(db, shelter)
    service.close_shelter(db, shelter)
    service.remove_shelter(db, shelter)
    db.commit()
    assert [s.id for s in service.list_shelters(db)] == []
    assert service.get_shelter(db, shelter.id).active is False
