"""The categories, partners and routes a new installation starts with (editable after).

The categories are those of the operational information centre's annual report; the
partners are the organisations Jelgava's 8787 line forwards reports to. Response and
resolution times are working days. Seeded once: a category or partner an administrator
removed or changed is not put back.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sargs.cad.models import CadCategory, CadPartner, CadRoute

# code, Latvian name, English name, search words, response days, resolution days, partner
CATEGORIES: list[tuple[str, str, str, str, int, int, str]] = [
    ("streets", "Ielas un ietves", "Streets and sidewalks",
     "bedre iela ietve asfalts segums pothole road pavement", 1, 10, "jvpi"),
    ("animals", "Klaiņojoši, pazuduši vai savainoti dzīvnieki",
     "Stray, lost or injured animals", "suns kaķis dzīvnieks dog cat animal", 1, 2, "police"),
    ("hydro", "Hidrotehniskās būves", "Hydrotechnical structures",
     "grāvis caurteka meliorācija lietus kanalizācija ditch culvert drain", 1, 10, "jvpi"),
    ("waste", "Atkritumi", "Waste", "atkritumi konteiners izgāztuve waste bin dump", 1, 5,
     "zemgale-eko"),
    ("lighting", "Ielu apgaismojums", "Street lighting",
     "laterna apgaismojums gaisma lamp light", 1, 5, "jvpi"),
    ("greenery", "Apstādījumi un koki", "Greenery and trees",
     "koks zars zāle krūms tree branch grass", 1, 10, "jvpi"),
    ("public-order", "Sabiedriskā kārtība", "Public order",
     "troksnis kārtība policija huligāni noise police", 1, 2, "police"),
    ("water", "Ūdensapgāde un kanalizācija", "Water and sewer",
     "ūdens kanalizācija lūka avārija water sewer manhole", 1, 3, "water"),
    ("heating", "Siltumapgāde", "Heating", "siltums apkure radiators heating", 1, 3, "heating"),
    ("snow-ice", "Sniegs un apledojums", "Snow and ice",
     "sniegs ledus slidens tīrīšana snow ice slippery", 1, 2, "jvpi"),
    ("transport", "Sabiedriskais transports", "Public transport",
     "autobuss pietura satiksme bus stop", 1, 5, "bus"),
    ("buildings", "Ēkas un būves", "Buildings",
     "ēka jumts grausts māja building roof", 1, 15, "property"),
    ("dumping", "Nelegālas atkritumu izgāztuves", "Illegal dumping",
     "izgāztuve izmesti atkritumi dump fly-tipping", 1, 10, "zemgale-eko"),
    ("sorting", "Šķiroto atkritumu konteineri", "Sorted-waste containers",
     "šķirošana stikls papīrs plastmasa recycling", 1, 5, "zemgale-eko"),
    ("traffic", "Satiksmes organizācija", "Traffic signs and signals",
     "zīme luksofors marķējums sign traffic light marking", 1, 5, "jvpi"),
    ("hot-water", "Karstā ūdens apgāde", "Hot water supply",
     "karstais ūdens boileris hot water", 1, 3, "heating"),
    ("stops", "Sabiedriskā transporta pieturas", "Public transport stops",
     "pietura nojume grafiks stop shelter timetable", 1, 5, "bus"),
    ("housing", "Pašvaldības dzīvokļi", "Municipal housing",
     "dzīvoklis īre sociālā māja flat rent housing", 1, 15, "property"),
    ("other", "Cits", "Other", "cits other", 1, 10, "jvpi"),
]

# code, name, e-mail, phone; for_municipality marks the partner that gets every report
# from outside the city.
PARTNERS: list[tuple[str, str, str, str, bool]] = [
    ("jvpi", 'JVPI "Pilsētsaimniecība"', "pilsetsaimnieciba@example.lv", "+37163000001", False),
    ("police", "Jelgavas valstspilsētas pašvaldības policija", "policija@example.lv",
     "+37163000002", False),
    ("zemgale-eko", 'SIA "Zemgale EKO"', "zemgaleeko@example.lv", "+37163000003", False),
    ("water", 'SIA "Jelgavas ūdens"', "udens@example.lv", "+37163000004", False),
    ("heating", 'SIA "Fortum Jelgava"', "siltums@example.lv", "+37163000005", False),
    ("bus", 'SIA "Jelgavas autobusu parks"', "autobusi@example.lv", "+37163000006", False),
    ("property", "Jelgavas nekustamā īpašuma pārvalde", "ipasums@example.lv", "+37163000007",
     False),
    ("municipality", "Jelgavas novada pašvaldība", "novads@example.lv", "+37163000008", True),
]


def seed(session: Session) -> int:
    """Create the reference data on an empty register; returns how many rows it added."""
    if session.scalar(select(CadCategory.id).limit(1)) is not None:
        return 0
    for code, name, email, phone, municipality in PARTNERS:
        session.add(CadPartner(code=code, name=name, email=email, phone=phone,
                               for_municipality=municipality))
    session.flush()
    return len(PARTNERS) + 2 * add_missing_categories(session)


def add_missing_categories(session: Session) -> int:
    """Add the categories of :data:`CATEGORIES` a register lacks, each with its route
    (an installation seeded before a category was added gets it this way)."""
    partners = {p.code: p for p in session.scalars(select(CadPartner))}
    known = set(session.scalars(select(CadCategory.code)))
    order = session.scalar(select(func.max(CadCategory.sort_order))) or 0
    added = 0
    for position, (code, lv, en, words, response, resolution, partner) in enumerate(CATEGORIES):
        if code in known:
            continue
        category = CadCategory(code=code, name_lv=lv, name_en=en, keywords=words,
                               response_days=response, resolution_days=resolution,
                               sort_order=position if not known else order + 1 + added)
        session.add(category)
        session.flush()
        session.add(CadRoute(category_id=category.id, area_code=None,
                             partner_id=partners[partner].id))
        added += 1
    session.flush()
    return added
