"""The volunteer corps' rules: registration, verification codes and one-time sign-in,
the volunteer's own profile, export and erasure, and the coordinators' work
(decisions, scope, search, notes, teams).

Training lives in :mod:`sargs.volunteers.training`, call-outs in
:mod:`sargs.volunteers.callouts`. Every function works on a session and leaves
committing to the caller: one operation, one transaction.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Select, String, cast, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sargs import clock
from sargs.areas.service import get_area
from sargs.audit import service as audit_service
from sargs.channels.contacts import AddressError, normalise_phone, register_contact
from sargs.channels.models import Contact, ContactAddress
from sargs.volunteers.consent import CONSENT_VERSION
from sargs.volunteers.models import (
    Certificate,
    CoordinatorArea,
    Team,
    TeamMember,
    VerificationCode,
    Volunteer,
    VolunteerNote,
)
from sargs.volunteers.schemas import (
    ADULT,
    CertificateIn,
    ProfileIn,
    SearchIn,
    TeamIn,
    VolunteerIn,
    age_on,
    minutes_of,
)

OWNER = "volunteers"
CODE_VALID = timedelta(minutes=10)
CODES_PER_HOUR = 5  # per address, whatever the purpose
MAX_ATTEMPTS = 5  # wrong tries of one code
LINK_SALT = "volunteer-signin-link"
# Statuses a coordinator may set; "erased" is the volunteer's own act.
DECISIONS = ("pending", "active", "reserve", "inactive")
CALLABLE = ("active", "reserve")  # reached by call-outs and trainings' reminders
SEARCH_LIMIT = 500

# (channel, normalised address, language, text) → sent, or raises.
Send = Callable[[str, str, str, str], None]


class VolunteerError(ValueError):
    """A rule refused the operation; ``field`` names what to correct."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class DuplicateVolunteer(VolunteerError):
    """The person is already registered (the API answers 409)."""


class CodeError(VolunteerError):
    """A code was refused: wrong, expired, used, too many tries or too many codes."""


# --- registration ----------------------------------------------------------------


def _check_places(session: Session, municipality: str, neighbourhood: str | None) -> None:
    area = get_area(session, municipality)
    if area is None or area.kind != "municipality":
        raise VolunteerError("municipality", _("Choose a municipality from the list."))
    if neighbourhood is not None:
        found = get_area(session, neighbourhood)
        if found is None or found.kind != "neighbourhood":
            raise VolunteerError("neighbourhood", _("Choose a neighbourhood from the list."))


def find_duplicate(session: Session, data: VolunteerIn,
                   except_id: int | None = None) -> tuple[str, Volunteer] | None:
    """The registered person ``data`` describes again: same phone, same e-mail, or the
    same name and date of birth. Returns (the field that matched, the volunteer)."""
    checks: list[tuple[str, Any]] = [("phone", Volunteer.phone == data.phone)]
    if data.email:
        checks.append(("email", Volunteer.email == data.email))
    checks.append(("name", (func.lower(Volunteer.name) == data.name.lower())
                   & (Volunteer.birth_date == data.birth_date)))
    for field, condition in checks:
        query = select(Volunteer).where(condition, Volunteer.status != "erased")
        if except_id is not None:
            query = query.where(Volunteer.id != except_id)
        found = session.scalar(query.limit(1))
        if found is not None:
            return field, found
    return None


def _duplicate_error(field: str) -> DuplicateVolunteer:
    messages = {
        "phone": _("A volunteer with this phone number is already registered. Sign in "
                   "instead."),
        "email": _("A volunteer with this e-mail address is already registered. Sign in "
                   "instead."),
        "name": _("A volunteer with this name and date of birth is already registered."),
    }
    return DuplicateVolunteer(field, messages[field])


def register(session: Session, data: VolunteerIn, *, source: str = "portal") -> Volunteer:
    """A new volunteer, pending a coordinator's decision. Refuses a person already
    registered (:class:`DuplicateVolunteer`)."""
    _check_places(session, data.municipality, data.neighbourhood)
    duplicate = find_duplicate(session, data)
    if duplicate is not None:
        raise _duplicate_error(duplicate[0])
    now = clock.now()
    minor = age_on(data.birth_date, now.date()) < ADULT
    volunteer = Volunteer(
        status="pending", name=data.name, phone=data.phone, email=data.email,
        birth_date=data.birth_date, language=data.language, municipality=data.municipality,
        neighbourhood=data.neighbourhood, skills=data.skills,
        licence_categories=data.licence_categories, own_vehicle=data.own_vehicle,
        languages=data.languages, available_days=data.available_days,
        available_from=minutes_of(data.available_from),
        available_to=minutes_of(data.available_to), travel_km=data.travel_km,
        guardian_name=data.guardian_name if minor else "",
        guardian_phone=data.guardian_phone if minor else "",
        guardian_consent_at=now if minor else None,
        consent_version=CONSENT_VERSION, consent_at=now, source=source,
        created_at=now, updated_at=now,
    )
    volunteer.certificates = [Certificate(**c.model_dump()) for c in data.certificates]
    try:
        with session.begin_nested():  # two registrations of one number at once
            session.add(volunteer)
            session.flush()
    except IntegrityError:
        raise _duplicate_error("phone" if data.email is None else "email") from None
    return volunteer


