"""Complete LVĢMC CAP 1.2 documents in the real format, for the Jelgava scenarios.

The shape follows the real documents (Meteoalarm's JSON list for Latvia, see
tests/warnings/data/SOURCES.md): identifier 2.49.0.0.428.0.LV.<yyMMddHHmmss>.<serial>,
sender http://www.lvgmc.lv, local offsets, an en-GB and an lv info block, awareness
parameters, land warnings as municipality polygons, sea areas as EMMA_ID geocodes,
Updates referencing only the version before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from xml.sax.saxutils import escape

from sargs.demo.lvgmc import polygon_of  # the shipped outlines as CAP polygons

RIGA_WINTER = timezone(timedelta(hours=2))
SENDER = "http://www.lvgmc.lv"
LEVELS = {2: ("yellow", "Moderate", "Yellow", "Dzeltenais"),
          3: ("orange", "Severe", "Orange", "Oranžais"),
          4: ("red", "Extreme", "Red", "Sarkanais")}
TYPES = {1: ("Wind", "vēja"), 4: ("Fog", "miglas"), 10: ("Rain", "lietus")}
AREA_NAMES = {"LV022": ("Jelgava", "Jelgava"), "LV023": ("Jelgava municipality", "Jelgavas novads"),
              "LV039": ("Riga", "Rīga"), "LV801": ("Southern Gulf of Riga", "Rīgas līča dienvidu daļa")}


def identifier(sent: datetime, serial: int) -> str:
    return f"2.49.0.0.428.0.LV.{sent.astimezone(RIGA_WINTER):%y%m%d%H%M%S}.{serial}"


@dataclass
class Doc:
    serial: int
    sent: datetime
    level: int = 2
    type_code: int = 1
    onset: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 15, 0, tzinfo=RIGA_WINTER))
    expires: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 6, 0, tzinfo=RIGA_WINTER))
    areas: tuple[str, ...] = ("LV022",)
    msg_type: str = "Alert"
    previous: Doc | None = None
    status: str = "Actual"
    response_type: str = "Monitor"

    @property
    def identifier(self) -> str:
        return identifier(self.sent, self.serial)

    def update(self, serial: int, sent: datetime, **changes: object) -> Doc:
        values = dict(level=self.level, type_code=self.type_code, onset=self.onset,
                      expires=self.expires, areas=self.areas, status=self.status)
        values.update(changes)
        return Doc(serial, sent, msg_type="Update", previous=self, **values)  # type: ignore[arg-type]

    def xml(self) -> bytes:
        references = ""
        if self.previous is not None:
            p = self.previous
            references = (f"<references>{SENDER},{p.identifier},"
                          f"{p.sent.astimezone(RIGA_WINTER).isoformat()}</references>")
        infos = "".join(self._info(language) for language in ("en-GB", "lv"))
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
            f"<identifier>{self.identifier}</identifier><sender>{SENDER}</sender>"
            f"<sent>{self.sent.astimezone(RIGA_WINTER).isoformat()}</sent>"
            f"<status>{self.status}</status><msgType>{self.msg_type}</msgType>"
            f"<scope>Public</scope>{references}<incidents>{self.msg_type}</incidents>{infos}"
            "</alert>"
        ).encode()

    def _info(self, language: str) -> str:
        colour, severity, colour_en, colour_lv = LEVELS[self.level]
        type_en, type_lv = TYPES[self.type_code]
        english = language == "en-GB"
        event = f"{colour_en} {type_en} Warning" if english else f"{colour_lv} {type_lv} brīdinājums"
        where = " un ".join(AREA_NAMES[c][0 if english else 1] for c in self.areas)
        text = (f"In {where} {type_en.lower()} gusts up to 25 m/s are expected." if english
                else f"{where}: gaidāmas vēja brāzmas līdz 25 m/s.")
        areas = "".join(self._area(code, english) for code in self.areas)
        return (
            f"<info><language>{language}</language><category>Met</category>"
            f"<event>{escape(event)}</event><responseType>{self.response_type}</responseType>"
            f"<urgency>Immediate</urgency><severity>{severity}</severity>"
            "<certainty>Likely</certainty>"
            f"<effective>{self.sent.astimezone(RIGA_WINTER).isoformat()}</effective>"
            f"<onset>{self.onset.isoformat()}</onset><expires>{self.expires.isoformat()}</expires>"
            "<senderName>Latvian Environment, Geology and Meteorology Centre</senderName>"
            f"<description>{escape(text)}</description><web>https://bridinajumi.meteo.lv/</web>"
            f"<parameter><valueName>awareness_level</valueName>"
            f"<value>{self.level}; {colour}; {severity}</value></parameter>"
            f"<parameter><valueName>awareness_type</valueName>"
            f"<value>{self.type_code}; {type_en}</value></parameter>{areas}</info>"
        )

    @staticmethod
    def _area(code: str, english: bool) -> str:
        name = AREA_NAMES[code][0 if english else 1]
        if code.startswith("LV8"):  # sea areas carry the EMMA_ID, no polygon
            return (f"<area><areaDesc>{escape(name)}</areaDesc><geocode><valueName>EMMA_ID"
                    f"</valueName><value>{code}</value></geocode></area>")
        return f"<area><areaDesc>{escape(name)}</areaDesc><polygon>{polygon_of(code)}</polygon></area>"


ATOM_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">'
    '<link type="application/atom+xml" rel="self" '
    'href="https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-latvia"/>'
    "<rights>Copyright © 2026 MeteoAlarm.Org. Licensed under terms equivalent to CC BY 4.0, "
    "with additional requirements for redistributing outlined in our Terms and Conditions.</rights>"
    "<generator>MeteoAlarm Producer Server</generator>"
    "<id>tag:meteoalarm.org,2021-02-19:LV</id>"
    "<title>MeteoAlarm - Alerting Europe for Extreme Weather</title>"
)


def atom_feed(documents: list[tuple[Doc, str]], updated: datetime | None = None) -> bytes:
    """Meteoalarm's Atom feed for Latvia over ``(document, CAP link)`` pairs: one entry per
    document × area, English only, times in UTC, the colour only in the title."""
    def utc(value: datetime) -> str:
        return value.astimezone(UTC).isoformat()

    newest = updated or max((doc.sent for doc, _ in documents), default=datetime(2026, 1, 1,
                                                                                 tzinfo=UTC))
    entries = []
    for doc, link in documents:
        _, severity, colour_en, _ = LEVELS[doc.level]
        type_en = TYPES[doc.type_code][0]
        for index, code in enumerate(doc.areas):
            name = AREA_NAMES[code][0]
            where = (f"<cap:geocode><valueName>EMMA_ID</valueName><value>{code}</value>"
                     "</cap:geocode>" if code.startswith("LV8")
                     else f"<cap:polygon>{polygon_of(code)}</cap:polygon>")
            kind = "geocode" if code.startswith("LV8") else "polygon"
            entries.append(
                f"<entry>{where}<cap:areaDesc>{escape(name)}</cap:areaDesc>"
                f"<cap:event>{colour_en} {type_en} Warning</cap:event>"
                f"<cap:sent>{utc(doc.sent)}</cap:sent><cap:expires>{utc(doc.expires)}</cap:expires>"
                f"<cap:effective>{utc(doc.sent)}</cap:effective><cap:onset>{utc(doc.onset)}</cap:onset>"
                f"<cap:certainty>Likely</cap:certainty><cap:severity>{severity}</cap:severity>"
                f"<cap:urgency>Immediate</cap:urgency><cap:scope>Public</cap:scope>"
                f"<cap:message_type>{doc.msg_type}</cap:message_type>"
                f"<cap:status>{doc.status}</cap:status>"
                f"<cap:identifier>{doc.identifier}</cap:identifier>"
                f'<link type="application/cap+xml" href="{escape(link)}"/>'
                f"<published>{utc(doc.sent)}</published>"
                f"<id>{escape(link)}?index_info=0&amp;index_area={index}&amp;index_{kind}=0</id>"
                f"<title>{colour_en} {type_en} Warning issued for Latvia - {escape(name)}</title>"
                f"<updated>{utc(doc.sent)}</updated></entry>"
            )
    return (ATOM_HEAD + f"<updated>{utc(newest)}</updated>" + "".join(entries) + "</feed>").encode()
