"""Reading warning sources: Meteoalarm Atom (real feeds of four members and a complete Latvian
feed), Meteoalarm JSON, LVĢMC's list.php, single CAP documents, and hostile or wrong input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import xmlschema

from sargs.warnings import cap
from sargs.warnings.cap_json import to_cap_xml
from sargs.warnings.fetch import Fetched, Fetcher
from sargs.warnings.sources import SourceRead, SourceRejected, read_source
from tests.warnings.feed_server import FeedServer

DATA = Path(__file__).parent / "data"
MAX_BYTES = 5_000_000
ATOM_URL = "https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-latvia"
LIST_URL = "https://bridinajumi.meteo.lv/list.php"
CAP_LINK = "https://feeds.meteoalarm.org/api/v1/warnings/feeds-latvia/"
SEA = "2.49.0.0.428.0.LV.261009201318.103707"
JELGAVA = "2.49.0.0.428.0.LV.261009213018.103711"


def data(name: str) -> bytes:
    (path,) = DATA.glob(name)
    return path.read_bytes()


def fetched(body: bytes, url: str = ATOM_URL, content_type: str | None = None) -> Fetched:
    return Fetched(url, False, body, None, None, content_type)


def read(body: bytes, **kwargs: object) -> SourceRead:
    return read_source(fetched(body, **kwargs), max_bytes=MAX_BYTES)


def rejected(body: bytes, **kwargs: object) -> str:
    with pytest.raises(SourceRejected) as caught:
        read(body, **kwargs)
    return caught.value.reason


def items_by_id(result: SourceRead) -> dict:
    return {item.identifier: item for item in result.items}


# -- Meteoalarm Atom -----------------------------------------------------------------------


def test_truncated_real_latvian_feed_is_rejected_with_a_reason():
    reason = rejected(data("meteoalarm-atom-latvia-*-TRUNCATED.xml"))
    assert reason.startswith("not well-formed XML")


def test_latvian_feed_collapses_entries_into_one_item_per_document():
    result = read(data("meteoalarm-atom-latvia-complete.xml"), content_type="application/atom+xml")
    assert (result.kind, result.lists_all_in_force, result.problems) == ("atom", False, ())
    items = items_by_id(result)
    # 8 entries, 4 documents: both versions of the LV803 orange warning stay in the feed.
    assert list(items) == ["2.49.0.0.428.0.LV.261009232718.103712",
                           "2.49.0.0.428.0.LV.261009223919.103710", SEA, JELGAVA]
    assert items[SEA].cap_url == CAP_LINK + "dd4d7ef0-0025-48b1-9128-75f532476c4d"
    assert all(item.cap_bytes is None for item in result.items)


def test_sea_warning_stub_has_every_area_with_its_emma_id():
    stub = items_by_id(read(data("meteoalarm-atom-latvia-complete.xml")))[SEA].stub
    assert (stub.identifier, stub.sender, stub.status, stub.msg_type, stub.scope) == (
        SEA, "meteoalarm.org", "Actual", "Update", "Public")
    assert stub.sent == datetime(2026, 10, 9, 17, 13, 18, tzinfo=UTC)
    assert stub.references == ()  # the Atom does not carry them
    (info,) = stub.infos
    assert (info.language, info.categories, info.event) == ("en-GB", ("Met",), "Yellow Wind Warning")
    assert (info.urgency, info.severity, info.certainty) == ("Immediate", "Moderate", "Likely")
    assert info.expires == datetime(2026, 10, 10, 7, 0, tzinfo=UTC)
    assert (info.awareness_level, info.awareness_colour) == (2, "yellow")
    assert (info.awareness_type, info.awareness_type_name) == (1, "wind")
    assert info.parameters == ()
    assert [(a.area_desc, a.geocodes, a.polygons) for a in info.areas] == [
        ("Gulf of Riga West", (("EMMA_ID", "LV804"),), ()),
        ("Gulf of Riga East", (("EMMA_ID", "LV802"),), ()),
        ("Southern Gulf of Riga", (("EMMA_ID", "LV801"),), ()),
    ]


def test_jelgava_land_warning_stub_keeps_every_polygon_per_area():
    item = items_by_id(read(data("meteoalarm-atom-latvia-complete.xml")))[JELGAVA]
    assert item.cap_url == CAP_LINK + "5b0e2c7a-9d41-4f3e-8a61-2f7c0d9e4b18"
    (info,) = item.stub.infos
    assert (info.awareness_level, info.awareness_type_name) == (2, "thunderstorm")
    assert info.onset == datetime(2026, 10, 9, 20, 0, tzinfo=UTC)
    city, municipality = info.areas
    assert (city.area_desc, len(city.polygons), city.geocodes) == ("Jelgava", 2, ())
    assert (municipality.area_desc, len(municipality.polygons)) == ("Jelgava municipality", 1)
    # The city outline surrounds the city centre (Jelgava Palace, 56.6538 N 23.7356 E).
    lats = [lat for lat, _ in city.polygons[0]]
    lons = [lon for _, lon in city.polygons[0]]
    assert min(lats) < 56.6538 < max(lats) and min(lons) < 23.7356 < max(lons)


def test_orange_title_gives_level_three():
    info = items_by_id(read(data("meteoalarm-atom-latvia-complete.xml")))[
        "2.49.0.0.428.0.LV.261009232718.103712"].stub.infos[0]
    assert (info.awareness_level, info.awareness_colour, info.severity) == (3, "orange", "Severe")


def test_entry_missing_a_field_leaves_only_its_document_without_a_stub():
    feed = data("meteoalarm-atom-latvia-complete.xml").decode()
    # Drop <cap:expires> from the last Jelgava entry only.
    head, _, tail = feed.rpartition("<cap:expires>2026-10-10T03:00:00+00:00</cap:expires>")
    result = read((head + tail).encode())
    items = items_by_id(result)
    assert items[JELGAVA].stub is None
    assert items[JELGAVA].cap_url == CAP_LINK + "5b0e2c7a-9d41-4f3e-8a61-2f7c0d9e4b18"
    assert items[SEA].stub is not None
    assert items[JELGAVA].stub_problem == f"{JELGAVA}: entry 3 has no cap:expires"


def test_entry_with_an_open_polygon_gets_cap_parsers_reason():
    feed = data("meteoalarm-atom-latvia-complete.xml").replace(
        b"56.648000,23.733000 56.654000,23.731000", b"56.648000,23.733000 56.650000,23.731000")
    result = read(feed)
    assert items_by_id(result)[JELGAVA].stub is None
    assert "open polygon" in items_by_id(result)[JELGAVA].stub_problem


@pytest.mark.parametrize(("title", "level", "type_code"), [
    ("Green Wind Warning issued for Latvia - Riga", 1, 1),
    ("Red Low-temperature Warning issued for Ireland - Ireland", 4, 6),
    ("Yellow Coastalevent Warning issued for Latvia - Riga", 2, 7),
    ("Orange Strange-weather Warning issued for Latvia - Riga", 3, None),  # no such type
    ("Thunderstormwarning issued for Austria - Wien", None, None),  # no colour word
])
def test_title_gives_level_and_type_only_when_unambiguous(title, level, type_code):
    feed = data("meteoalarm-atom-latvia-complete.xml").replace(
        b"Yellow Wind Warning issued for Latvia - Gulf of Riga West", title.encode())
    info = items_by_id(read(feed))[SEA].stub.infos[0]
    assert (info.awareness_level, info.awareness_type) == (level, type_code)


def test_france_feed_carries_nuts3_geocodes():
    items = items_by_id(read(data("meteoalarm-atom-france-*.xml")))
    assert len(items) == 2
    update = items["2.49.0.0.250.0.FR.20221207060126.964028"].stub
    assert update.msg_type == "Update"
    info = update.infos[0]
    assert (info.awareness_level, info.awareness_type_name) == (2, "avalanches")
    assert info.expires == datetime(2022, 12, 7, 5, 1, tzinfo=UTC)  # already ended
    assert len(info.areas) == 6
    assert {code for area in info.areas for code in area.geocodes} >= {("NUTS3", "FR718")}


def test_ireland_feed_has_sixteen_documents_with_polygons():
    items = items_by_id(read(data("meteoalarm-atom-ireland-*.xml")))
    assert len(items) == 16
    assert all(item.stub is not None for item in items.values())
    item = items["2.49.0.1.372.0.221206232741.M_LowTemp003"]
    assert item.cap_url == ("https://feeds.meteoalarm.org/api/v1/warnings/feeds-ireland/"
                            "558830a2-74a1-402a-915c-ab365ec68d25")
    (area,) = item.stub.infos[0].areas
    assert area.area_desc == "Ireland"
    assert len(area.polygons) == 6  # as in the CAP document the entries came from
    assert ("FIPS", "EI10") in area.geocodes
    assert item.stub.infos[0].awareness_type_name == "low-temperature"


def test_uk_feed_carries_emma_ids():
    items = items_by_id(read(data("meteoalarm-atom-united-kingdom-*.xml")))
    assert len(items) == 4
    areas = [area for item in items.values() for area in item.stub.infos[0].areas]
    assert all(area.geocodes[0][0] == "EMMA_ID" for area in areas)
    assert ("Yorkshire & Humber", (("EMMA_ID", "UK111"),)) in [
        (area.area_desc, area.geocodes) for area in areas]


def test_empty_feed_means_nothing_in_force():
    feed = data("meteoalarm-atom-latvia-complete.xml").decode()
    empty = feed[:feed.index("<entry>")] + "</feed>"
    result = read(empty.encode())
    assert (result.kind, result.items) == ("atom", ())


# -- Meteoalarm JSON and its conversion ----------------------------------------------------


def json_warnings() -> list[dict]:
    return json.loads(data("meteoalarm-json-latvia-complete.json"))["warnings"]


def test_json_list_carries_every_document_in_full():
    result = read(data("meteoalarm-json-latvia-complete.json"), content_type="application/json")
    assert (result.kind, result.lists_all_in_force, len(result.items)) == ("json", False, 8)
    for item, warning in zip(result.items, json_warnings(), strict=True):
        doc = cap.parse(item.cap_bytes)
        assert item.identifier == doc.identifier == warning["alert"]["identifier"]
        assert (item.cap_url, item.stub) == (None, None)


def test_json_alerts_convert_to_valid_cap_with_both_languages():
    schema = xmlschema.XMLSchema(DATA / "CAP-v1.2.xsd")
    docs = []
    for warning in json_warnings():
        xml = to_cap_xml(warning["alert"])
        schema.validate(xml.decode())
        docs.append(cap.parse(xml))
    riga_fog, gulf = docs[0], docs[1]
    assert [i.language for i in riga_fog.infos] == ["en-GB", "lv"]
    en, lv = riga_fog.infos
    assert (en.awareness_level, en.awareness_type_name) == (2, "fog")
    assert lv.event == "Dzeltenais miglas brīdinājums"
    assert lv.areas[0].area_desc == "Rīga"
    assert len(en.areas[0].polygons) == 1 and en.areas[0].geocodes == ()
    assert gulf.msg_type == "Update"
    assert gulf.references[0].identifier == "2.49.0.0.428.0.LV.261004195518.103585"
    assert [a.geocodes for a in gulf.infos[0].areas] == [
        (("EMMA_ID", "LV801"),), (("EMMA_ID", "LV802"),), (("EMMA_ID", "LV804"),)]
    assert gulf.infos[1].areas[0].area_desc == "Rīgas līča dienvidu daļa"


def test_missing_json_field_stays_missing_for_cap_parse_to_reject():
    alert = json_warnings()[0]["alert"]
    del alert["sent"]
    with pytest.raises(cap.CapRejected, match="missing <sent> in alert"):
        cap.parse(to_cap_xml(alert))


@pytest.mark.parametrize(("alert", "reason"), [
    (["not", "an", "object"], "alert is a list, not an object"),
    ({"identifier": {"id": 1}}, "identifier in alert is an object, not text"),
    ({"info": [42]}, "info 1 of alert is a number, not an object"),
    ({"info": [{"category": True}]}, "category in info 1 of alert is a boolean, not a list"),
])
def test_odd_json_types_are_refused_with_the_field(alert, reason):
    with pytest.raises(ValueError) as caught:
        to_cap_xml(alert)
    assert str(caught.value) == reason


def test_one_broken_json_warning_is_left_out_and_the_others_kept():
    warnings = json_warnings()
    warnings[1]["alert"]["info"] = "broken"
    warnings[2] = {"uuid": "no-alert"}
    result = read(json.dumps({"warnings": warnings}).encode())
    assert len(result.items) == 6
    assert result.problems == (
        "2.49.0.0.428.0.LV.261005180519.103602: info 1 of alert is text, not an object",
        "warning 3 has no alert identifier",
    )


# -- LVĢMC list.php and single CAP documents -----------------------------------------------


def test_lvgmc_list_paths_resolve_against_the_list_url():
    paths = ["data/publishedCap/20261009201318/20261009201318_0001_ALERT_wind.xml",
             "/data/publishedCap/20261009201318/20261009201318_0002_UPDATE_fog.xml"]
    # PHP answers text/html unless told otherwise: the content decides.
    result = read(json.dumps(paths).encode(), url=LIST_URL, content_type="text/html")
    assert (result.kind, result.lists_all_in_force) == ("lvgmc-list", True)
    assert [item.cap_url for item in result.items] == [
        "https://bridinajumi.meteo.lv/data/publishedCap/20261009201318/"
        "20261009201318_0001_ALERT_wind.xml",
        "https://bridinajumi.meteo.lv/data/publishedCap/20261009201318/"
        "20261009201318_0002_UPDATE_fog.xml"]
    assert all(item.cap_bytes is None and item.stub is None for item in result.items)


@pytest.mark.parametrize("body", [b"null", b"[]", b" [ ]\n"])
def test_lvgmc_list_with_nothing_in_force(body):
    result = read(body, url=LIST_URL)
    assert (result.kind, result.items, result.lists_all_in_force) == ("lvgmc-list", (), True)


def test_lvgmc_list_with_a_bad_entry_is_refused_whole():
    # Leaving the entry out would end a warning that is still in force.
    assert rejected(b'["data/a.xml", 5]', url=LIST_URL) == "LVĢMC list has an entry that is not a path"


def test_single_cap_document_is_one_item_with_its_bytes():
    body = data("lvgmc-jelgava-municipality-orange-wind.xml")
    url = "https://bridinajumi.meteo.lv/data/publishedCap/x.xml"
    result = read(body, url=url, content_type="application/cap+xml")
    (item,) = result.items
    assert result.kind == "cap"
    assert (item.identifier, item.cap_url, item.cap_bytes, item.stub) == (
        "2.49.0.0.428.0.LV.261024182718.104215", url, body, None)


# -- wrong and hostile input ---------------------------------------------------------------


@pytest.mark.parametrize(("body", "content_type", "reason"), [
    (b"<!DOCTYPE html><html><body>Moved</body></html>", "text/html",
     "wrong content type text/html"),
    (b"<html><head><title>404</title></head></html>", None, "wrong content type text/html"),
    (b"<!DOCTYPE html><html></html>", "application/xml", "an HTML page served as application/xml"),
    (b"Service temporarily unavailable", "text/plain", "wrong content type text/plain"),
    (b'<rss version="2.0"><channel/></rss>', "application/rss+xml",
     "neither an Atom feed nor a CAP 1.2 document (root rss)"),
    (b'{"type": "FeatureCollection"}', "application/json",
     "JSON is neither Meteoalarm's warnings list nor LVĢMC's list"),
    (b'{"warnings": ', "application/json", "not valid JSON: Expecting value: line 1 column 14 (char 13)"),
])
def test_wrong_content_is_rejected_with_a_reason(body, content_type, reason):
    assert rejected(body, content_type=content_type) == reason


def test_oversize_and_not_modified_bodies_are_not_read():
    with pytest.raises(SourceRejected, match="larger than 100 bytes"):
        read_source(fetched(b"<feed/>" * 20), max_bytes=100)
    with pytest.raises(SourceRejected, match="not modified"):
        read_source(Fetched(ATOM_URL, True, b"", '"a"', None, None), max_bytes=100)


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.serve("/secret", b"the operator's notes", content_type="text/plain")
        yield server


def atom_with(doctype: str, title: str) -> bytes:
    return (f'<?xml version="1.0"?>\n{doctype}\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{title}</title></feed>").encode()


def hostile_feeds(secret_url: str) -> dict[str, bytes]:
    lol = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    return {
        "billion laughs": atom_with(f'<!DOCTYPE feed [<!ENTITY lol0 "lol">{lol}]>', "&lol9;"),
        "quadratic blow-up": atom_with(f'<!DOCTYPE feed [<!ENTITY a "{"x" * 50_000}">]>',
                                       "&a;" * 10_000),
        "external file": atom_with('<!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                                   "&x;"),
        "external http": atom_with(f'<!DOCTYPE feed [<!ENTITY x SYSTEM "{secret_url}">]>', "&x;"),
        "external DTD": atom_with(f'<!DOCTYPE feed SYSTEM "{secret_url}">', "LV"),
    }


def test_hostile_feeds_are_refused_without_fetching_anything(feeds):
    fetcher = Fetcher(timeout=5, max_bytes=MAX_BYTES, max_redirects=3)
    for name, body in hostile_feeds(feeds.url("/secret")).items():
        fetched_feed = fetcher.get(feeds.serve(f"/{name.replace(' ', '-')}", body))
        with pytest.raises(SourceRejected) as caught:
            read_source(fetched_feed, max_bytes=MAX_BYTES)
        assert caught.value.reason == "DTD is not allowed", name
    fetcher.close()
    assert feeds.hits["/secret"] == 0
