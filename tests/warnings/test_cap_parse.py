"""CAP 1.2 parsing: real member documents, an LVĢMC-format Jelgava document, and hostile input."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sargs.warnings import cap
from sargs.warnings.cap import CapRejected, Reference, info_for_language, parse

DATA = Path(__file__).parent / "data"
RIGA_SUMMER = timezone(timedelta(hours=3))
RIGA_WINTER = timezone(timedelta(hours=2))


def sample(name: str) -> bytes:
    (path,) = DATA.glob(name)
    return path.read_bytes()


def jelgava() -> bytes:
    return sample("lvgmc-jelgava-municipality-orange-wind.xml")


# -- real documents -------------------------------------------------------------------


def test_france_update_all_clear_parses_with_its_real_values():
    doc = parse(sample("cap-france-update-*.xml"))
    assert doc.identifier == "2.49.0.0.250.0.FR.20221207060126.964028"
    assert doc.sender == "vigilance@meteo.fr"
    assert doc.sent == datetime(2022, 12, 7, 5, 1, 26, tzinfo=UTC)
    assert (doc.status, doc.msg_type, doc.scope) == ("Actual", "Update", "Public")
    assert doc.references == (Reference(
        "vigilance@meteo.fr", "2.49.0.0.250.0.FR.20221206160108.315028",
        datetime(2022, 12, 6, 15, 1, 8, tzinfo=UTC)),)
    assert [i.language for i in doc.infos] == ["fr-FR", "en-GB"]
    en = info_for_language(doc)  # no Latvian block: English is chosen
    assert en.language == "en-GB"
    assert en.event == "Moderate avalanches warning"
    assert en.response_type == "AllClear"
    assert en.expires == en.effective == datetime(2022, 12, 7, 5, 1, tzinfo=UTC)
    assert (en.awareness_level, en.awareness_colour) == (2, "yellow")
    assert (en.awareness_type, en.awareness_type_name) == (9, "avalanches")
    assert [a.area_desc for a in en.areas][:2] == ["Alpes de Haute Provence", "Hautes Alpes"]
    assert en.areas[3].geocodes == (("NUTS3", "FR714"),)
    assert all(a.polygons == () for a in en.areas)
    assert info_for_language(doc, "fr").event == "Vigilance jaune avalanches"


def test_uk_alert_with_capitalised_labels_parses():
    doc = parse(sample("cap-uk-alert-*.xml"))
    assert doc.identifier == "2.49.0.0.826.0.GB_221207102835_a705d176.v1.0.SI"
    assert (doc.msg_type, doc.references) == ("Alert", ())
    (info,) = doc.infos
    # "2; Yellow; Moderate" and "2; Snow-Ice": only the numbers are trusted.
    assert (info.awareness_level, info.awareness_colour) == (2, "yellow")
    assert (info.awareness_type, info.awareness_type_name) == (2, "snow-ice")
    assert info.onset == datetime(2022, 12, 8, 16, 0, tzinfo=UTC)
    assert info.expires == datetime(2022, 12, 9, 12, 0, tzinfo=UTC)
    assert info.headline == "Some disruption is likely due to icy surfaces."
    assert len(info.areas) == 10
    assert info.areas[-1].area_desc == "Yorkshire & Humber"
    assert info.areas[-1].geocodes == (("EMMA_ID", "UK111"),)


def test_ireland_alert_with_polygons_and_empty_instruction_parses():
    doc = parse(sample("cap-ireland-alert-*.xml"))
    assert doc.identifier == "2.49.0.1.372.0.221206232741.M_LowTemp003"
    assert doc.sent == datetime(2022, 12, 6, 23, 27, 41, tzinfo=UTC)  # "-00:00"
    (info,) = doc.infos
    assert info.instruction is None  # <instruction/> is no instruction
    assert (info.awareness_type, info.awareness_type_name) == (6, "low-temperature")
    (area,) = info.areas
    assert area.area_desc == "Ireland"
    assert len(area.polygons) == 6
    assert area.polygons[0][0] == area.polygons[0][-1] == (53.7762, -7.40536)
    assert ("FIPS", "EI10") in area.geocodes and len(area.geocodes) == 26


# -- an LVĢMC-format document for Jelgava ---------------------------------------------------


def test_lvgmc_jelgava_document_every_field():
    doc = parse(jelgava())
    assert doc.identifier == "2.49.0.0.428.0.LV.261024182718.104215"
    assert doc.sender == "http://www.lvgmc.lv"
    assert doc.sent == datetime(2026, 10, 24, 18, 27, 18, tzinfo=RIGA_SUMMER)
    assert doc.sent.utcoffset() == timedelta(hours=3)
    assert (doc.status, doc.msg_type, doc.scope) == ("Actual", "Update", "Public")
    assert doc.references == (Reference(
        "http://www.lvgmc.lv", "2.49.0.0.428.0.LV.261024121518.104201",
        datetime(2026, 10, 24, 12, 15, 18, tzinfo=RIGA_SUMMER)),)
    en, lv = doc.infos
    assert (en.language, lv.language) == ("en-GB", "lv")
    for info in (en, lv):
        assert (info.category, info.categories) == ("Met", ("Met",))
        assert (info.urgency, info.severity, info.certainty) == ("Immediate", "Severe", "Likely")
        assert info.response_type == "Monitor"
        assert info.effective == datetime(2026, 10, 24, 18, 27, 18, tzinfo=RIGA_SUMMER)
        assert info.onset == datetime(2026, 10, 24, 21, 0, tzinfo=RIGA_SUMMER)
        # The warning ends after summer time does: +02:00 is kept, the instant is right.
        assert info.expires == datetime(2026, 10, 25, 4, 0, tzinfo=UTC)
        assert info.expires == datetime(2026, 10, 25, 6, 0, tzinfo=RIGA_WINTER)
        assert info.expires.utcoffset() == timedelta(hours=2)
        assert (info.awareness_level, info.awareness_colour) == (3, "orange")
        assert (info.awareness_type, info.awareness_type_name) == (1, "wind")
        assert info.parameters == (("awareness_level", "3; orange; Severe"), ("awareness_type", "1; Wind"))
        assert info.web == "https://bridinajumi.meteo.lv/"
        assert (info.headline, info.instruction) == (None, None)
        (area,) = info.areas
        (ring,) = area.polygons
        assert area.geocodes == ()
        assert len(ring) == 32 and ring[0] == ring[-1] == (56.6557, 24.0389)
        assert all(56 < lat < 57.2 and 23.2 < lon < 24.5 for lat, lon in ring)
    assert en.event == "Orange Wind Warning"
    assert lv.event == "Oranžais vēja brīdinājums"
    assert en.areas[0].area_desc == "Jelgava municipality"
    assert lv.areas[0].area_desc == "Jelgavas novads"
    assert en.sender_name == en.contact == "Latvian Environment, Geology and Meteorology Centre"
    assert lv.sender_name == "Latvijas Vides, ģeoloģijas un meteoroloģijas centrs"
    assert en.description.startswith("In Jelgava municipality gusts")
    assert lv.description.splitlines()[1] == "Riski: koku gāšanās, elektrolīniju un jumtu bojājumi."


def test_records_are_immutable():
    doc = parse(jelgava())
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.identifier = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.infos[0].expires = None
    assert isinstance(doc.infos, tuple) and isinstance(doc.infos[0].areas[0].polygons[0], tuple)


def test_info_for_language_prefers_lv_then_english_then_first():
    doc = parse(jelgava())
    assert info_for_language(doc).language == "lv"
    assert info_for_language(doc, "en").language == "en-GB"
    assert info_for_language(doc, "de").language == "en-GB"
    fr_only = parse(jelgava().replace(b"<language>en-GB<", b"<language>fr-FR<")
                    .replace(b"<language>lv<", b"<language>de-DE<"))
    assert info_for_language(fr_only).language == "fr-FR"


def test_unknown_awareness_type_is_kept_as_its_code():
    doc = parse(jelgava().replace(b"1; Wind", b"14; Polar-low"))
    assert (doc.infos[0].awareness_type, doc.infos[0].awareness_type_name) == (14, None)


def test_green_level_is_parsed_as_green():
    doc = parse(jelgava().replace(b"3; orange; Severe", b"1; green; Minor"))
    assert (doc.infos[1].awareness_level, doc.infos[1].awareness_colour) == (1, "green")


# -- hostile and broken input ---------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE alert [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>"""

