"""Settings from the environment and ``.env`` (pydantic-settings).

Every setting is ``SARGS_<NAME>``; provider credentials keep their providers'
own names (``TWILIO_*``, ``TELEGRAM_BOT_TOKEN``). Invalid settings raise
:class:`SettingsError` whose message is one line naming the variable.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "SARGS_"

# Fields whose environment variable is not SARGS_<NAME>.
PROVIDER_VARIABLES = {
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_from_number": "TWILIO_FROM_NUMBER",
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
}


class SettingsError(Exception):
    """A setting is invalid; ``str(error)`` is one line for the operator."""


def _provider(name: str) -> AliasChoices:
    return AliasChoices(PROVIDER_VARIABLES[name])


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", populate_by_name=True
    )

    mode: Literal["production", "demo", "test"] = "production"
    database_url: str = "sqlite:///instance/sargs.db"
    instance_path: Path = Path("instance")
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(8787, ge=1, le=65535)
    public_url: str | None = None
    timezone: str = "Europe/Riga"
    languages: Annotated[list[str], NoDecode] = ["lv", "en"]
    home_areas: Annotated[list[str], NoDecode] = ["LV022", "LV023"]
    redis_url: str | None = None
    # Provider endpoints (tests and the demo point them at the simulators).
    twilio_api_url: str = "https://api.twilio.com"
    telegram_api_url: str = "https://api.telegram.org"
    # The residents' bot reads updates by long polling, or Telegram posts them to
    # /channels/telegram/webhook with this secret (default: derived from the secret key).
    telegram_bot_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_secret: SecretStr | None = None
    # The bot's @username (without @): volunteers link their chat by a t.me deep link.
    telegram_bot_username: str | None = None
    smtp_url: str | None = None  # smtp://user:password@host:587 or smtps://…
    email_from: str = "sargs@localhost"  # the sender address of e-mail alerts
    pbx_ami_url: str | None = None  # ami://user:secret@host:5038
    sip_proxy: str | None = None  # the PBX's SIP address for paging without AMI: host[:port]
    sip_user: str | None = None  # digest user name, when the PBX challenges the INVITE
    sip_password: SecretStr | None = None
    sip_from: str | None = None  # caller's SIP URI; default sip:<user or sargs>@<proxy host>
    sip_local_host: str | None = None  # our address in Via/Contact/SDP; default: routed to PBX
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "© OpenStreetMap contributors"
    map_center: Annotated[list[float], NoDecode] = [56.6511, 23.7214]
    tick_seconds: float = Field(5.0, gt=0, le=600)
    # Warning sources: Meteoalarm Atom (default) or JSON, LVĢMC's list.php, single CAP documents.
    feed_urls: Annotated[list[str], NoDecode] = [
        "https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-latvia"
    ]
    feed_poll_seconds: float = Field(60, ge=5, le=3600)
    feed_timeout_seconds: float = Field(10, gt=0, le=120)
    feed_max_bytes: int = Field(5_000_000, ge=10_000, le=100_000_000)  # per response
    feed_max_redirects: int = Field(3, ge=0, le=10)
    # LVĢMC's list.php names every warning in force: one that is missing on this many
    # successful polls in a row has ended (one missing poll may be a publishing gap).
    feed_absent_polls: int = Field(3, ge=1, le=100)
    # The <sender> of Sargs' own CAP alerts; identifiers are "<sender>.<alert id>".
    cap_sender: str = "sargs@jelgava.lv"
    # The 8787 line (cad): reporters' contact data is erased this many days after their
    # report closed (the report itself stays for the statistics).
    cad_retention_days: int = Field(365, ge=1, le=3650)
    # How long a partner's signed link to a report works.
    cad_partner_link_days: int = Field(30, ge=1, le=365)
    # The mailbox whose e-mails become draft reports: imap://USER:PASSWORD@HOST:143/INBOX
    # (STARTTLS when offered) or imaps://…:993/INBOX.
    cad_imap_url: SecretStr | None = None
    cad_imap_poll_seconds: float = Field(60, ge=5, le=3600)
    web_threads: int = Field(8, ge=1, le=256)
    # Sends a second per channel where the provider allows more than channels.rates.RATES
    # (e.g. "sms=30" for three senders, "telegram=100" with paid broadcasts).
    channel_rates: Annotated[dict[str, float], NoDecode] = {}
    # Messages one worker has in flight at once (and at most this many rows are left
    # ambiguous by a crash of that worker).
    worker_concurrency: int = Field(64, ge=1, le=1024)
    # Seconds a worker holds claimed rows; a crashed worker's rows are reconciled after it.
    worker_lease_seconds: float = Field(30, ge=2, le=3600)
    login_rate_limit: str = "10 per minute"
    login_lockout_failures: int = Field(5, ge=1, le=100)
    login_lockout_minutes: int = Field(15, ge=1, le=1440)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    twilio_account_sid: str | None = Field(None, validation_alias=_provider("twilio_account_sid"))
    twilio_auth_token: SecretStr | None = Field(
        None, validation_alias=_provider("twilio_auth_token")
    )
    twilio_from_number: str | None = Field(None, validation_alias=_provider("twilio_from_number"))
    telegram_bot_token: SecretStr | None = Field(
        None, validation_alias=_provider("telegram_bot_token")
    )

    @field_validator("languages", "home_areas", "feed_urls", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("map_center", mode="before")
    @classmethod
    def _split_center(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("map_center")
    @classmethod
    def _check_center(cls, value: list[float]) -> list[float]:
        if len(value) != 2 or not (-90 <= value[0] <= 90 and -180 <= value[1] <= 180):
            raise ValueError("expected 'latitude,longitude'")
        return value

    @field_validator("channel_rates", mode="before")
    @classmethod
    def _parse_channel_rates(cls, value: object) -> object:
        if isinstance(value, str):
            from sargs.channels.rates import parse_rates

            return parse_rates(value)
        return value

    @field_validator("sip_proxy")
    @classmethod
    def _check_sip_proxy(cls, value: str | None) -> str | None:
        if value:
            from sargs.channels.sip_messages import proxy_address

            proxy_address(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql")):
            raise ValueError("expected sqlite:///PATH or postgresql+psycopg://…")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("login_rate_limit")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        # Flask-Limiter would skip a limit it cannot parse, leaving logins unlimited.
        try:
            limits = parse_many(value)
        except ValueError:
            limits = []
        if not limits or any(limit.amount < 1 for limit in limits):
            raise ValueError("expected a rate such as '10 per minute'")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters A-Z, a-z, 0-9, _ and - as a secret token.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}",
                                                  value.get_secret_value()):
            raise ValueError("1-256 characters: letters, digits, _ and -")
        return value

    @field_validator("languages")
    @classmethod
    def _check_languages(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one language is needed")
        return value

    @field_validator("home_areas")
    @classmethod
    def _check_home_areas(cls, value: list[str]) -> list[str]:
        # Without a home area no warning would ever concern the city.
        if not value:
            raise ValueError("at least one area code is needed, e.g. LV022")
        return [code.upper() for code in value]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def cookie_secure(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def variable_name(field: str) -> str:
    return PROVIDER_VARIABLES.get(field, ENV_PREFIX + field.upper())


def _is_secret(field: str) -> bool:
    """A SecretStr setting (the secret key, webhook secrets, passwords)."""
    info = Settings.model_fields.get(field)
    return info is not None and "SecretStr" in str(info.annotation)


def _shown(field: str, value: object) -> str:
    """The refused value for the message, never a secret: credentials are left
    out and the password of a URL is masked."""
    if isinstance(value, dict) or field in PROVIDER_VARIABLES or _is_secret(field):
        return ""
    if isinstance(value, str):
        value = re.sub(r"(://[^/:@]*:)[^/@]*@", r"\1***@", value)
    return f"={value!r}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings; raise :class:`SettingsError` with one clear line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        shown = _shown(field, error.get("input"))
        reason = error["msg"].removeprefix("Value error, ")
        raise SettingsError(f"invalid setting {variable_name(field)}{shown}: {reason}") from None
