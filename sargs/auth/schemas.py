"""Input of the account pages, the token pages and the CLI."""

from __future__ import annotations

from flask_babel import gettext as _
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from sargs.auth.roles import ROLES, SCOPES
from sargs.auth.service import MIN_PASSWORD_LENGTH

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"


class LoginForm(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TotpForm(BaseModel):
    code: str = Field(min_length=6, max_length=8)

    @field_validator("code")
    @classmethod
    def _digits(cls, value: str) -> str:
        value = value.replace(" ", "")
        if not value.isdigit():
            raise ValueError(_("The code is 6 digits from your authenticator app."))
        return value


def _known_roles(value: list[str]) -> list[str]:
    for role in value:
        if role not in ROLES:
            raise ValueError(_("Unknown role: %(role)s", role=role))
    return value


class PasswordFields(BaseModel):
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)
    password_again: str = Field(min_length=1, max_length=1024)

    @field_validator("password_again")
    @classmethod
    def _same(cls, value: str, info: ValidationInfo) -> str:
        # Checked on the field itself, so the form shows it next to the field
        # and together with the errors of every other field.
        if "password" in info.data and value != info.data["password"]:
            raise ValueError(_("The passwords do not match."))
        return value


class UserCreateForm(PasswordFields):
    username: str = Field(min_length=2, max_length=64, pattern=USERNAME_PATTERN)
    display_name: str = Field(min_length=1, max_length=120)
    email: str | None = Field(None, max_length=254)
    roles: list[str] = []

    @field_validator("username", mode="before")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("email", mode="before")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        return _known_roles(value)


class UserEditForm(BaseModel):
    display_name: str = Field(min_length=1, max_length=120)
    email: str | None = Field(None, max_length=254)
    roles: list[str] = []
    active: bool = False

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        return _known_roles(value)

    @field_validator("email", mode="before")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if isinstance(value, str) else value


class PasswordChangeForm(PasswordFields):
    current_password: str = Field(min_length=1, max_length=1024)


class TokenForm(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    scopes: list[str] = Field(min_length=1)

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        for scope in value:
            if scope not in SCOPES:
                raise ValueError(_("Unknown scope: %(scope)s", scope=scope))
        return value


class RolePolicyForm(BaseModel):
    totp_roles: list[str] = []

    @field_validator("totp_roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        return _known_roles(value)
