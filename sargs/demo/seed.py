"""The demo's Jelgava data set, made through each module's own seeders and services.

Already shipped by the modules: the 8787 partners and categories (seeded with the schema,
cad/reference.py), a generated year of 8787 reports following the 2025 figures
(cad/demo_year.py), the illustrative shelter register at public buildings
(shelters/demo.py), the escalation policies and their staff groups (warnings/policies.py)
and three continuity plans with the storm exercise (exercises/demo.py).

Added here: a reserves catalogue in three warehouses with stock received lot by lot
(so movements and balances are real), the commission's and duty officers' contacts and
the institutions' IP phones, volunteers registered through the portal's service and
approved after verifying their phones, residents subscribed to the public alerts on SMS,
Telegram and e-mail, and the demo's staff users. Every person, number and address is made
up; the numbers are in ranges the provider simulators take (+3712…, example.lv, chat ids).

Running it again adds nothing twice: each part looks for what it made before. Plain
functions on a session; callers commit.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.auth import service as auth
from sargs.cad import demo_year
from sargs.cad.models import CadReport
from sargs.channels import contacts
from sargs.channels.models import Contact, ContactAddress, ContactGroup
from sargs.channels.subscriptions import Choices, save_subscriber
from sargs.exercises import demo as exercise_demo
from sargs.exercises.models import ContinuityPlan, Exercise
from sargs.reserves import service as reserves
from sargs.reserves.models import Batch, ReserveItem, Warehouse
from sargs.reserves.schemas import ItemIn, WarehouseIn
from sargs.settings import Settings
from sargs.shelters import demo as shelter_demo
from sargs.shelters.models import Shelter
from sargs.volunteers import service as volunteers
from sargs.volunteers.consent import CONSENT_VERSION
from sargs.volunteers.models import Volunteer
from sargs.volunteers.schemas import VolunteerIn
from sargs.warnings import policies

VOLUNTEERS = 200
SUBSCRIBERS = 300
CAD_YEAR = 2025
SEED = 2026  # the same people every time
DEMO_PASSWORD = "jelgava-demo"  # printed by `sargs demo`; demo and test mode only
DEMO_MODES = ("demo", "test")

# Number ranges, one per kind of person (the phones page tells them apart by the registry).
VOLUNTEER_PHONES = 26100000
RESIDENT_PHONES = 26200000
STAFF_PHONES = 26300000
RESIDENT_CHATS = 720000
STAFF_CHATS = 710000

FIRST_NAMES = {
    "m": ("Jānis", "Andris", "Mārtiņš", "Edgars", "Kristaps", "Roberts", "Artūrs", "Raivis",
          "Gatis", "Normunds", "Uldis", "Aivars", "Valdis", "Dāvis", "Emīls", "Rihards",
          "Oskars", "Kārlis", "Toms", "Ivars", "Guntis", "Reinis", "Aigars", "Juris"),
    "f": ("Anna", "Ilze", "Inese", "Līga", "Laura", "Kristīne", "Zane", "Dace", "Agnese",
          "Elīna", "Sanita", "Evija", "Marta", "Santa", "Ieva", "Madara", "Sandra", "Baiba",
          "Gunta", "Rūta", "Linda", "Everita", "Aiga", "Vineta"),
}
# Surnames in their masculine and feminine forms.
SURNAMES = (
    ("Bērziņš", "Bērziņa"), ("Kalniņš", "Kalniņa"), ("Ozols", "Ozola"), ("Liepa", "Liepa"),
    ("Kļaviņš", "Kļaviņa"), ("Krūmiņš", "Krūmiņa"), ("Zariņš", "Zariņa"),
    ("Jansons", "Jansone"), ("Ozoliņš", "Ozoliņa"), ("Vītols", "Vītola"),
    ("Pētersons", "Pētersone"), ("Eglītis", "Eglīte"), ("Lapiņš", "Lapiņa"),
    ("Balodis", "Balode"), ("Vanags", "Vanaga"), ("Siliņš", "Siliņa"),
    ("Kārkliņš", "Kārkliņa"), ("Zvirbulis", "Zvirbule"), ("Strazds", "Strazda"),
    ("Freimanis", "Freimane"), ("Kalējs", "Kalēja"), ("Grīnbergs", "Grīnberga"),
    ("Rozītis", "Rozīte"), ("Avotiņš", "Avotiņa"), ("Priede", "Priede"), ("Lācis", "Lāce"),
    ("Dzenis", "Dzene"), ("Cīrulis", "Cīrule"), ("Āboliņš", "Āboliņa"), ("Upītis", "Upīte"),
)
# Skill sets volunteers bring, most with first aid or the everyday ones.
SKILL_SETS = (
    ["first_aid"], ["first_aid", "driving"], ["driving", "logistics"], ["cooking", "care"],
    ["chainsaw", "construction"], ["psychological_support", "first_aid"],
    ["sandbagging", "construction"], ["logistics"], ["it", "radio"], ["languages", "care"],
    ["animal_care"], ["first_aid", "care"], ["chainsaw", "driving"], ["boat", "sandbagging"],
)

# (group, name, role) — the commission and the duty officers; the first of each chain
# group is the one the red policy calls.
STAFF = (
    ("commission-chair", "Andris Rāviņš", "Komisijas priekšsēdētājs"),
    ("commission-deputy", "Inese Vītola", "Priekšsēdētāja vietniece"),
    ("duty-officers", "Edgars Liepa", "Dežurants"),
    ("duty-officers", "Sanita Kalēja", "Dežurante"),
    ("duty-officers", "Roberts Ozols", "Dežurants"),
    ("commission", "Gunta Bērziņa", "Pašvaldības policijas priekšniece"),
    ("commission", "Juris Eglītis", "VUGD Jelgavas daļas komandieris"),
    ("commission", "Dace Zariņa", "Sociālo lietu pārvaldes vadītāja"),
    ("commission", "Aivars Strazds", "Pilsētsaimniecības direktors"),
    ("commission", "Līga Cīrule", "Izglītības pārvaldes vadītāja"),
    ("commission", "Uldis Lācis", "Ūdensapgādes uzņēmuma valdes loceklis"),
)
# Institutions whose IP phones are paged: (name, extension).
PAGING = (
    ("Jelgavas Valsts ģimnāzija", "2101"), ("Jelgavas Spīdolas Valsts ģimnāzija", "2102"),
    ("Jelgavas 4. vidusskola", "2104"), ("Jelgavas 6. vidusskola", "2106"),
    ("Jelgavas pilsētas slimnīca", "2201"), ("Sociālās aprūpes centrs", "2301"),
)

# Illustrative warehouses and stock (not the municipality's real holdings).
WAREHOUSES = (
    ("CENTR", "Civilās aizsardzības centrālā noliktava", "Rūpniecības iela 8", 56.6603, 23.7488),
    ("OLIMP", "Zemgales Olimpiskā centra noliktava", "Kalnciema iela 10", 56.6546, 23.7111),
    ("PASTA", "Pasta salas noliktava", "Pasta iela 32", 56.6584, 23.7171),
)
# code, Latvian and English names, category, unit, shelf life (days), norm per person a day
ITEMS: tuple[tuple[str, str, str, str, str, int | None, str | None], ...] = (
    ("WATER-5L", "Dzeramais ūdens", "Drinking water", "water", "l", 730, "3"),
    ("RATION", "Pārtikas deva (24 h)", "Food ration (24 h)", "food", "pack", 1095, "1"),
    ("BABYFOOD", "Zīdaiņu pārtika", "Baby food", "food", "pack", 365, None),
    ("BLANKET", "Sega", "Blanket", "shelter_equipment", "pcs", None, None),
    ("COT", "Saliekamā gulta", "Folding cot", "shelter_equipment", "pcs", None, None),
    ("SLEEPBAG", "Guļammaiss", "Sleeping bag", "shelter_equipment", "pcs", None, None),
    ("HYGIENE", "Higiēnas komplekts", "Hygiene kit", "hygiene", "set", 1825, "0.2"),
    ("FIRSTAID", "Pirmās palīdzības aptieciņa", "First-aid kit", "medical", "pcs", 1460, None),
    ("GEN-5KW", "Ģenerators 5 kW", "Generator 5 kW", "energy", "pcs", None, None),
    ("DIESEL", "Dīzeļdegviela", "Diesel fuel", "energy", "l", 365, None),
    ("TORCH", "Lukturis", "Torch", "tools", "pcs", None, None),
    ("SANDBAG", "Smilšu maiss", "Sandbag", "flood_protection", "pcs", None, None),
)
# item code -> quantity received into each warehouse (CENTR, OLIMP, PASTA), in two lots
STOCK = {
    "WATER-5L": (12000, 6000, 3000), "RATION": (3000, 1500, 800), "BABYFOOD": (300, 120, 60),
    "BLANKET": (1200, 600, 300), "COT": (400, 250, 120), "SLEEPBAG": (300, 150, 80),
    "HYGIENE": (900, 400, 200), "FIRSTAID": (120, 60, 30), "GEN-5KW": (8, 4, 2),
    "DIESEL": (4000, 1000, 500), "TORCH": (400, 200, 100), "SANDBAG": (8000, 0, 4000),
}
SUPPLIERS = ("SIA \"Zemgales apgāde\"", "Valsts materiālās rezerves")

USERS = (
    ("admin", ["admin"], "Administrators"),
    ("commission", ["commission"], "Komisijas loceklis"),
    ("operator", ["operator"], "8787 operators"),
    ("trainer", ["trainer"], "Mācību vadītājs"),
    ("coordinator", ["coordinator"], "Brīvprātīgo koordinators"),
    ("warehouse", ["warehouse"], "Noliktavas pārzinis"),
    ("shelter", ["shelter_staff"], "Patvertnes darbinieks"),
)


class DemoRefused(RuntimeError):
    """The demo's users and seeding are for demo (and test) mode only."""


