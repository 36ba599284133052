"""The area service: which areas hold a point, which a polygon concerns, which it is."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from sqlalchemy import func, select

from sargs.app import create_app
from sargs.areas import service
from sargs.areas.models import Area
from sargs.audit.models import AuditEntry

DATA = Path(__file__).parent / "data"
CENTRAL_JELGAVA = (56.6511, 23.7214)
OZOLNIEKI = (56.69, 23.79)
RIGA = (56.9496, 24.1052)


def codes(refs):
    return [ref.code for ref in refs]


# --- shipped outlines -----------------------------------------------------------


def test_all_51_shipped_areas_are_loaded_once_with_their_source(db):
    areas = db.scalars(select(Area)).all()
    assert len(areas) == 51
    kinds = sorted(area.kind for area in areas)
    assert kinds.count("region") == 4 and kinds.count("municipality") == 43 and kinds.count("sea") == 4
    assert all(area.builtin and area.source == service.EMMA_SOURCE for area in areas)
    assert db.get(Area, service.get_area(db, "lv022").id).name == "Jelgavas pilsēta"


def test_a_restart_changes_nothing(app, db, settings):
    before = {a.code: (a.id, a.content_hash, a.updated_at) for a in db.scalars(select(Area))}
    audit_before = db.scalar(select(func.count()).select_from(AuditEntry))
    assert service.sync_builtin_areas(db) == 0
    db.rollback()
    restarted = create_app(settings)
    restarted.extensions["sargs"].engine.dispose()
    db.expire_all()
    after = {a.code: (a.id, a.content_hash, a.updated_at) for a in db.scalars(select(Area))}
    assert after == before
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == audit_before


def test_a_changed_outline_is_updated_on_sync(db):
    area = service.get_area(db, "LV022")
    area.name = "old name"
    db.commit()
    assert service.sync_builtin_areas(db) == 1
    db.commit()
    assert service.get_area(db, "LV022").name == "Jelgavas pilsēta"
    assert service.sync_builtin_areas(db) == 0


# --- points ------------------------------------------------------------------------


def test_central_jelgava_is_in_the_city_and_zemgale_not_the_municipality(db):
    found = service.areas_at_point(db, *CENTRAL_JELGAVA)
    assert codes(found) == ["LV003", "LV022"]
    assert found[1] == service.AreaRef(found[1].id, "LV022", "Jelgavas pilsēta", "municipality")


def test_a_point_in_the_municipality_outside_the_city_is_in_lv023(db, shipped):
    lat, lon = OZOLNIEKI
    assert shape(shipped["LV023"]["geometry"]).contains(Point(lon, lat))
    assert not shape(shipped["LV022"]["geometry"]).contains(Point(lon, lat))
    assert codes(service.areas_at_point(db, lat, lon)) == ["LV003", "LV023"]


def test_a_point_in_riga_is_riga_not_jelgava(db):
    found = codes(service.areas_at_point(db, *RIGA))
    assert found == ["LV001", "LV039"]
    assert "LV022" not in found


@pytest.mark.parametrize(("point", "city", "around"), [
    ((55.8744, 26.5361), "LV017", "LV013"),  # Daugavpils in Augšdaugavas novads
    ((56.5100, 27.3330), "LV037", "LV038"),  # Rēzekne in Rēzeknes novads
])
def test_every_enclave_city_is_cut_out_of_its_municipality(db, shipped, point, city, around):
    lat, lon = point
    assert shape(shipped[around]["geometry"]).contains(Point(lon, lat))
    found = codes(service.areas_at_point(db, lat, lon))
    assert city in found and around not in found


def test_points_outside_latvia_or_not_finite_are_in_no_area(db):
    assert service.areas_at_point(db, 54.6872, 25.2797) == []  # Vilnius
    assert service.areas_at_point(db, float("nan"), 23.7) == []


# --- polygons ----------------------------------------------------------------------


@pytest.mark.parametrize("code", ["LV022", "LV023", "LV003", "LV039", "LV801", "LV802", "LV803",
                                  "LV804"])
def test_an_outline_sent_as_a_cap_polygon_is_identified_as_its_area(db, cap_polygon_of, code):
    match = service.identify(db, service.parse_cap_polygon(cap_polygon_of(code)))
    assert match is not None and match.area.code == code
    assert match.iou > 0.99


def test_every_shipped_outline_is_identified_as_itself(db, cap_polygon_of, shipped):
    index = service.area_index(db)
    wrong = {}
    for code in shipped:
        match = index.identify(service.parse_cap_polygon(cap_polygon_of(code)))
        if match is None or match.area.code != code:
            wrong[code] = match and match.area.code
    assert wrong == {}


def test_the_city_outline_is_not_mistaken_for_the_municipality_around_it(db, cap_polygon_of):
    city = service.parse_cap_polygon(cap_polygon_of("LV022"))
    municipality = service.parse_cap_polygon(cap_polygon_of("LV023"))
    assert service.identify(db, city).area.code == "LV022"
    assert service.identify(db, municipality).area.code == "LV023"
    # The municipality's outline covers the city too: both are concerned by it.
    assert codes(service.areas_in_polygon(db, municipality)) == ["LV003", "LV022", "LV023"]
    assert codes(service.areas_in_polygon(db, city)) == ["LV003", "LV022"]


def test_a_real_lvgmc_polygon_of_riga_is_identified_as_lv039(db):
    polygon = service.parse_cap_polygon((DATA / "lvgmc-riga-fog-polygon.txt").read_text())
    match = service.identify(db, polygon)
    assert match is not None and match.area.code == "LV039"
    assert 0.8 < match.iou < 1


def test_a_small_polygon_inside_the_city_is_in_lv022_but_is_not_lv022(db):
    polygon = service.parse_cap_polygon(
        "56.648,23.716 56.648,23.726 56.654,23.726 56.654,23.716 56.648,23.716"
    )
    assert codes(service.areas_in_polygon(db, polygon)) == ["LV003", "LV022"]
    by_code = {o.area.code: o for o in service.overlaps(db, polygon)}
    assert set(by_code) == {"LV003", "LV022"}
    assert by_code["LV022"].share_of_polygon == pytest.approx(1.0)
    assert by_code["LV022"].share_of_area < 0.05
    assert service.identify(db, polygon) is None


def test_a_polygon_across_two_municipalities_concerns_both(db):
    # Jelgava city and Ozolnieki, on both sides of the city's north-east edge.
    polygon = Polygon([(23.70, 56.64), (23.80, 56.64), (23.80, 56.70), (23.70, 56.70)])
    found = {o.area.code: o for o in service.overlaps(db, polygon)}
    assert {"LV022", "LV023"} <= set(found)
    assert found["LV022"].share_of_polygon + found["LV023"].share_of_polygon == pytest.approx(1.0, abs=0.02)
    assert service.identify(db, polygon) is None


def test_kinds_limit_the_answer(db, cap_polygon_of):
    city = service.parse_cap_polygon(cap_polygon_of("LV022"))
    assert codes(service.areas_in_polygon(db, city, kinds=["region"])) == ["LV003"]
    assert service.identify(db, city, kinds=["sea"]) is None


def test_parse_cap_polygon_reads_lat_lon_pairs():
    polygon = service.parse_cap_polygon(" 56.0,23.0  56.0,24.0\n57.0,24.0 56.0,23.0 ")
    assert isinstance(polygon, Polygon)
    assert polygon.exterior.coords[1] == (24.0, 56.0)  # lon, lat


def test_parse_cap_polygon_closes_an_open_ring_and_repairs_a_bowtie():
    assert service.parse_cap_polygon("56,23 56,24 57,24").area == pytest.approx(0.5)
    bowtie = service.parse_cap_polygon("56,23 57,24 56,24 57,23 56,23")
    assert isinstance(bowtie, MultiPolygon) and bowtie.is_valid
    assert bowtie.area == pytest.approx(0.5)


@pytest.mark.parametrize("text", ["", "56,23 56,24", "56;23 56,24 57,24 56;23", "56,23 56,x 57,24",
                                  "91,23 56,24 57,24 91,23", "56,23 56,24 56,25 56,23", "nan,23 1,2 3,4"])
def test_parse_cap_polygon_refuses_what_is_not_a_polygon(text):
    with pytest.raises(service.AreaError) as caught:
        service.parse_cap_polygon(text)
    assert caught.value.field == "polygon"


# --- neighbourhoods and the cache ------------------------------------------------------


def test_a_neighbourhood_is_inside_the_city_and_the_region(db, square_geojson):
    service.create_neighbourhood(db, "centrs", "Centrs", square_geojson)
    db.commit()
    assert codes(service.areas_at_point(db, 56.651, 23.721)) == ["LV003", "LV022", "CENTRS"]
    assert codes(service.areas_at_point(db, 56.660, 23.740)) == ["LV003", "LV022"]
    polygon = Polygon([(23.718, 56.649), (23.724, 56.649), (23.724, 56.653), (23.718, 56.653)])
    assert codes(service.areas_in_polygon(db, polygon)) == ["LV003", "LV022", "CENTRS"]
    square = Polygon(square_geojson["coordinates"][0])
    assert service.identify(db, square).area.code == "CENTRS"


def test_the_cache_sees_changes_and_keeps_plain_values(app, db, square_geojson):
    first = service.area_index(db)
    assert service.area_index(db) is first
    found = service.areas_at_point(db, 56.651, 23.721)
    area = service.create_neighbourhood(db, "CENTRS", "Centrs", square_geojson)
    db.commit()
    second = service.area_index(db)
    assert second is not first
    assert "CENTRS" in codes(second.at_point(56.651, 23.721))
    # Renaming without stamp() still changes the key (the model re-stamps on flush).
    area.name = "Vecpilsēta"
    db.commit()
    assert [r.name for r in service.areas_at_point(db, 56.651, 23.721)][-1] == "Vecpilsēta"
    service.delete_neighbourhood(db, area)
    db.commit()
    assert codes(service.areas_at_point(db, 56.651, 23.721)) == ["LV003", "LV022"]
    db.close()
    assert found[1].code == "LV022"  # plain values outlive the session


def test_each_thread_has_its_own_index_with_the_same_answers(app, db):
    mine = service.area_index(db)
    db.rollback()  # SQLite: every transaction holds the write lock (BEGIN IMMEDIATE)
    theirs = {}

    def ask():
        with app.extensions["sargs"].sessionmaker() as session:
            index = service.area_index(session)
            theirs["index"] = index
            theirs["codes"] = codes(index.at_point(*CENTRAL_JELGAVA))

    worker = threading.Thread(target=ask)
    worker.start()
    worker.join()
    assert theirs["index"] is not mine
    assert theirs["codes"] == codes(mine.at_point(*CENTRAL_JELGAVA)) == ["LV003", "LV022"]


@pytest.mark.parametrize(("code", "name", "geometry", "field"), [
    ("centrs", "Centrs", {"type": "Point", "coordinates": [23.72, 56.65]}, "geometry"),
    ("centrs", "Centrs", {"type": "Polygon", "coordinates": [[[23.7, 56.64], [23.74, 56.66],
                                                              [23.74, 56.64], [23.7, 56.66],
                                                              [23.7, 56.64]]]}, "geometry"),
    ("centrs", "Centrs", {"type": "Polygon", "coordinates": [[[25.2, 54.6], [25.3, 54.6],
                                                              [25.3, 54.7], [25.2, 54.6]]]}, "geometry"),
    ("centrs", "Centrs", {"type": "Polygon", "coordinates": "nonsense"}, "geometry"),
    ("LV099", "Centrs", None, "code"),
    ("LV022", "Centrs", None, "code"),
    ("a b", "Centrs", None, "code"),
    ("centrs", "  ", None, "name"),
])
def test_create_neighbourhood_refuses_bad_input(db, square_geojson, code, name, geometry, field):
    with pytest.raises(service.AreaError) as caught:
        service.create_neighbourhood(db, code, name, geometry or square_geojson)
    assert caught.value.field == field
    assert db.scalar(select(func.count()).select_from(Area)) == 51


def test_a_neighbourhood_mostly_outside_latvia_is_refused(db):
    # Crosses the Lithuanian border south of Jelgava: inside the box, mostly outside Latvia.
    across = {"type": "Polygon", "coordinates": [[[23.6, 56.3], [23.9, 56.3], [23.9, 56.0],
                                                  [23.6, 56.0], [23.6, 56.3]]]}
    with pytest.raises(service.AreaError) as caught:
        service.create_neighbourhood(db, "ROBEZA", "Robeža", across)
    assert caught.value.field == "geometry"


def test_shipped_areas_cannot_be_deleted(db):
    with pytest.raises(service.AreaError):
        service.delete_neighbourhood(db, service.get_area(db, "LV022"))


# --- home areas ------------------------------------------------------------------------


def test_home_areas_are_the_configured_rows_in_order(db, settings):
    assert [a.code for a in service.home_areas(db, settings)] == ["LV022", "LV023"]
    reordered = settings.model_copy(update={"home_areas": ["LV023", "lv022", "LV003"]})
    assert [a.code for a in service.home_areas(db, reordered)] == ["LV023", "LV022", "LV003"]


def test_an_unknown_home_area_is_a_clear_error(db, settings):
    wrong = settings.model_copy(update={"home_areas": ["LV022", "LV999", "XX"]})
    with pytest.raises(service.UnknownAreaError) as caught:
        service.home_areas(db, wrong)
    assert caught.value.codes == ["LV999", "XX"]
    assert "SARGS_HOME_AREAS" in str(caught.value) and "LV999, XX" in str(caught.value)