# --- codes and one-time sign-in ------------------------------------------------


def code_hash(secret: str | bytes, purpose: str, address: str, code: str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"volunteer:{purpose}:{address}:{code}".encode(),
                    hashlib.sha256).hexdigest()


CODE_TEXTS = {
    "phone": {"lv": "Sargs: jūsu brīvprātīgā tālruņa apstiprināšanas kods ir {code}. "
                    "Derīgs 10 minūtes.",
              "en": "Sargs: your volunteer phone confirmation code is {code}. "
                    "Valid for 10 minutes."},
    "email": {"lv": "Jūsu e-pasta apstiprināšanas kods Sargs brīvprātīgo portālā ir {code}. "
                    "Tas derīgs 10 minūtes.\n\nJa jūs nereģistrējāties, šo vēstuli varat "
                    "neņemt vērā.",
              "en": "Your e-mail confirmation code for the Sargs volunteer portal is {code}. "
                    "It is valid for 10 minutes.\n\nIf you did not register, ignore this "
                    "mail."},
    "signin": {"lv": "Sargs: jūsu pieteikšanās kods ir {code}. Derīgs 10 minūtes.{link}",
               "en": "Sargs: your sign-in code is {code}. Valid for 10 minutes.{link}"},
}
LINK_TEXTS = {"lv": "\n\nVai atveriet vienreizējo saiti: {url}",
              "en": "\n\nOr open the one-time link: {url}"}


def _channel_of(address: str) -> tuple[str, str]:
    """(channel, normalised address) of what a person typed: a phone or an e-mail."""
    value = address.strip()
    if "@" in value:
        from sargs.volunteers.schemas import email_field

        try:
            return "email", email_field(value) or ""
        except ValueError as error:
            raise VolunteerError("address", str(error)) from None
    try:
        return "sms", normalise_phone(value)
    except AddressError:
        raise VolunteerError("address", _(
            "Give your phone number (e.g. +371 20000000) or e-mail address.")) from None


def issue_code(session: Session, volunteer: Volunteer | None, purpose: str, channel: str,
               address: str, *, secret: str | bytes, send: Send,
               link: Callable[[str], str] | None = None) -> VerificationCode:
    """Send a new six-digit code (and, given ``link``, a one-time sign-in link built
    from a signed token) to ``address``; at most :data:`CODES_PER_HOUR` an hour."""
    now = clock.now()
    recent = session.scalar(
        select(func.count()).select_from(VerificationCode)
        .where(VerificationCode.address == address,
               VerificationCode.created_at > now - timedelta(hours=1))) or 0
    if recent >= CODES_PER_HOUR:
        raise CodeError("code", _(
            "Too many codes were sent to this address. Try again in an hour."))
    code = f"{secrets.randbelow(10**6):06d}"
    row = VerificationCode(
        volunteer_id=volunteer.id if volunteer is not None else None, purpose=purpose,
        channel=channel, address=address, secret_hash=code_hash(secret, purpose, address, code),
        created_at=now, expires_at=now + CODE_VALID)
    session.add(row)
    session.flush()
    language = volunteer.language if volunteer is not None else "lv"
    extra = ""
    if link is not None:
        extra = LINK_TEXTS[language].format(url=link(link_token(secret, row.id)))
    text = CODE_TEXTS[purpose][language].format(code=code, link=extra)
    try:
        send(channel, address, language, text)
    except Exception as error:  # the provider's reason stays out of the page and the log
        raise CodeError("code", _("The code could not be sent. Try again later.")) from error
    return row