@dataclass
class Counts:
    cad_reports: int = 0
    shelters: int = 0
    reserve_items: int = 0
    warehouses: int = 0
    volunteers: int = 0
    subscribers: int = 0
    staff_contacts: int = 0
    plans: int = 0
    exercises: int = 0
    users: int = 0


def _phone(base: int, number: int) -> str:
    return f"+371{base + number}"


def person(rng: random.Random, taken: set[str]) -> tuple[str, str]:
    """A Latvian name not used yet, and "m" or "f"."""
    while True:
        sex = rng.choice("mf")
        surname = rng.choice(SURNAMES)[0 if sex == "m" else 1]
        name = f"{rng.choice(FIRST_NAMES[sex])} {surname}"
        if name not in taken:
            taken.add(name)
            return name, sex


# --- the modules' own demo data -------------------------------------------------------


def seed_cad_year(session: Session, settings: Settings, year: int = CAD_YEAR) -> int:
    """The generated 8787 year, once."""
    if not demo_year.existing(session, year, settings.zone):
        demo_year.generate(session, settings.zone, year)
    return demo_year.existing(session, year, settings.zone)


def seed_exercise(session: Session) -> None:
    """The continuity plans and the storm exercise, once."""
    title = exercise_demo.json.loads(exercise_demo.EXERCISE.read_text(encoding="utf-8"))[
        "exercise"]["title"]
    if session.scalar(select(Exercise.id).where(Exercise.title == title).limit(1)) is None:
        exercise_demo.seed_demo(session)
    else:
        exercise_demo.seed_plans(session)


