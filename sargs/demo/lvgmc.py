"""The demo's LVĢMC red wind warning for Jelgava: a CAP 1.2 document in LVĢMC's real
format (identifier 2.49.0.0.428.0.LV.<yyMMddHHmmss>.<serial>, sender
http://www.lvgmc.lv, local offsets, an en-GB and an lv info block, the awareness
parameters, land areas as the municipalities' outlines), issued at the moment given."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

RIGA = ZoneInfo("Europe/Riga")
SENDER = "http://www.lvgmc.lv"
AREAS = (("LV022", "Jelgava", "Jelgava"),
         ("LV023", "Jelgava municipality", "Jelgavas novads"))
TEXTS = {
    "en-GB": ("Red Wind Warning",
              "In Jelgava and Jelgava municipality gusts of south-west wind 28-33 m/s are "
              "expected. Risks: falling trees, damage to power lines, roofs and buildings, "
              "traffic disruption."),
    "lv": ("Sarkanais vēja brīdinājums",
           "Jelgavā un Jelgavas novadā gaidāmas dienvidrietumu vēja brāzmas 28-33 m/s. "
           "Riski: krītoši koki, elektrolīniju, jumtu un ēku bojājumi, satiksmes traucējumi."),
}


def polygon_of(code: str) -> str:
    """The shipped outline of ``code`` as a CAP polygon ("lat,lon …", closed)."""
    path = resources.files("sargs.areas") / "data" / "emma" / f"{code}.geojson"
    geometry = json.loads(path.read_text(encoding="utf-8"))["geometry"]
    rings = ([geometry["coordinates"][0]] if geometry["type"] == "Polygon"
             else [polygon[0] for polygon in geometry["coordinates"]])
    ring = max(rings, key=len)
    return " ".join(f"{lat},{lon}" for lon, lat in ring)


def red_wind(sent: datetime, serial: int = 104377) -> bytes:
    """The warning issued at ``sent``: in force from an hour later for sixteen hours."""
    local = sent.astimezone(RIGA).replace(microsecond=0)
    onset, expires = local + timedelta(hours=1), local + timedelta(hours=17)
    identifier = f"2.49.0.0.428.0.LV.{local:%y%m%d%H%M%S}.{serial}"
    infos = "".join(_info(language, local, onset, expires) for language in TEXTS)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"<identifier>{identifier}</identifier><sender>{SENDER}</sender>"
        f"<sent>{local.isoformat()}</sent><status>Actual</status><msgType>Alert</msgType>"
        f"<scope>Public</scope><incidents>Alert</incidents>{infos}</alert>"
    ).encode()


def _info(language: str, sent: datetime, onset: datetime, expires: datetime) -> str:
    event, description = TEXTS[language]
    english = language == "en-GB"
    areas = "".join(
        f"<area><areaDesc>{english_name if english else latvian_name}</areaDesc>"
        f"<polygon>{polygon_of(code)}</polygon></area>"
        for code, english_name, latvian_name in AREAS)
    return (
        f"<info><language>{language}</language><category>Met</category>"
        f"<event>{event}</event><responseType>Prepare</responseType>"
        "<urgency>Immediate</urgency><severity>Extreme</severity>"
        f"<certainty>Likely</certainty><effective>{sent.isoformat()}</effective>"
        f"<onset>{onset.isoformat()}</onset><expires>{expires.isoformat()}</expires>"
        "<senderName>Latvian Environment, Geology and Meteorology Centre</senderName>"
        f"<description>{description}</description><web>https://bridinajumi.meteo.lv/</web>"
        "<parameter><valueName>awareness_level</valueName><value>4; red; Extreme</value>"
        "</parameter><parameter><valueName>awareness_type</valueName><value>1; Wind</value>"
        f"</parameter>{areas}</info>"
    )