QUADRATIC = (b'<?xml version="1.0"?>\n<!DOCTYPE alert [<!ENTITY a "' + b"x" * 50_000 + b'">]>\n'
             b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>'
             + b"&a;" * 20_000 + b"</identifier></alert>")


def xxe(system_id: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE alert [<!ENTITY x SYSTEM "{system_id}">]>\n'
            '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>').encode()


@pytest.mark.parametrize("data", [
    pytest.param(BILLION_LAUGHS, id="billion-laughs"),
    pytest.param(QUADRATIC, id="quadratic-blowup"),
    pytest.param(xxe("file:///etc/passwd"), id="external-entity-file"),
    pytest.param(xxe("http://127.0.0.1:9/secret"), id="external-entity-http"),
    pytest.param(b'<?xml version="1.0"?>\n<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd">\n'
                 + jelgava().split(b"?>", 1)[1], id="external-dtd"),
])
def test_documents_with_a_dtd_are_refused_before_any_expansion(data):
    with pytest.raises(CapRejected) as err:
        parse(data)
    assert err.value.reason == "DTD is not allowed"


def test_twenty_megabyte_document_is_refused_without_parsing(monkeypatch):
    def parser_must_not_run(*args, **kwargs):
        raise AssertionError("the parser was called")

    monkeypatch.setattr(cap.safe_xml, "fromstring", parser_must_not_run)
    padding = b"<!--" + b"x" * (20 * 1024 * 1024) + b"-->"
    big = jelgava().replace(b"</alert>", padding + b"</alert>")
    with pytest.raises(CapRejected) as err:
        parse(big)
    assert err.value.reason == "document larger than 2000000 bytes"
    with pytest.raises(CapRejected, match="larger than 1000 bytes"):
        parse(jelgava(), max_bytes=1000)