# --- reserves -------------------------------------------------------------------------


def seed_reserves(session: Session) -> None:
    """The catalogue and warehouses; an item's stock is received when the item is new."""
    stores = []
    for code, name, address, lat, lon in WAREHOUSES:
        store = session.scalar(select(Warehouse).where(Warehouse.code == code))
        stores.append(store or reserves.create_warehouse(session, WarehouseIn(
            code=code, name=name, address=address, lat=lat, lon=lon)))
    who = reserves.Who(note="demo")
    for code, name_lv, name_en, category, unit, shelf_life, norm in ITEMS:
        if session.scalar(select(ReserveItem.id).where(ReserveItem.code == code)) is not None:
            continue
        item = reserves.create_item(session, ItemIn(
            code=code, name_lv=name_lv, name_en=name_en, category=category, unit=unit,
            shelf_life_days=shelf_life, norm_per_person_day=norm))
        for store, quantity in zip(stores, STOCK[code], strict=True):
            for lot_number, share in enumerate((Decimal("0.6"), Decimal("0.4")), start=1):
                amount = (Decimal(quantity) * share).quantize(Decimal(1))
                if amount <= 0:
                    continue
                reserves.receive(session, item, store, f"{store.code}-{code}-{lot_number}",
                                 amount, who, supplier=SUPPLIERS[lot_number - 1],
                                 document_no=f"PAV-{store.code}-{lot_number:03d}")


