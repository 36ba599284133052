"""The illustrative Jelgava register: at least 40 places at public buildings, every point
inside the city's outline, every place marked illustrative, and loading it twice adds
nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from sargs.areas import service as areas
from sargs.shelters import demo, service
from sargs.shelters.models import Shelter


def test_every_demo_place_lies_in_jelgava_city(db):
    outside = [place.name for place in demo.demo_places()
               if not service.in_latvia(db, place.lat, place.lon)
               or "LV022" not in {ref.code for ref in areas.areas_at_point(db, place.lat,
                                                                            place.lon)}]
    assert outside == []


def test_the_demo_register_is_loaded_once_and_marked_illustrative(db, users, client):
    assert demo.load_demo(db) == (len(demo.PLACES), 0)
    db.commit()
    assert demo.load_demo(db) == (0, len(demo.PLACES))
    db.commit()
    shelters = list(db.scalars(select(Shelter)))
    assert len(shelters) >= 40
    assert all(s.illustrative for s in shelters)
    assert {s.kind for s in shelters} == {"shelter", "suitable", "short_stay",
                                          "evacuation_point"}
    assert db.scalar(select(func.count()).select_from(Shelter).where(
        Shelter.address == "Lielā iela 11")) == 1
    assert len({(s.lat, s.lon) for s in shelters}) == len(shelters)
    council = db.scalar(select(Shelter).where(Shelter.address == "Lielā iela 11"))
    db.close()
    users.signed_in(client, "ilze", "commission")
    client.post("/lang/en", data={"csrf_token": _token(client), "next": "/shelters/"})
    page = client.get(f"/shelters/{council.id}").get_data(as_text=True)
    assert "illustrative, not the official register" in page
    listing = client.get("/shelters/").get_data(as_text=True)
    assert listing.count('data-testid="shelter-row"') == len(shelters)


def _token(client):
    from tests.conftest import csrf_token

    return csrf_token(client, "/shelters/")


def test_the_demo_command_loads_the_register_once(app, db):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from sargs.cli import cli

    def run():
        return CliRunner().invoke(cli, ["shelters", "demo"],
                                  obj=ScriptInfo(create_app=lambda: app)).output

    assert f"added {len(demo.PLACES)}, already there 0" in run()
    assert f"added 0, already there {len(demo.PLACES)}" in run()
    assert db.scalar(select(func.count()).select_from(Shelter)) == len(demo.PLACES)
