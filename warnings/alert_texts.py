"""The texts of alerts made from warnings, in Latvian and English.

The essentials come first — level, what, where, when — and fit the first SMS
segment: Latvian letters make an SMS UCS-2, whose concatenated segments hold 67
characters, and "SARKANAIS vēja brīdinājums Jelgavā 24.11. 21:00–25.11. 06:00."
is 61. The level's meaning (LVĢMC's words: yellow potentially dangerous, orange
dangerous, red very dangerous), what changed, LVĢMC's own text and the advice
follow.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

LEVEL_WORDS = {
    "lv": {"yellow": ("DZELTENAIS", "Potenciāli bīstami laikapstākļi."),
           "orange": ("ORANŽAIS", "Bīstami laikapstākļi."),
           "red": ("SARKANAIS", "Ļoti bīstami laikapstākļi.")},
    "en": {"yellow": ("YELLOW", "Potentially dangerous weather."),
           "orange": ("ORANGE", "Dangerous weather."),
           "red": ("RED", "Very dangerous weather.")},
}
# Where, as a sentence needs it: Latvian in the locative ("Jelgavā" — in Jelgava).
# Other home areas fall back to their name after a colon.
AREA_PHRASES = {
    "lv": {("LV022",): "Jelgavā", ("LV023",): "Jelgavas novadā",
           ("LV022", "LV023"): "Jelgavā un novadā"},
    "en": {("LV022",): "in Jelgava", ("LV023",): "in Jelgava municipality",
           ("LV022", "LV023"): "in Jelgava and its municipality"},
}
# Latvian in the genitive ("vēja brīdinājums" — a warning of wind).
TYPE_WORDS = {
    "lv": {"wind": "vēja", "snow-ice": "sniega un apledojuma", "thunderstorm": "pērkona negaisa",
           "fog": "miglas", "high-temperature": "karstuma", "low-temperature": "sala",
           "coastal-event": "krasta applūšanas", "forest-fire": "meža ugunsbīstamības",
           "avalanches": "lavīnu", "rain": "lietus", "flooding": "plūdu",
           "rain-flood": "lietus un plūdu"},
    "en": {"wind": "wind", "snow-ice": "snow and ice", "thunderstorm": "thunderstorm",
           "fog": "fog", "high-temperature": "heat", "low-temperature": "frost",
           "coastal-event": "coastal flooding", "forest-fire": "forest fire",
           "avalanches": "avalanche", "rain": "rain", "flooding": "flood",
           "rain-flood": "rain and flood"},
}
WARNING_WORD = {"lv": "brīdinājums", "en": "warning"}
UNKNOWN_TYPE = {"lv": "laikapstākļu", "en": "weather"}
ADVICE = {
    "lv": {
        "yellow": "Sekojiet laika prognozei un izvairieties no nevajadzīga riska.",
        "orange": "Sekojiet VUGD un pašvaldības norādījumiem, nostipriniet vai ienesiet "
                  "brīvi novietotas lietas. Palīdzība: 8787, draudi dzīvībai: 112.",
        "red": "Rīkojieties pēc VUGD un pašvaldības norādījumiem, esiet gatavi ārkārtas "
               "pasākumiem, arī evakuācijai. Palīdzība: 8787, draudi dzīvībai: 112.",
    },
    "en": {
        "yellow": "Follow the forecast and avoid needless risk.",
        "orange": "Follow the instructions of the rescue service and the municipality; secure "
                  "or bring in loose objects. Help: 8787, threat to life: 112.",
        "red": "Act on the instructions of the rescue service and the municipality; be ready "
               "for emergency measures, including evacuation. Help: 8787, threat to life: 112.",
    },
}
UPGRADED = {"lv": "Brīdinājums pastiprināts.", "en": "The warning is raised."}
DOWNGRADED = {"lv": "Brīdinājums mazināts.", "en": "The warning is lowered."}
CHANGED = {"lv": "Mainīts brīdinājuma laiks.", "en": "The warning's times changed."}
ENDED = {
    "lv": "BEIDZIES {type} brīdinājums {area}. Tas vairs nav spēkā. Avots: LVĢMC.",
    "en": "ENDED: the {type} warning {area} is no longer in force. Source: LVĢMC.",
}
SOURCE_LINE = {"lv": "Avots: LVĢMC, meteoalarm.org, izdots {sent}.",
               "en": "Source: LVĢMC, meteoalarm.org, issued {sent}."}
# LVĢMC's description is long; the alert keeps its first part (the page has it all).
DESCRIPTION_MAX = 320
LANGUAGES = ("lv", "en")
UNTIL = {"lv": "līdz", "en": "until"}
# Characters of the first segment of a concatenated UCS-2 SMS (any Latvian letter makes
# the whole message UCS-2).
FIRST_SEGMENT = 67


def _when(value: datetime | None, zone: tzinfo) -> str:
    return value.astimezone(zone).strftime("%d.%m. %H:%M") if value else ""


def _type(language: str, type_name: str | None) -> str:
    return TYPE_WORDS[language].get(type_name or "", UNKNOWN_TYPE[language])


def _description(texts: dict[str, Any], language: str) -> str:
    own = texts.get(language) or {}
    text = " ".join((own.get("description") or "").split())
    if len(text) > DESCRIPTION_MAX:
        text = text[:DESCRIPTION_MAX].rsplit(" ", 1)[0] + " …"
    return text


def area_phrase(language: str, codes: list[str], names: list[str]) -> str:
    """"Jelgavā" / "in Jelgava" for the home areas ``codes`` (named ``names``)."""
    known = AREA_PHRASES[language].get(tuple(sorted(codes)))
    if known:
        return known
    joined = ", ".join(names)
    return f"– {joined}" if language == "lv" else f"for {joined}"


def essentials(language: str, level: str, type_name: str | None, place: str,
               onset: datetime | None, expires: datetime, zone: tzinfo) -> str:
    """The first sentence, the longest of these that fits one SMS segment:
    "SARKANAIS vēja brīdinājums Jelgavā 24.11. 21:00–25.11. 06:00.", then without the
    word "brīdinājums", then with the end time only."""
    colour = LEVEL_WORDS[language][level][0]
    hazard = _type(language, type_name)
    end = _when(expires, zone)
    validity = f"{_when(onset, zone)}–{end}" if onset else f"{UNTIL[language]} {end}"
    candidates = (
        f"{colour} {hazard} {WARNING_WORD[language]} {place} {validity}.",
        f"{colour} {hazard} {place} {validity}.",
        f"{colour} {hazard} {place} {UNTIL[language]} {end}.",
    )
    return next((c for c in candidates if len(c) <= FIRST_SEGMENT), candidates[-1])


def warning_texts(warning: Any, codes: list[str], names: list[str], zone: tzinfo, *,
                  change: dict[str, str] | None = None,
                  shelter_hint: dict[str, str] | None = None) -> dict[str, str]:
    """Language → alert body for ``warning`` (a WeatherWarning) over the home areas
    ``codes`` (``names``); ``change`` says what changed since the last alert."""
    bodies = {}
    for language in LANGUAGES:
        place = area_phrase(language, codes, names)
        parts = [essentials(language, warning.level, warning.type_name, place,
                            warning.onset, warning.expires, zone),
                 LEVEL_WORDS[language][warning.level][1]]
        if change:
            parts.append(change[language])
        description = _description(warning.texts or {}, language)
        if description:
            parts.append(description)
        parts.append(ADVICE[language][warning.level])
        if shelter_hint and shelter_hint.get(language):
            parts.append(shelter_hint[language])
        parts.append(SOURCE_LINE[language].format(sent=_when(warning.sent, zone)))
        bodies[language] = " ".join(parts)
    return bodies


def ended_texts(warning: Any, codes: list[str], names: list[str]) -> dict[str, str]:
    return {language: ENDED[language].format(type=_type(language, warning.type_name),
                                             area=area_phrase(language, codes, names))
            for language in LANGUAGES}