# --- people ---------------------------------------------------------------------------


def _group(session: Session, code: str) -> ContactGroup | None:
    return session.scalar(select(ContactGroup).where(ContactGroup.code == code))


def seed_staff(session: Session) -> int:
    """The commission, the duty officers and the institutions' IP phones, in the groups
    the escalation policies name (the chair and the deputy are in the commission too)."""
    policies.seed(session)
    added = 0
    for number, (group_code, name, role) in enumerate(STAFF):
        phone = _phone(STAFF_PHONES, number)
        contact = contacts.find_by_address(session, "sms", phone)
        if contact is None:
            contact = contacts.register_contact(
                session, f"{name} ({role})",
                [("voice", phone), ("sms", phone), ("telegram", str(STAFF_CHATS + number)),
                 ("email", f"{_ascii(name).replace(' ', '.')}@example.lv")])
            added += 1
        codes = {group_code} | ({"commission"} if group_code.startswith("commission") else set())
        for code in codes:
            group = _group(session, code)
            if group is not None:
                contacts.add_to_group(session, group, contact)
    paging = _group(session, "institutions-paging")
    for name, extension in PAGING:
        contact = contacts.find_by_address(session, "pbx", extension)
        if contact is None:
            contact = contacts.register_contact(session, name, [("pbx", extension)],
                                                kind="institution")
            added += 1
        if paging is not None:
            contacts.add_to_group(session, paging, contact)
    return added


def _ascii(text: str) -> str:
    plain = str.maketrans("āčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽ", "acegiklnsuzACEGIKLNSUZ")
    return text.translate(plain).lower()


def seed_volunteers(session: Session, count: int, *, secret: str | bytes) -> int:
    """``count`` volunteers, registered as the portal registers them, their phones
    verified with the code the service sends, and approved by a coordinator."""
    rng = random.Random(SEED)
    taken = set(session.scalars(select(Volunteer.name)))
    today = clock.now().date()
    codes: list[str] = []  # the verification texts the service sent, as the phone got them
    added = 0
    for number in range(count):
        phone = _phone(VOLUNTEER_PHONES, number)
        name, _sex = person(rng, taken)
        skills = rng.choice(SKILL_SETS)
        born = today - timedelta(days=365 * rng.randint(19, 67) + rng.randint(0, 364))
        if session.scalar(select(Volunteer.id).where(Volunteer.phone == phone)) is not None:
            continue
        volunteer = volunteers.register(session, VolunteerIn(
            name=name, phone=phone, email=f"{_ascii(name).replace(' ', '.')}.{number}@example.lv",
            birth_date=born, language="lv" if number % 10 else "en",
            municipality="LV022" if number % 4 else "LV023", skills=skills,
            licence_categories=["B"] if "driving" in skills else [],
            own_vehicle="driving" in skills, languages=["lv", "en", "ru"][:1 + number % 3],
            available_days=list(range(7)), consent=True, consent_version=CONSENT_VERSION),
            source="portal")
        volunteers.send_phone_code(session, volunteer, secret=secret,
                                   send=lambda _c, _a, _l, text: codes.append(text))
        volunteers.confirm_phone(session, volunteer, _code_in(codes[-1]), secret=secret)
        volunteers.decide(session, volunteer, "active", None)
        added += 1
    return added


