"""What a volunteer can offer, as data: skills, driving-licence categories and
languages, with their names in Latvian and English."""

from __future__ import annotations

SKILLS: dict[str, dict[str, str]] = {
    "first_aid": {"lv": "Pirmā palīdzība", "en": "First aid"},
    "driving": {"lv": "Transportlīdzekļa vadīšana", "en": "Driving"},
    "chainsaw": {"lv": "Darbs ar motorzāģi", "en": "Chainsaw"},
    "boat": {"lv": "Laivas vadīšana", "en": "Boat handling"},
    "languages": {"lv": "Svešvalodas, tulkošana", "en": "Languages, interpreting"},
    "it": {"lv": "IT un sakari", "en": "IT and communications"},
    "psychological_support": {"lv": "Psiholoģiskais atbalsts", "en": "Psychological support"},
    "cooking": {"lv": "Ēdiena gatavošana", "en": "Cooking"},
    "logistics": {"lv": "Loģistika, noliktava", "en": "Logistics, warehouse"},
    "animal_care": {"lv": "Dzīvnieku aprūpe", "en": "Care for animals"},
    "care": {"lv": "Cilvēku aprūpe", "en": "Caring for people"},
    "construction": {"lv": "Celtniecība, remonts", "en": "Construction, repairs"},
    "sandbagging": {"lv": "Smilšu maisi, pretplūdu darbi", "en": "Sandbags, flood defence"},
    "radio": {"lv": "Radiosakari", "en": "Radio communications"},
}

# Latvian driving-licence categories (Road Traffic Law).
LICENCE_CATEGORIES = ("AM", "A1", "A2", "A", "B1", "B", "BE", "C1", "C1E", "C", "CE",
                      "D1", "D1E", "D", "DE", "TR1", "TR2")

LANGUAGES: dict[str, dict[str, str]] = {
    "lv": {"lv": "latviešu", "en": "Latvian"},
    "en": {"lv": "angļu", "en": "English"},
    "ru": {"lv": "krievu", "en": "Russian"},
    "de": {"lv": "vācu", "en": "German"},
    "lt": {"lv": "lietuviešu", "en": "Lithuanian"},
    "uk": {"lv": "ukraiņu", "en": "Ukrainian"},
    "pl": {"lv": "poļu", "en": "Polish"},
    "fr": {"lv": "franču", "en": "French"},
    "sgn": {"lv": "zīmju valoda", "en": "Sign language"},
}

WEEKDAYS: dict[int, dict[str, str]] = {
    0: {"lv": "pirmdiena", "en": "Monday"},
    1: {"lv": "otrdiena", "en": "Tuesday"},
    2: {"lv": "trešdiena", "en": "Wednesday"},
    3: {"lv": "ceturtdiena", "en": "Thursday"},
    4: {"lv": "piektdiena", "en": "Friday"},
    5: {"lv": "sestdiena", "en": "Saturday"},
    6: {"lv": "svētdiena", "en": "Sunday"},
}


def name_of(table: dict[str, dict[str, str]] | dict[int, dict[str, str]], code: object,
            language: str) -> str:
    """The name of ``code`` in ``language`` (else Latvian); the code itself if unknown."""
    names = table.get(code)  # type: ignore[call-overload]
    if names is None:
        return str(code)
    return names.get(language) or names["lv"]
