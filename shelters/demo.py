"""An illustrative Jelgava register (``sargs shelters demo``): places at the city's public
buildings — the city council, the university LBTU, schools, kindergartens, cultural
centres, sports halls and libraries — with their addresses and points in the city.

It shows what the register, the public map and the nearest-shelter search look like. It is
NOT the official register: which buildings are shelters, their capacities and equipment
are made up, and every place is marked ``illustrative`` (the pages say so). Running it
again changes nothing: a place is found by its name and address.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sargs.shelters import service
from sargs.shelters.csv_io import _key
from sargs.shelters.schemas import ShelterIn

ALL_FACILITIES = ["water", "toilets", "ventilation", "heating", "power_backup", "first_aid",
                  "communications"]
BASIC = ["water", "toilets", "heating", "first_aid"]

# name, address, lat, lon, kind, capacity by day (persons)
PLACES: tuple[tuple[str, str, float, float, str, int], ...] = (
    ("Jelgavas valstspilsētas pašvaldība", "Lielā iela 11", 56.6497, 23.7262,
     "evacuation_point", 150),
    ("LBTU Jelgavas pils", "Lielā iela 2", 56.6541, 23.7340, "shelter", 400),
    ("LBTU Veterinārmedicīnas fakultāte", "Kristapa Helmaņa iela 8", 56.6566, 23.7302,
     "suitable", 200),
    ("LBTU Tehniskā fakultāte", "Jāņa Čakstes bulvāris 5", 56.6556, 23.7228, "suitable", 250),
    ("LBTU Pārtikas tehnoloģijas fakultāte", "Rīgas iela 22", 56.6590, 23.7291, "suitable",
     180),
    ("LBTU Meža fakultāte", "Akadēmijas iela 11", 56.6516, 23.7214, "suitable", 150),
    ("LBTU sporta nams", "Jāņa Čakstes bulvāris 13", 56.6573, 23.7236, "short_stay", 120),
    ("Jelgavas Valsts ģimnāzija", "Mātera iela 44", 56.6523, 23.7150, "shelter", 500),
    ("Jelgavas Spīdolas Valsts ģimnāzija", "Akadēmijas iela 1", 56.6484, 23.7243, "shelter",
     450),
    ("Jelgavas Tehnoloģiju vidusskola", "Pulkveža Brieža iela 5", 56.6571, 23.7186,
     "suitable", 400),
    ("Jelgavas 4. vidusskola", "Sporta iela 4", 56.6441, 23.7071, "shelter", 450),
    ("Jelgavas 5. vidusskola", "Pulkveža Brieža iela 33", 56.6624, 23.7141, "suitable", 400),
    ("Jelgavas 6. vidusskola", "Loka maģistrāle 16", 56.6471, 23.7621, "shelter", 500),
    ("Jelgavas Centra pamatskola", "Svētes iela 23", 56.6456, 23.7181, "suitable", 300),
    ("Jelgavas pamatskola \"Valdeka\"", "Raiņa iela 11", 56.6468, 23.7272, "suitable", 250),
    ("Jelgavas 2. pamatskola", "Meiju ceļš 9", 56.6371, 23.7206, "suitable", 350),
    ("Jelgavas 4. sākumskola", "Sarmas iela 2", 56.6596, 23.7591, "suitable", 250),
    ("Jelgavas Amatu vidusskola", "Akmeņu iela 4", 56.6576, 23.7081, "short_stay", 200),
    ("Jelgavas Valsts tehnikums", "Pētera iela 5", 56.6478, 23.7196, "short_stay", 220),
    ("Jelgavas Mūzikas vidusskola", "Lielā iela 9", 56.6505, 23.7268, "suitable", 120),
    ("Jelgavas Mākslas skola", "Akadēmijas iela 31", 56.6546, 23.7181, "suitable", 80),
    ("Jelgavas kultūras nams", "Krišjāņa Barona iela 6", 56.6531, 23.7264, "shelter", 600),
    ("Jelgavas tautas nams \"Rota\"", "Garozas iela 15", 56.6381, 23.7101, "short_stay", 200),
    ("Ģ. Eliasa Jelgavas vēstures un mākslas muzejs", "Akadēmijas iela 10", 56.6521,
     23.7229, "suitable", 100),
    ("Jelgavas reģionālais tūrisma centrs", "Akadēmijas iela 1", 56.6489, 23.7253,
     "evacuation_point", 60),
    ("Zemgales Olimpiskais centrs", "Kalnciema iela 10", 56.6546, 23.7111, "short_stay",
     800),
    ("Jelgavas ledus halle", "Pasta iela 32", 56.6584, 23.7171, "short_stay", 500),
    ("Jelgavas sporta halle", "Mātera iela 4", 56.6524, 23.7231, "short_stay", 400),
    ("Jelgavas pilsētas bibliotēka", "Akadēmijas iela 26", 56.6541, 23.7201, "suitable", 80),
    ("Pārlielupes bibliotēka", "Loka maģistrāle 35", 56.6501, 23.7651, "suitable", 50),
    ("Miera ielas bibliotēka", "Miera iela 9", 56.6381, 23.7421, "suitable", 40),
    ("Bērnu bibliotēka \"Zinītis\"", "Satiksmes iela 41", 56.6603, 23.7061, "suitable", 40),
    ("PII \"Kāpēcīte\"", "Zemgales prospekts 7", 56.6511, 23.7711, "suitable", 120),
    ("PII \"Pasaciņa\"", "Loka maģistrāle 5", 56.6466, 23.7571, "suitable", 100),
    ("PII \"Rūķītis\"", "Skolotāju iela 4", 56.6621, 23.7181, "suitable", 90),
    ("PII \"Sprīdītis\"", "Satiksmes iela 43", 56.6601, 23.7041, "suitable", 110),
    ("PII \"Vārpiņa\"", "Brīvības bulvāris 17", 56.6471, 23.7151, "suitable", 100),
    ("PII \"Zīļuks\"", "Ganību iela 66", 56.6661, 23.7451, "suitable", 130),
    ("PII \"Lācītis\"", "Lielā iela 19", 56.6471, 23.7281, "suitable", 80),
    ("PII \"Gaismiņa\"", "Loka maģistrāle 9", 56.6456, 23.7591, "suitable", 100),
    ("Jelgavas novada pašvaldība", "Pasta iela 37", 56.6556, 23.7181, "evacuation_point", 120),
    ("Jelgavas dzelzceļa stacija", "Stacijas iela 3", 56.6431, 23.7196, "evacuation_point",
     300),
    ("Jelgavas autoosta", "Pasta iela 26", 56.6566, 23.7161, "evacuation_point", 200),
    ("Jelgavas Bērnu un jauniešu centrs \"Junda\"", "Skolotāju iela 5", 56.6617, 23.7191,
     "suitable", 100),
)


def _place(index: int, name: str, address: str, lat: float, lon: float, kind: str,
           capacity: int) -> ShelterIn:
    """Made-up but plausible details, varied by the place's kind and position."""
    proper = kind == "shelter"
    return ShelterIn(
        name=name, address=address, lat=lat, lon=lon, kind=kind, capacity=capacity,
        compliance=("full" if index % 2 else "partial") if proper else None,
        capacity_night=capacity // 2 if kind in ("shelter", "short_stay") else None,
        floor_area_m2=capacity * 2 if kind != "evacuation_point" else None,
        owner="Jelgavas valstspilsētas pašvaldība" if not name.startswith("LBTU")
        else "Latvijas Biozinātņu un tehnoloģiju universitāte",
        step_free=index % 3 != 0, lift=index % 4 == 0, accessible_toilet=index % 3 == 1,
        facilities=ALL_FACILITIES if proper else BASIC if kind != "evacuation_point"
        else ["toilets"],
        illustrative=True)


def demo_places() -> list[ShelterIn]:
    return [_place(i, *row) for i, row in enumerate(PLACES)]


def load_demo(session: Session) -> tuple[int, int]:
    """Add the illustrative places not yet in the register; returns (added, already there).
    Places already there are left as they are (their staff may have edited them)."""
    known = {_key(s.name, s.address) for s in service.list_shelters(session, active_only=False)}
    added = 0
    for place in demo_places():
        if _key(place.name, place.address) not in known:
            service.create_shelter(session, place)
            added += 1
    session.flush()
    return added, len(PLACES) - added