def check_code(session: Session, purpose: str, address: str, code: str, *,
               secret: str | bytes) -> VerificationCode:
    """The newest open code of ``address`` for ``purpose``, if ``code`` is it; it is used
    up. A wrong code counts a try, which the caller commits even though it refuses."""
    row = session.scalar(
        select(VerificationCode)
        .where(VerificationCode.address == address, VerificationCode.purpose == purpose,
               VerificationCode.used_at.is_(None))
        .order_by(VerificationCode.created_at.desc(), VerificationCode.id.desc())
        .limit(1).with_for_update())
    if row is None:
        raise CodeError("code", _("No code was sent, or it was used already. Ask for a new "
                                  "one."))
    if row.expires_at <= clock.now():
        raise CodeError("code", _("The code has expired. Ask for a new one."))
    if row.attempts >= MAX_ATTEMPTS:
        raise CodeError("code", _("Too many wrong tries. Ask for a new code."))
    if not hmac.compare_digest(row.secret_hash, code_hash(secret, purpose, address,
                                                          code.strip())):
        row.attempts += 1
        session.flush()
        raise CodeError("code", _("The code is wrong."))
    row.used_at = clock.now()
    session.flush()
    return row


def send_phone_code(session: Session, volunteer: Volunteer, *, secret: str | bytes,
                    send: Send) -> VerificationCode:
    assert volunteer.phone is not None
    return issue_code(session, volunteer, "phone", "sms", volunteer.phone, secret=secret,
                      send=send)


def send_email_code(session: Session, volunteer: Volunteer, *, secret: str | bytes,
                    send: Send) -> VerificationCode:
    if volunteer.email is None:
        raise VolunteerError("email", _("No e-mail address is given."))
    return issue_code(session, volunteer, "email", "email", volunteer.email, secret=secret,
                      send=send)


def confirm_phone(session: Session, volunteer: Volunteer, code: str, *,
                  secret: str | bytes) -> Volunteer:
    assert volunteer.phone is not None
    check_code(session, "phone", volunteer.phone, code, secret=secret)
    volunteer.phone_verified_at = clock.now()
    sync_contact(session, volunteer)
    return volunteer


def confirm_email(session: Session, volunteer: Volunteer, code: str, *,
                  secret: str | bytes) -> Volunteer:
    if volunteer.email is None:
        raise VolunteerError("email", _("No e-mail address is given."))
    check_code(session, "email", volunteer.email, code, secret=secret)
    volunteer.email_confirmed_at = clock.now()
    sync_contact(session, volunteer)
    return volunteer


def find_by_address(session: Session, channel: str, address: str) -> Volunteer | None:
    column = Volunteer.email if channel == "email" else Volunteer.phone
    return session.scalar(select(Volunteer).where(column == address,
                                                  Volunteer.status != "erased"))


def start_signin(session: Session, typed: str, *, secret: str | bytes, send: Send,
                 link: Callable[[str], str]) -> VerificationCode | None:
    """Send a sign-in code and link to the volunteer at the typed phone or e-mail.
    Nobody there: None, and the page says the same as when a code went (so the form
    does not tell who is registered); the hourly limit counts either way."""
    channel, address = _channel_of(typed)
    volunteer = find_by_address(session, channel, address)
    if volunteer is None:
        recent = session.scalar(
            select(func.count()).select_from(VerificationCode)
            .where(VerificationCode.address == address,
                   VerificationCode.created_at > clock.now() - timedelta(hours=1))) or 0
        if recent >= CODES_PER_HOUR:
            raise CodeError("code", _(
                "Too many codes were sent to this address. Try again in an hour."))
        return None
    return issue_code(session, volunteer, "signin", channel, address, secret=secret, send=send,
                      link=link)


def finish_signin(session: Session, typed: str, code: str, *,
                  secret: str | bytes) -> Volunteer:
    channel, address = _channel_of(typed)
    row = check_code(session, "signin", address, code, secret=secret)
    return _signed_in(session, row)


def link_token(secret: str | bytes, code_id: int) -> str:
    return URLSafeTimedSerializer(secret, salt=LINK_SALT).dumps(code_id)


