"""The texts of alerts made from warnings, in Latvian and English.

The essentials come first — level, what, where, when — so that the first SMS
segment of an orange or red alert says everything that matters even when the
rest is cut; LVĢMC's own text and the advice follow. The level meanings are
LVĢMC's (yellow potentially dangerous, orange dangerous, red very dangerous).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

LEVEL_WORDS = {
    "lv": {"yellow": ("DZELTENAIS", "potenciāli bīstams"), "orange": ("ORANŽAIS", "bīstams"),
           "red": ("SARKANAIS", "ļoti bīstams")},
    "en": {"yellow": ("YELLOW", "potentially dangerous"), "orange": ("ORANGE", "dangerous"),
           "red": ("RED", "very dangerous")},
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
UPGRADED = {"lv": "PAAUGSTINĀTS", "en": "UPGRADED"}
DOWNGRADED = {"lv": "PAZEMINĀTS", "en": "DOWNGRADED"}
CHANGED = {"lv": "IZMAIŅAS", "en": "CHANGED"}
ENDED = {
    "lv": "BEIDZIES: {type} brīdinājums ({area}) vairs nav spēkā. Avots: LVĢMC.",
    "en": "ENDED: the {type} warning ({area}) is no longer in force. Source: LVĢMC.",
}
SOURCE_LINE = {"lv": "Avots: LVĢMC, meteoalarm.org, izdots {sent}.",
               "en": "Source: LVĢMC, meteoalarm.org, issued {sent}."}
# LVĢMC's description is long; the alert keeps its first part (the page has it all).
DESCRIPTION_MAX = 320
LANGUAGES = ("lv", "en")


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


def essentials(language: str, level: str, type_name: str | None, area: str,
               onset: datetime | None, expires: datetime, zone: tzinfo) -> str:
    """"SARKANAIS vēja brīdinājums (ļoti bīstams): Jelgavas pilsēta, 24.11. 21:00–25.11. 06:00."""
    colour, meaning = LEVEL_WORDS[language][level]
    validity = f"{_when(onset, zone)}–{_when(expires, zone)}" if onset else \
        f"–{_when(expires, zone)}"
    return (f"{colour} {_type(language, type_name)} {WARNING_WORD[language]} ({meaning}): "
            f"{area}, {validity}.")


def warning_texts(warning: Any, area_names: str, zone: tzinfo, *, prefix: dict[str, str] | None = None,
                  shelter_hint: dict[str, str] | None = None) -> dict[str, str]:
    """Language → alert body for ``warning`` (a WeatherWarning) over ``area_names``."""
    bodies = {}
    for language in LANGUAGES:
        parts = [essentials(language, warning.level, warning.type_name, area_names,
                            warning.onset, warning.expires, zone)]
        if prefix:
            parts[0] = f"{prefix[language]}: {parts[0]}"
        description = _description(warning.texts or {}, language)
        if description:
            parts.append(description)
        parts.append(ADVICE[language][warning.level])
        if shelter_hint and shelter_hint.get(language):
            parts.append(shelter_hint[language])
        parts.append(SOURCE_LINE[language].format(sent=_when(warning.sent, zone)))
        bodies[language] = " ".join(parts)
    return bodies


def ended_texts(warning: Any, area_names: str) -> dict[str, str]:
    return {language: ENDED[language].format(type=_type(language, warning.type_name),
                                             area=area_names)
            for language in LANGUAGES}