def _code_in(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found is not None
    return found.group(1)


def subscriber_addresses(count: int) -> list[tuple[str, str, str]]:
    """(channel, address, area) of the demo's residents: two in five on SMS, two on
    Telegram, one by e-mail; one in five in the municipality around the city."""
    found = []
    for number in range(count):
        area = "LV023" if number % 5 == 4 else "LV022"
        kind = number % 5
        if kind in (0, 1):
            found.append(("sms", _phone(RESIDENT_PHONES, number), area))
        elif kind in (2, 3):
            found.append(("telegram", str(RESIDENT_CHATS + number), area))
        else:
            found.append(("email", f"iedzivotajs{number}@example.lv", area))
    return found


def seed_subscribers(session: Session, count: int) -> int:
    """Residents subscribed to orange and red alerts for their area (every tenth to all
    levels, every seventh in English), as the subscription pages save them."""
    added = 0
    for number, (channel, address, area) in enumerate(subscriber_addresses(count)):
        if contacts_of(session, channel, address):
            continue
        levels = ("yellow", "orange", "red") if number % 10 == 0 else ("orange", "red")
        save_subscriber(session, address, channel,
                        Choices("en" if number % 7 == 6 else "lv", (area,), levels),
                        verified=True)
        added += 1
    return added


def contacts_of(session: Session, channel: str, address: str) -> bool:
    return session.scalar(select(ContactAddress.id).where(
        ContactAddress.channel == channel, ContactAddress.address == address).limit(1)) \
        is not None


def seed_users(session: Session, settings: Settings) -> int:
    """The demo's staff users, all with :data:`DEMO_PASSWORD` and no second factor."""
    if settings.mode not in DEMO_MODES:
        raise DemoRefused("demo users are made in demo mode only")
    for role in ("admin", "commission"):
        auth.set_totp_required(session, role, False)
    added = 0
    for username, roles, display in USERS:
        if auth.find_user(session, username) is None:
            auth.create_user(session, username, DEMO_PASSWORD, roles, display)
            added += 1
    return added


# --- everything -----------------------------------------------------------------------


def seed(session: Session, settings: Settings, *, secret: str | bytes,
         volunteer_count: int = VOLUNTEERS, subscriber_count: int = SUBSCRIBERS,
         cad_year: int = CAD_YEAR) -> Counts:
    """The whole data set (each part once); returns what the database now holds."""
    if settings.mode not in DEMO_MODES:
        raise DemoRefused("the demo data set is made in demo mode only")
    seed_users(session, settings)
    seed_cad_year(session, settings, cad_year)
    shelter_demo.load_demo(session)
    seed_reserves(session)
    seed_staff(session)
    seed_volunteers(session, volunteer_count, secret=secret)
    seed_subscribers(session, subscriber_count)
    seed_exercise(session)
    session.flush()
    return counts(session)


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def counts(session: Session) -> Counts:
    return Counts(
        cad_reports=_count(session, select(CadReport.id)),
        shelters=_count(session, select(Shelter.id).where(Shelter.active.is_(True))),
        reserve_items=_count(session, select(Batch.item_id).where(Batch.quantity > 0)
                             .distinct()),
        warehouses=_count(session, select(Warehouse.id)),
        volunteers=_count(session, select(Volunteer.id).where(Volunteer.status == "active")),
        subscribers=_count(session, select(Contact.id).where(
            Contact.is_public_subscriber.is_(True), Contact.active.is_(True))),
        staff_contacts=_count(session, select(Contact.id).where(
            Contact.is_public_subscriber.is_(False), Contact.owner == "channels")),
        plans=_count(session, select(ContinuityPlan.id).where(ContinuityPlan.active.is_(True))),
        exercises=_count(session, select(Exercise.id)),
        users=len(auth.list_users(session)),
    )


def demo_users() -> list[tuple[str, str]]:
    """(username, roles) of the demo's users, for the command to print."""
    return [(username, ", ".join(roles)) for username, roles, _display in USERS]