def signin_by_link(session: Session, token: str, *, secret: str | bytes) -> Volunteer:
    """The volunteer a one-time link signs in; the link works once, for 10 minutes."""
    try:
        code_id = URLSafeTimedSerializer(secret, salt=LINK_SALT).loads(
            token, max_age=int(CODE_VALID.total_seconds()))
    except SignatureExpired:
        raise CodeError("code", _("The link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise CodeError("code", _("The link is not valid.")) from None
    row = session.get(VerificationCode, int(code_id), with_for_update=True)
    if row is None or row.purpose != "signin" or row.used_at is not None \
            or row.expires_at <= clock.now():
        raise CodeError("code", _("The link was used already or has expired. Ask for a new "
                                  "one."))
    row.used_at = clock.now()
    return _signed_in(session, row)


def _signed_in(session: Session, row: VerificationCode) -> Volunteer:
    volunteer = session.get(Volunteer, row.volunteer_id) if row.volunteer_id else None
    if volunteer is None or volunteer.status == "erased":
        raise CodeError("code", _("There is no volunteer account here any more."))
    # A code that reached the phone or mailbox proves it, as a verification code would.
    if row.channel == "sms" and volunteer.phone_verified_at is None:
        volunteer.phone_verified_at = clock.now()
    if row.channel == "email" and volunteer.email_confirmed_at is None:
        volunteer.email_confirmed_at = clock.now()
    sync_contact(session, volunteer)
    session.flush()
    return volunteer


# --- Telegram ------------------------------------------------------------------

TELEGRAM_PREFIX = "v_"  # the deep-link payload "/start v_<token>"


def telegram_link_token(session: Session, volunteer: Volunteer, *,
                        secret: str | bytes) -> str:
    """A one-time payload for the bot's deep link that ties a chat to the volunteer
    (Telegram allows 64 characters of [A-Za-z0-9_-])."""
    token = secrets.token_urlsafe(18)
    now = clock.now()
    session.add(VerificationCode(
        volunteer_id=volunteer.id, purpose="telegram", channel="telegram",
        address=f"volunteer:{volunteer.id}", secret_hash=code_hash(secret, "telegram", "", token),
        created_at=now, expires_at=now + CODE_VALID))
    session.flush()
    return TELEGRAM_PREFIX + token


def link_telegram(session: Session, chat_id: int | str, payload: str, *,
                  secret: str | bytes) -> Volunteer:
    token = payload.removeprefix(TELEGRAM_PREFIX)
    row = session.scalar(select(VerificationCode).where(
        VerificationCode.purpose == "telegram",
        VerificationCode.secret_hash == code_hash(secret, "telegram", "", token),
        VerificationCode.used_at.is_(None)).with_for_update())
    if row is None or row.expires_at <= clock.now():
        raise CodeError("code", _("The link was used already or has expired. Open it again "
                                  "from your profile."))
    row.used_at = clock.now()
    volunteer = session.get(Volunteer, row.volunteer_id)
    if volunteer is None or volunteer.status == "erased":
        raise CodeError("code", _("There is no volunteer account here any more."))
    previous = session.scalar(select(Volunteer).where(
        Volunteer.telegram_chat_id == str(chat_id), Volunteer.id != volunteer.id))
    if previous is not None:  # one chat, one volunteer
        previous.telegram_chat_id = None
        sync_contact(session, previous)
        session.flush()
    volunteer.telegram_chat_id = str(chat_id)
    sync_contact(session, volunteer)
    return volunteer


def by_telegram_chat(session: Session, chat_id: int | str) -> Volunteer | None:
    return session.scalar(select(Volunteer).where(Volunteer.telegram_chat_id == str(chat_id)))


# --- the channels contact --------------------------------------------------------


def _addresses(volunteer: Volunteer) -> list[tuple[str, str]]:
    """The verified ways to reach the volunteer, preferred first: Telegram (buttons),
    then SMS, then e-mail."""
    found: list[tuple[str, str]] = []
    if volunteer.telegram_chat_id:
        found.append(("telegram", volunteer.telegram_chat_id))
    if volunteer.phone and volunteer.phone_verified_at is not None:
        found.append(("sms", volunteer.phone))
    if volunteer.email and volunteer.email_confirmed_at is not None:
        found.append(("email", volunteer.email))
    return found


def sync_contact(session: Session, volunteer: Volunteer) -> Contact | None:
    """Keep the volunteer's contact (owner "volunteers") in step with the profile:
    their verified addresses, their language; active only while they may be asked."""
    addresses = _addresses(volunteer)
    contact = session.get(Contact, volunteer.contact_id) if volunteer.contact_id else None
    if contact is None and not addresses:
        return None
    if contact is None:
        contact = register_contact(session, volunteer.name, addresses,
                                   language=volunteer.language, owner=OWNER)
        volunteer.contact_id = contact.id
    else:
        held = {(a.channel, a.address): a for a in contact.addresses}
        for stale in set(held) - set(addresses):
            contact.addresses.remove(held.pop(stale))
        session.flush()  # the old rows go before any new one takes a unique key
        for preference, key in enumerate(addresses):
            if key not in held:
                held[key] = ContactAddress(channel=key[0], address=key[1])
                contact.addresses.append(held[key])
            held[key].preference, held[key].active = preference, True
        contact.name, contact.language = volunteer.name, volunteer.language
    contact.consent_version, contact.consent_at = volunteer.consent_version, volunteer.consent_at
    contact.active = volunteer.status in CALLABLE and bool(addresses)
    session.flush()
    return contact


# --- the volunteer's own profile ---------------------------------------------------


def update_profile(session: Session, volunteer: Volunteer, data: ProfileIn) -> Volunteer:
    """The volunteer's (or a coordinator's) edit; a new e-mail address needs
    confirming again."""
    _check_places(session, data.municipality, data.neighbourhood)
    if data.email and data.email != volunteer.email:
        taken = session.scalar(select(Volunteer.id).where(
            Volunteer.email == data.email, Volunteer.id != volunteer.id))
        if taken is not None:
            raise DuplicateVolunteer("email", _(
                "Another volunteer has this e-mail address."))
        volunteer.email_confirmed_at = None
    volunteer.email = data.email
    for field in ("name", "language", "municipality", "neighbourhood", "skills",
                  "licence_categories", "own_vehicle", "languages", "available_days",
                  "travel_km"):
        setattr(volunteer, field, getattr(data, field))
    volunteer.available_from = minutes_of(data.available_from)
    volunteer.available_to = minutes_of(data.available_to)
    volunteer.updated_at = clock.now()
    sync_contact(session, volunteer)
    return volunteer


def add_certificate(session: Session, volunteer: Volunteer, data: CertificateIn,
                    session_id: int | None = None) -> Certificate:
    certificate = Certificate(volunteer_id=volunteer.id, session_id=session_id,
                              **data.model_dump())
    session.add(certificate)
    session.flush()
    return certificate


def remove_certificate(session: Session, volunteer: Volunteer, certificate_id: int) -> None:
    certificate = session.get(Certificate, certificate_id)
    if certificate is None or certificate.volunteer_id != volunteer.id:
        raise VolunteerError("certificate", _("No such certificate."))
    session.delete(certificate)
    session.flush()


def valid_certificates(volunteer: Volunteer, on: date) -> list[Certificate]:
    return [c for c in volunteer.certificates
            if c.issued_on <= on and (c.expires_on is None or c.expires_on >= on)]


def export(session: Session, volunteer: Volunteer) -> dict[str, Any]:
    """Everything kept about the volunteer, for their download."""
    from sargs.volunteers.models import CallOut, CallOutAsk, Enrolment, TrainingSession

    enrolments = session.execute(
        select(Enrolment, TrainingSession).join(
            TrainingSession, TrainingSession.id == Enrolment.session_id)
        .where(Enrolment.volunteer_id == volunteer.id).order_by(TrainingSession.starts_at)).all()
    asks = session.execute(
        select(CallOutAsk, CallOut).join(CallOut, CallOut.id == CallOutAsk.callout_id)
        .where(CallOutAsk.volunteer_id == volunteer.id).order_by(CallOut.starts_at)).all()
    teams = session.scalars(select(Team.name).join(TeamMember, TeamMember.team_id == Team.id)
                            .where(TeamMember.volunteer_id == volunteer.id)).all()
    return {
        "volunteer": {
            "id": volunteer.id, "status": volunteer.status, "name": volunteer.name,
            "phone": volunteer.phone, "phone_verified_at": volunteer.phone_verified_at,
            "email": volunteer.email, "email_confirmed_at": volunteer.email_confirmed_at,
            "birth_date": volunteer.birth_date, "guardian_name": volunteer.guardian_name,
            "guardian_phone": volunteer.guardian_phone,
            "guardian_consent_at": volunteer.guardian_consent_at,
            "language": volunteer.language, "municipality": volunteer.municipality,
            "neighbourhood": volunteer.neighbourhood, "skills": volunteer.skills,
            "licence_categories": volunteer.licence_categories,
            "own_vehicle": volunteer.own_vehicle, "languages": volunteer.languages,
            "available_days": volunteer.available_days,
            "available_from": hhmm(volunteer.available_from),
            "available_to": hhmm(volunteer.available_to), "travel_km": volunteer.travel_km,
            "telegram_linked": volunteer.telegram_chat_id is not None,
            "consent_version": volunteer.consent_version, "consent_at": volunteer.consent_at,
            "registered_at": volunteer.created_at, "source": volunteer.source,
        },
        "certificates": [{"kind": c.kind, "title": c.title, "issued_on": c.issued_on,
                          "expires_on": c.expires_on, "issued_by": c.issued_by}
                         for c in volunteer.certificates],
        "teams": list(teams),
        "trainings": [{"course": s.course.code, "starts_at": s.starts_at, "place": s.place,
                       "state": e.state, "attended": e.attended} for e, s in enrolments],
        "callouts": [{"code": c.code, "title": c.title, "starts_at": c.starts_at,
                      "answer": a.state, "answered_at": a.answered_at,
                      "checked_in_at": a.checked_in_at, "checked_out_at": a.checked_out_at}
                     for a, c in asks],
    }


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def erase(session: Session, volunteer: Volunteer, *, secret: str | bytes) -> None:
    """The volunteer withdraws consent and erases the account. Personal data goes; what
    the public task needs (that a volunteer of this municipality answered call-outs and
    worked these hours, attended these trainings) stays, under a pseudonym."""
    from sargs.channels.subscriptions import erase_contact
    from sargs.volunteers.models import Enrolment, TrainingSession

    now = clock.now()
    contact = session.get(Contact, volunteer.contact_id) if volunteer.contact_id else None
    volunteer.contact_id = None
    session.flush()
    if contact is not None:
        erase_contact(session, contact, secret=secret)
    session.execute(delete(VerificationCode).where(VerificationCode.volunteer_id == volunteer.id))
    session.execute(delete(VolunteerNote).where(VolunteerNote.volunteer_id == volunteer.id))
    session.execute(delete(TeamMember).where(TeamMember.volunteer_id == volunteer.id))
    future = select(TrainingSession.id).where(TrainingSession.starts_at > now)
    for enrolment in session.scalars(select(Enrolment).where(
            Enrolment.volunteer_id == volunteer.id, Enrolment.state != "cancelled",
            Enrolment.session_id.in_(future))):
        from sargs.volunteers import training

        training.cancel(session, enrolment)
    volunteer.certificates = []
    volunteer.status = "erased"
    volunteer.name = _("Erased volunteer no. %(id)s", id=volunteer.id)
    volunteer.phone = volunteer.email = volunteer.birth_date = None
    volunteer.phone_verified_at = volunteer.email_confirmed_at = None
    volunteer.guardian_name = volunteer.guardian_phone = ""
    volunteer.telegram_chat_id = None
    volunteer.neighbourhood = None
    volunteer.skills, volunteer.licence_categories, volunteer.languages = [], [], []
    volunteer.available_days = []
    volunteer.shelter_id = None
    volunteer.consent_withdrawn_at = now
    volunteer.erased_at = volunteer.updated_at = now
    session.flush()


# --- coordinators ------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    """Who is looking: the user and their roles (an admin and the commission see every
    volunteer; a coordinator those of their municipalities and teams)."""

    user_id: int | None
    roles: frozenset[str]

    @property
    def sees_all(self) -> bool:
        return bool(self.roles & {"admin", "commission", "auditor"}) or self.user_id is None


def scope(query: Select[Any], staff: Staff) -> Select[Any]:
    """``query`` of volunteers narrowed to those ``staff`` may see."""
    if staff.sees_all:
        return query
    areas = select(CoordinatorArea.area_code).where(CoordinatorArea.user_id == staff.user_id)
    teams = select(TeamMember.volunteer_id).join(Team, Team.id == TeamMember.team_id).where(
        Team.coordinator_id == staff.user_id)
    return query.where(or_(Volunteer.municipality.in_(areas), Volunteer.id.in_(teams)))


def visible(session: Session, staff: Staff, volunteer_id: int) -> Volunteer | None:
    """The volunteer if ``staff`` may see them (their reading is audit-logged)."""
    volunteer = session.scalar(scope(select(Volunteer).where(Volunteer.id == volunteer_id),
                                     staff))
    if volunteer is not None:
        record_access(session, "volunteer.viewed", [volunteer.id])
    return volunteer


def record_access(session: Session, action: str, volunteer_ids: Iterable[int]) -> None:
    """Staff read personal data: who read whose is audit-logged (ids only)."""
    ids = sorted(set(volunteer_ids))
    if ids:
        audit_service.record(session, action, "volunteer", ids[0] if len(ids) == 1 else None,
                             after={"volunteers": ids})


def set_areas(session: Session, user_id: int, area_codes: Iterable[str]) -> None:
    """The municipalities a coordinator looks after."""
    session.execute(delete(CoordinatorArea).where(CoordinatorArea.user_id == user_id))
    for code in dict.fromkeys(area_codes):
        session.add(CoordinatorArea(user_id=user_id, area_code=code))
    session.flush()


def decide(session: Session, volunteer: Volunteer, status: str, by_user_id: int | None,
           note: str = "") -> Volunteer:
    """A coordinator's decision: approve (active), keep in reserve, set inactive, or
    back to pending. Only a verified phone can be called out."""
    if status not in DECISIONS:
        raise VolunteerError("status", _("Not a status a coordinator can set."))
    if volunteer.status == "erased":
        raise VolunteerError("status", _("This volunteer has erased their account."))
    if status in CALLABLE and volunteer.phone_verified_at is None:
        raise VolunteerError("status", _(
            "The volunteer has not verified their phone number yet; they can do it by "
            "signing in to the portal."))
    volunteer.status = status
    volunteer.decided_by_id, volunteer.decided_at = by_user_id, clock.now()
    volunteer.updated_at = clock.now()
    if note.strip():
        add_note(session, volunteer, note, by_user_id)
    sync_contact(session, volunteer)
    return volunteer


def add_note(session: Session, volunteer: Volunteer, text: str,
             author_id: int | None) -> VolunteerNote:
    note = VolunteerNote(volunteer_id=volunteer.id, author_id=author_id, text=text.strip(),
                         created_at=clock.now())
    session.add(note)
    session.flush()
    return note


def notes(session: Session, volunteer: Volunteer) -> list[VolunteerNote]:
    return list(session.scalars(select(VolunteerNote).where(
        VolunteerNote.volunteer_id == volunteer.id).order_by(VolunteerNote.created_at.desc())))


def _json_has(column: Any, value: str | int) -> Any:
    """A JSON list column holds ``value`` (portable: its text has the item)."""
    item = f'"{value}"' if isinstance(value, str) else str(value)
    return cast(column, String).like(f"%{item}%")


def search_query(filters: SearchIn, staff: Staff) -> Select[Any]:
    query = select(Volunteer).where(Volunteer.status != "erased")
    if filters.status:
        query = query.where(Volunteer.status == filters.status)
    if filters.text:
        words = filters.text.strip()
        like = f"%{words.lower()}%"
        query = query.where(or_(func.lower(Volunteer.name).like(like),
                                Volunteer.phone.like(f"%{words.replace(' ', '')}%"),
                                func.lower(Volunteer.email).like(like)))
    for skill in filters.skills:
        query = query.where(_json_has(Volunteer.skills, skill))
    if filters.municipality:
        query = query.where(Volunteer.municipality == filters.municipality)
    if filters.neighbourhood:
        query = query.where(Volunteer.neighbourhood == filters.neighbourhood)
    if filters.team_id is not None:
        query = query.where(Volunteer.id.in_(select(TeamMember.volunteer_id).where(
            TeamMember.team_id == filters.team_id)))
    if filters.weekday is not None:
        query = query.where(_json_has(Volunteer.available_days, filters.weekday))
    if filters.hour is not None:
        query = query.where(Volunteer.available_from <= filters.hour * 60,
                            Volunteer.available_to > filters.hour * 60)
    if filters.own_vehicle is not None:
        query = query.where(Volunteer.own_vehicle.is_(filters.own_vehicle))
    if filters.licence:
        query = query.where(_json_has(Volunteer.licence_categories, filters.licence.upper()))
    if filters.certificate:
        on = filters.valid_on or clock.now().date()
        query = query.where(exists().where(
            Certificate.volunteer_id == Volunteer.id, Certificate.kind == filters.certificate,
            Certificate.issued_on <= on,
            or_(Certificate.expires_on.is_(None), Certificate.expires_on >= on)))
    return scope(query, staff).order_by(Volunteer.name, Volunteer.id)


def status_counts(session: Session, staff: Staff) -> dict[str, int]:
    """How many volunteers ``staff`` sees in each status (erased ones are nobody's)."""
    query = scope(select(Volunteer.status, func.count()).where(
        Volunteer.status != "erased").group_by(Volunteer.status), staff)
    found = {status: n for status, n in session.execute(query)}
    return {status: found.get(status, 0) for status in DECISIONS}


def areas_of(session: Session, user_id: int) -> list[str]:
    """The municipalities a coordinator looks after."""
    return list(session.scalars(select(CoordinatorArea.area_code).where(
        CoordinatorArea.user_id == user_id).order_by(CoordinatorArea.area_code)))


def looks_after_nobody(session: Session, staff: Staff) -> bool:
    """A coordinator with no municipality and no team of their own sees no one."""
    if staff.sees_all or staff.user_id is None:
        return False
    return not areas_of(session, staff.user_id) and not session.scalar(
        select(func.count()).select_from(Team).where(Team.coordinator_id == staff.user_id))


def visible_ids(session: Session, staff: Staff, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` ``staff`` may see."""
    wanted = list(set(ids))
    if not wanted:
        return set()
    return set(session.scalars(scope(select(Volunteer.id).where(Volunteer.id.in_(wanted)),
                                     staff)))


def names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Volunteer id → name (for rosters already scoped by their caller)."""
    wanted = [i for i in set(ids) if i is not None]
    if not wanted:
        return {}
    rows = session.execute(select(Volunteer.id, Volunteer.name).where(Volunteer.id.in_(wanted)))
    return {volunteer_id: name for volunteer_id, name in rows}


def search_page(session: Session, filters: SearchIn, staff: Staff, limit: int,
                offset: int) -> tuple[int, list[Volunteer]]:
    """One page of :func:`search` and the number of all matches (the API's listing)."""
    query = search_query(filters, staff)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    found = list(session.scalars(query.limit(limit).offset(offset)))
    record_access(session, "volunteer.searched", [v.id for v in found])
    return total or 0, found


def search(session: Session, filters: SearchIn, staff: Staff,
           limit: int = SEARCH_LIMIT) -> list[Volunteer]:
    """The volunteers matching every filter that ``staff`` may see (reading them is
    audit-logged)."""
    found = list(session.scalars(search_query(filters, staff).limit(limit)))
    record_access(session, "volunteer.searched", [v.id for v in found])
    return found


CSV_COLUMNS = ("id", "status", "name", "phone", "email", "municipality", "neighbourhood",
               "skills", "licence_categories", "own_vehicle", "languages", "available_days",
               "available_from", "available_to", "travel_km", "certificates", "registered_at")


def export_csv(session: Session, filters: SearchIn, staff: Staff) -> str:
    """The search's volunteers as CSV (``;``-separated lists), audit-logged."""
    found = list(session.scalars(search_query(filters, staff)))
    record_access(session, "volunteer.exported", [v.id for v in found])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for v in found:
        writer.writerow([
            v.id, v.status, v.name, v.phone or "", v.email or "", v.municipality,
            v.neighbourhood or "", ";".join(v.skills), ";".join(v.licence_categories),
            "1" if v.own_vehicle else "0", ";".join(v.languages),
            ";".join(str(d) for d in v.available_days), hhmm(v.available_from),
            hhmm(v.available_to), v.travel_km,
            ";".join(f"{c.kind}:{c.expires_on or ''}" for c in v.certificates),
            v.created_at.isoformat(timespec="seconds"),
        ])
    return out.getvalue()


# --- teams -----------------------------------------------------------------------


def create_team(session: Session, data: TeamIn) -> Team:
    if session.scalar(select(Team.id).where(Team.name == data.name)) is not None:
        raise VolunteerError("name", _("A team with this name exists."))
    if data.area_code is not None and get_area(session, data.area_code) is None:
        raise VolunteerError("area_code", _("Choose an area from the list."))
    team = Team(created_at=clock.now(), **data.model_dump())
    session.add(team)
    session.flush()
    return team


def teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.kind, Team.name)))


def add_member(session: Session, team: Team, volunteer: Volunteer) -> None:
    if session.get(TeamMember, (team.id, volunteer.id)) is None:
        session.add(TeamMember(team_id=team.id, volunteer_id=volunteer.id))
        session.flush()


def remove_member(session: Session, team: Team, volunteer: Volunteer) -> None:
    session.execute(delete(TeamMember).where(TeamMember.team_id == team.id,
                                             TeamMember.volunteer_id == volunteer.id))


def members(session: Session, team: Team) -> list[Volunteer]:
    return list(session.scalars(select(Volunteer).join(
        TeamMember, TeamMember.volunteer_id == Volunteer.id).where(
        TeamMember.team_id == team.id).order_by(Volunteer.name)))


def teams_of(session: Session, volunteer: Volunteer) -> list[Team]:
    return list(session.scalars(select(Team).join(TeamMember, TeamMember.team_id == Team.id)
                                .where(TeamMember.volunteer_id == volunteer.id)))


# --- shelters ----------------------------------------------------------------------


def assign_shelter(session: Session, volunteer: Volunteer, shelter_id: int | None) -> None:
    """Assign the volunteer to a shelter (None: to none); opening it tells them."""
    volunteer.shelter_id = shelter_id
    volunteer.updated_at = clock.now()
    session.flush()


def shelter_contacts(session: Session, shelter_id: int) -> list[int]:
    """Contact ids of the callable volunteers assigned to a shelter (its opening tells
    them, through :mod:`sargs.shelters.notify`)."""
    return [cid for cid in session.scalars(select(Volunteer.contact_id).where(
        Volunteer.shelter_id == shelter_id, Volunteer.status.in_(CALLABLE),
        Volunteer.contact_id.is_not(None))) if cid is not None]