def test_truncated_document_is_refused_as_not_well_formed():
    with pytest.raises(CapRejected) as err:
        parse(jelgava()[:1500])
    assert err.value.reason.startswith("not well-formed XML: ")


def test_truncated_real_meteoalarm_feed_is_refused():
    with pytest.raises(CapRejected, match="^not well-formed XML"):
        parse(sample("cap-uk-alert-*.xml")[:-200])


@pytest.mark.parametrize("old, new, reason", [
    (b"<expires>2026-10-25T06:00:00+02:00</expires>", b"",
     "missing <expires> in info 1"),
    (b"<sent>2026-10-24T18:27:18+03:00</sent>", b"<sent>2026-10-24T18:27:18</sent>",
     "time without an offset: sent"),
    (b"<onset>2026-10-24T21:00:00+03:00</onset>", b"<onset>2026-10-24T21:00:00</onset>",
     "time without an offset: onset in info 1"),
    (b",2026-10-24T12:15:18+03:00</references>", b",2026-10-24T12:15:18</references>",
     "time without an offset: sent in references"),
    (b"<sent>2026-10-24T18:27:18+03:00</sent>", b"<sent>yesterday</sent>",
     "not a date-time: sent 'yesterday'"),
    (b"<identifier>2.49.0.0.428.0.LV.261024182718.104215</identifier>", b"",
     "missing <identifier> in alert"),
    (b"<severity>Severe</severity>", b"", "missing <severity> in info 1"),
    (b"<status>Actual</status>", b"<status>Real</status>", "unknown <status> 'Real' in alert"),
    (b"3; orange; Severe", b"0; white; Unknown", "unknown awareness_level '0; white; Unknown' in info 1"),
    (b"<areaDesc>Jelgava municipality</areaDesc>", b"", "missing <areaDesc> in info 1 area 1"),
    (b",2026-10-24T12:15:18+03:00</references>", b"</references>",
     "reference is not sender,identifier,sent: 'http://www.lvgmc.lv,2.49.0.0.428.0.LV.261024121518.104201'"),
    (b"urn:oasis:names:tc:emergency:cap:1.2", b"urn:oasis:names:tc:emergency:cap:1.1",
     "not a CAP 1.2 document (namespace urn:oasis:names:tc:emergency:cap:1.1, root alert)"),
])
def test_broken_documents_are_refused_with_a_specific_reason(old, new, reason):
    data = jelgava()
    assert old in data  # the mutation must really happen
    with pytest.raises(CapRejected) as err:
        parse(data.replace(old, new, 1))
    assert err.value.reason == reason


def test_open_polygon_is_refused():
    doc = jelgava()
    start = doc.index(b"<polygon>") + len(b"<polygon>")
    end = doc.index(b"</polygon>")
    ring = doc[start:end].split()
    opened = doc[:start] + b" ".join(ring[:-1]) + doc[end:]
    with pytest.raises(CapRejected) as err:
        parse(opened)
    assert err.value.reason == "open polygon (first point is not the last) in info 1 area 1"


def test_polygon_with_a_bad_point_is_refused():
    data = jelgava().replace(b"<polygon>56.6557,24.0389", b"<polygon>56.6557;24.0389", 1)
    with pytest.raises(CapRejected, match="^polygon point '56.6557;24.0389' is not lat,lon in info 1 area 1$"):
        parse(data)


def test_a_document_without_namespace_is_refused():
    with pytest.raises(CapRejected) as err:
        parse(b"<alert><identifier>x</identifier></alert>")
    assert err.value.reason == "not a CAP 1.2 document (namespace none, root alert)"
