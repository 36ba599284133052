"""The "nearest open shelter" guidance line: the open shelters with free places, nearest
first to a point or with the most room in the areas, the public map's address, nothing
when none is open (an exercise's opening is none); and orange and red warning alerts
carrying it."""

from __future__ import annotations

from sqlalchemy import select

from sargs.channels.models import Alert
from sargs.shelters import service
from sargs.shelters.guidance import nearest_open_guidance
from tests.shelters.conftest import CENTRE
from tests.warnings.conftest import feed  # noqa: F401  (the warnings' ingest fixture)
from tests.warnings.lvgmc import Doc
from tests.warnings.test_warning_alerts import T0

BASE = "https://sargs.jelgava.lv"
# Ozolnieki, in Jelgava municipality (LV023), not in the city (LV022).
OZOLNIEKI = (56.6906, 23.7856)


def _open(db, shelter, activation_id, inside: int = 0) -> None:
    service.open_shelter(db, shelter, activation_id, notify=False)
    if inside:
        service.change_occupancy(db, shelter, inside)
    db.commit()


def test_nothing_open_gives_no_guidance_and_an_exercise_opening_is_none(
        db, make_shelter, activation):
    shelter = make_shelter()
    assert nearest_open_guidance(db, "lv", CENTRE, base_url=BASE) is None
    assert nearest_open_guidance(db, "lv", ["LV022"], base_url=BASE) is None
    _open(db, shelter, activation(exercise=True).id)
    assert nearest_open_guidance(db, "en", CENTRE, base_url=BASE) is None
    assert nearest_open_guidance(db, "en", ["LV022"], base_url=BASE) is None


def test_near_a_point_the_nearest_open_shelters_with_free_places(db, make_shelter, activation):
    real = activation().id
    far = make_shelter("Tālā skola", lat=CENTRE[0] + 0.02, address="Rūpniecības iela 1")
    near = make_shelter("Pilsētas dome", lat=CENTRE[0] + 0.001, address="Lielā iela 11",
                        capacity=120)
    full = make_shelter("Pilna zāle", lat=CENTRE[0] + 0.0005, capacity=5)
    make_shelter("Slēgtā skola", lat=CENTRE[0] + 0.0001)
    _open(db, far, real)
    _open(db, near, real, inside=20)
    _open(db, full, real, inside=5)

    assert nearest_open_guidance(db, "lv", CENTRE, base_url=BASE + "/") == (
        "Tuvākās atvērtās patvertnes: Pilsētas dome (Lielā iela 11, 100 brīvas vietas), "
        "Tālā skola (Rūpniecības iela 1, 100 brīvas vietas); "
        "karte: https://sargs.jelgava.lv/public/shelters")
    assert nearest_open_guidance(db, "en", CENTRE, base_url=BASE).startswith(
        "Nearest open shelters: Pilsētas dome (Lielā iela 11, 100 free places), Tālā skola")


def test_for_areas_the_open_shelters_inside_them_most_room_first(db, make_shelter, activation):
    real = activation().id
    small = make_shelter("Sporta halle", address="Kalnciema ceļš 2", capacity=50)
    big = make_shelter("Pilsētas dome", lat=CENTRE[0] + 0.003, address="Lielā iela 11",
                       capacity=300)
    county = make_shelter("Ozolnieku vidusskola", lat=OZOLNIEKI[0], lon=OZOLNIEKI[1],
                          address="Skolas iela 6")
    for shelter in (small, big, county):
        _open(db, shelter, real)

    city = nearest_open_guidance(db, "lv", ["LV022"], base_url=BASE)
    assert city == ("Atvērtās patvertnes: Pilsētas dome (Lielā iela 11, 300 brīvas vietas), "
                    "Sporta halle (Kalnciema ceļš 2, 50 brīvas vietas); "
                    "karte: https://sargs.jelgava.lv/public/shelters")
    assert "Ozolnieku vidusskola (Skolas iela 6, 100 free places)" in nearest_open_guidance(
        db, "en", ["LV023"], base_url=BASE)


def test_orange_warning_alerts_name_the_open_shelters_yellow_ones_do_not(
        app, db, feed, make_shelter, activation):  # noqa: F811
    shelter = make_shelter("Pilsētas dome", address="Lielā iela 11", capacity=120)
    _open(db, shelter, activation().id)
    map_url = app.extensions["sargs"].settings.base_url + "/public/shelters"

    yellow = Doc(101, T0, level=2)
    feed(yellow)
    feed(yellow.update(102, T0, level=3))
    db.expire_all()
    first, second = db.scalars(select(Alert).order_by(Alert.id)).all()
    assert (first.level, second.level) == ("yellow", "orange")
    assert "patvert" not in first.text_for("lv").body
    lv, en = second.text_for("lv").body, second.text_for("en").body
    assert (f"Atvērtās patvertnes: Pilsētas dome (Lielā iela 11, 120 brīvas vietas); "
            f"karte: {map_url}") in lv
    assert "Open shelters: Pilsētas dome (Lielā iela 11, 120 free places)" in en
    # Before the source line, after the advice.
    assert lv.index("Atvērtās patvertnes") < lv.index("Avots: LVĢMC")
