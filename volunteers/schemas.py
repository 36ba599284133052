"""Input of the volunteer corps: a registration (the portal and the CREWS partners' API
give the same one), a profile edit, a certificate, a coordinator's decision and search,
a course, a session and a call-out. Every message names the field and the reason."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from pydantic import BaseModel, Field, field_validator, model_validator

from sargs import clock
from sargs.channels.contacts import EMAIL, AddressError, normalise_phone
from sargs.volunteers.reference import LANGUAGES, LICENCE_CATEGORIES, SKILLS
from sargs.web.forms import FieldError, blank_to_none

ADULT = 18
MINOR_WITH_GUARDIAN = 16
OLDEST = 100
HOURS = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$|^24:00$")


def _split(value: object) -> object:
    """A CSV cell or a comma-separated API string as a list."""
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    return value


def _unknown(values: list[str], known: object, message: str) -> list[str]:
    wrong = [v for v in values if v not in known]  # type: ignore[operator]
    if wrong:
        raise ValueError(message % {"names": ", ".join(wrong)})
    return list(dict.fromkeys(values))


def phone_field(value: str) -> str:
    try:
        return normalise_phone(value)
    except AddressError:
        raise ValueError(_("A phone number has 6–20 digits, e.g. +371 20000000.")) from None


def email_field(value: str | None) -> str | None:
    if value is None:
        return None
    if not EMAIL.match(value) or len(value) > 254:
        raise ValueError(_("Not an e-mail address (e.g. name@example.lv)."))
    return value.lower()


def minutes_of(value: str) -> int:
    """"HH:MM" → minutes from midnight (24:00 is the end of the day)."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def riga_time(value: datetime) -> datetime:
    """A form's local time (no zone given) is Riga time; stored as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("Europe/Riga"))
    return value.astimezone(UTC)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class CertificateIn(BaseModel):
    kind: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=200)
    issued_on: date
    expires_on: date | None = None
    issued_by: str = Field("", max_length=200)

    @field_validator("expires_on", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in SKILLS:
            raise ValueError(_("Unknown kind of certificate: %(name)s", name=value))
        return value

    @model_validator(mode="after")
    def _dates(self) -> CertificateIn:
        if self.expires_on is not None and self.expires_on < self.issued_on:
            raise FieldError("expires_on", _("The expiry date is before the issue date."))
        if self.issued_on > clock.now().date():
            raise FieldError("issued_on", _("The issue date is in the future."))
        return self


class ProfileIn(BaseModel):
    """What a volunteer keeps up to date themselves."""

    name: str = Field(min_length=2, max_length=200)
    email: str | None = Field(None, max_length=254)
    language: Literal["lv", "en"] = "lv"
    municipality: str = Field(min_length=1, max_length=16)
    neighbourhood: str | None = Field(None, max_length=16)
    skills: list[str] = Field(default_factory=list)
    licence_categories: list[str] = Field(default_factory=list)
    own_vehicle: bool = False
    languages: list[str] = Field(default_factory=list)
    available_days: list[int] = Field(default_factory=list)
    available_from: str = "00:00"
    available_to: str = "24:00"
    travel_km: int = Field(10, ge=0, le=500)

    @field_validator("email", "neighbourhood", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("name", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return " ".join(value.split()) if isinstance(value, str) else value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return email_field(value)

    @field_validator("skills", "licence_categories", "languages", "available_days",
                     mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split(value)

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: list[str]) -> list[str]:
        return _unknown(value, SKILLS, _("Unknown skill: %(names)s"))

    @field_validator("licence_categories")
    @classmethod
    def _licences(cls, value: list[str]) -> list[str]:
        return _unknown([v.upper() for v in value], LICENCE_CATEGORIES,
                        _("Unknown driving-licence category: %(names)s"))

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        return _unknown([v.lower() for v in value], LANGUAGES, _("Unknown language: %(names)s"))

    @field_validator("available_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(day < 0 or day > 6 for day in value):
            raise ValueError(_("Days are numbered 0 (Monday) to 6 (Sunday)."))
        return sorted(set(value))

    @field_validator("available_from", "available_to")
    @classmethod
    def _hours(cls, value: str) -> str:
        if not HOURS.match(value.strip()):
            raise ValueError(_("Give the time as HH:MM, e.g. 08:00."))
        return value.strip()

    @model_validator(mode="after")
    def _window(self) -> ProfileIn:
        if minutes_of(self.available_to) <= minutes_of(self.available_from):
            raise FieldError("available_to", _("The end of the hours is not after their start."))
        if self.licence_categories and "driving" not in self.skills:
            self.skills.append("driving")
        return self


class VolunteerIn(ProfileIn):
    """A registration, as the portal and the CREWS partners' API give it."""

    phone: str = Field(min_length=1, max_length=32)
    birth_date: date
    guardian_name: str = Field("", max_length=200)
    guardian_phone: str = Field("", max_length=32)
    guardian_consent: bool = False
    consent: bool = False
    consent_version: str = Field("", max_length=32)
    certificates: list[CertificateIn] = Field(default_factory=list, max_length=20)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return phone_field(value)

    @field_validator("guardian_name", "guardian_phone", mode="before")
    @classmethod
    def _strip_guardian(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _person(self) -> VolunteerIn:
        from sargs.volunteers.consent import CONSENT_VERSION

        age = age_on(self.birth_date, clock.now().date())
        if age < MINOR_WITH_GUARDIAN:
            raise FieldError("birth_date", _(
                "Volunteers must be at least 16 years old (16–17 only with a guardian's "
                "consent)."))
        if age > OLDEST:
            raise FieldError("birth_date", _("Check the date of birth."))
        if age < ADULT:
            if not self.guardian_name:
                raise FieldError("guardian_name", _(
                    "A volunteer under 18 needs a parent's or guardian's consent: give their "
                    "name."))
            if not self.guardian_phone:
                raise FieldError("guardian_phone", _("Give the parent's or guardian's phone."))
            try:
                self.guardian_phone = normalise_phone(self.guardian_phone)
            except AddressError:
                raise FieldError("guardian_phone", _(
                    "A phone number has 6–20 digits, e.g. +371 20000000.")) from None
            if not self.guardian_consent:
                raise FieldError("guardian_consent", _(
                    "The parent or guardian must agree to the registration."))
        if not self.consent:
            raise FieldError("consent", _("Registration needs your consent to the text above."))
        if self.consent_version and self.consent_version != CONSENT_VERSION:
            raise FieldError("consent_version", _(
                "The consent text has changed; read the current one and agree again."))
        return self


class CodeIn(BaseModel):
    code: str = Field(min_length=4, max_length=12)

    @field_validator("code", mode="before")
    @classmethod
    def _digits(cls, value: object) -> object:
        return "".join(value.split()) if isinstance(value, str) else value


class SignInIn(BaseModel):
    """Where to send a sign-in code or link: a phone number or an e-mail address."""

    address: str = Field(min_length=3, max_length=254)


class DecisionIn(BaseModel):
    status: Literal["active", "reserve", "inactive", "pending"]
    note: str = Field("", max_length=2000)


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class SearchIn(BaseModel):
    """A coordinator's filters; every one optional."""

    text: str | None = Field(None, max_length=200)  # name, phone or e-mail
    status: Literal["pending", "active", "reserve", "inactive"] | None = None
    skills: list[str] = Field(default_factory=list)
    municipality: str | None = Field(None, max_length=16)
    neighbourhood: str | None = Field(None, max_length=16)
    team_id: int | None = None
    weekday: int | None = Field(None, ge=0, le=6)
    hour: int | None = Field(None, ge=0, le=23)
    certificate: str | None = Field(None, max_length=32)  # a kind valid on ``valid_on``
    valid_on: date | None = None
    own_vehicle: bool | None = None
    licence: str | None = Field(None, max_length=8)

    @field_validator("text", "status", "municipality", "neighbourhood", "team_id", "weekday",
                     "hour", "certificate", "valid_on", "own_vehicle", "licence", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("skills", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return [v for v in _split(value) if v] if isinstance(value, str | list) else value  # type: ignore[union-attr]


class TeamIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["team", "neighbourhood"] = "team"
    area_code: str | None = Field(None, max_length=16)
    coordinator_id: int | None = None

    @field_validator("area_code", "coordinator_id", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)


class CourseIn(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    title_lv: str = Field(min_length=1, max_length=200)
    title_en: str = Field("", max_length=200)
    description: str = Field("", max_length=5000)
    certificate_kind: str | None = Field(None, max_length=32)
    certificate_months: int | None = Field(None, ge=1, le=240)

    @field_validator("certificate_kind", "certificate_months", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("certificate_kind")
    @classmethod
    def _kind(cls, value: str | None) -> str | None:
        if value is not None and value not in SKILLS:
            raise ValueError(_("Unknown kind of certificate: %(name)s", name=value))
        return value


class SessionIn(BaseModel):
    course_id: int
    starts_at: datetime
    ends_at: datetime
    place: str = Field(min_length=1, max_length=300)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    instructor_id: int | None = None
    capacity: int = Field(ge=1, le=1000)

    @field_validator("lat", "lon", "instructor_id", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @model_validator(mode="after")
    def _order(self) -> SessionIn:
        self.starts_at, self.ends_at = riga_time(self.starts_at), riga_time(self.ends_at)
        if self.ends_at <= self.starts_at:
            raise FieldError("ends_at", _("The end is not after the start."))
        return self


class CallOutIn(BaseModel):
    activation_id: int
    link_kind: Literal["alert", "cad", "exercise", "none"] = "none"
    link_ref: str | None = Field(None, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    brief: str = Field("", max_length=500)  # an SMS carries it: kept short
    skills: list[str] = Field(default_factory=list)
    area_code: str | None = Field(None, max_length=16)
    place: str = Field(min_length=1, max_length=300)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    starts_at: datetime
    ends_at: datetime
    needed: int = Field(ge=1, le=1000)

    @field_validator("link_ref", "area_code", "lat", "lon", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("skills", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split(value)

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: list[str]) -> list[str]:
        return _unknown(value, SKILLS, _("Unknown skill: %(names)s"))

    @model_validator(mode="after")
    def _order(self) -> CallOutIn:
        self.starts_at, self.ends_at = riga_time(self.starts_at), riga_time(self.ends_at)
        if self.ends_at <= self.starts_at:
            raise FieldError("ends_at", _("The end is not after the start."))
        return self
