"""Residents subscribe to alerts by e-mail: double opt-in confirmed by a button.

:func:`start` keeps the resident's choices in an :class:`EmailConfirmation`
(only an HMAC of its random token is stored; valid :data:`CONFIRM_VALID`, at
most :data:`MAILS_PER_HOUR` per address an hour) and mails the link through
the configured SMTP relay (the e-mail adapter's own sending code). The link
opens a page whose "Apstiprināt / Confirm" button POSTs :func:`confirm`: a
GET never confirms, because mail scanners open links. Confirming makes one
public-subscriber contact per address with the consent version and time.

Every alert e-mail carries a personal link to :func:`subscriber_by_token`'s
page (and the ``List-Unsubscribe`` header): the subscriber sees and downloads
their data there and a POST button erases it (:func:`unsubscribe`) — the
same export and erasure as for SMS subscribers. That token is an HMAC of the
address, so nothing has to be stored per e-mail sent.

Nothing here logs an address or a token. The functions do not commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.channels.adapters import Adapter, Outgoing
from sargs.channels.consent import EMAIL_CONSENT_VERSION
from sargs.channels.contacts import AddressError, normalise
from sargs.channels.models import Contact, ContactAddress, EmailConfirmation
from sargs.channels.subscriptions import (
    HOME_AREAS,
    LANGUAGES,
    Choices,
    SubscriptionError,
    check_choices,
    erase_contact,
    export_contact,
    find_subscriber,
    save_subscriber,
)
from sargs.settings import Settings

CONFIRM_VALID = timedelta(hours=24)
MAILS_PER_HOUR = 3
CONFIRM_PATH = "/subscribe/email/confirm/"
MY_DATA_PATH = "/subscribe/email/my/"
# The confirmation e-mail; its first line is the subject.
CONFIRM_TEXTS = {
    "lv": ("Apstipriniet Jelgavas brīdinājumu saņemšanu e-pastā\n\n"
           "Lai saņemtu Jelgavas civilās aizsardzības brīdinājumus uz šo adresi, atveriet "
           "saiti un nospiediet pogu „Apstiprināt”:\n\n{url}\n\n"
           "Saite derīga 24 stundas. Ja to neprasījāt jūs, neko nedariet: bez apstiprinājuma "
           "adrese netiek pierakstīta."),
    "en": ("Confirm Jelgava alerts by e-mail\n\n"
           "To get Jelgava civil-protection alerts at this address, open the link and press "
           "the \"Confirm\" button:\n\n{url}\n\n"
           "The link is valid for 24 hours. If you did not ask for this, do nothing: without "
           "confirmation the address is not subscribed."),
}

# The "my data" link for a subscriber who asks for it again.
MANAGE_TEXTS = {
    "lv": ("Jūsu datu saite: Jelgavas brīdinājumi e-pastā\n\n"
           "Šajā lapā varat apskatīt, lejupielādēt vai dzēst savus datus un atteikties no "
           "brīdinājumiem:\n\n{url}\n\nJa to neprasījāt jūs, neko nedariet."),
    "en": ("Your data link: Jelgava alerts by e-mail\n\n"
           "On this page you can see, download or delete your data and unsubscribe:\n\n"
           "{url}\n\nIf you did not ask for this, do nothing."),
}

SendMail = Callable[[str, str, str], object]  # (address, language, text) → the Message-ID


def email_of(raw: str) -> str:
    try:
        return normalise("email", raw or "")
    except AddressError:
        raise SubscriptionError("email", "email", "not an e-mail address") from None


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def token_hash(secret: str | bytes, token: str) -> str:
    return hmac.new(_key(secret), f"email-confirm:{token}".encode(), hashlib.sha256).hexdigest()


def unsubscribe_token(secret: str | bytes, email: str) -> str:
    """The address's permanent "my data" token: an HMAC, so nothing is stored per mail."""
    digest = hmac.new(_key(secret), f"email-unsubscribe:{email}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def app_secret(settings: Settings) -> str:
    """The app's secret key (the adapter runs without the Flask app)."""
    from sargs.app import _secret_key

    return _secret_key(settings)


def unsubscribe_link(settings: Settings) -> Callable[[str], str]:
    """Address → the personal "my data / unsubscribe" link put in its alert e-mails."""
    secret = app_secret(settings)
    base = settings.base_url

    def link(email: str) -> str:
        return f"{base}{MY_DATA_PATH}{unsubscribe_token(secret, email.lower())}"

    return link


def mail_sender(adapter: Adapter) -> SendMail:
    """A ``send_mail`` that hands the mail straight to the e-mail adapter. Not an alert:
    no ledger row (delivery id 0), and so no unsubscribe link either."""

    def send(email: str, language: str, text: str) -> str:
        return adapter.send(Outgoing(
            delivery_id=0, channel="email", address=email, language=language, text=text,
            cap_status="Actual", level=None, expires_in_s=None,
        ))

    return send


def _check_rate(session: Session, address: str) -> None:
    """At most :data:`MAILS_PER_HOUR` mails (confirmations and data links) per address."""
    recent = session.scalar(
        select(func.count()).select_from(EmailConfirmation)
        .where(EmailConfirmation.email == address,
               EmailConfirmation.created_at > clock.now() - timedelta(hours=1))
    ) or 0
    if recent >= MAILS_PER_HOUR:
        raise SubscriptionError("email", "too_many_mails",
                                f"at most {MAILS_PER_HOUR} mails an hour per address")


def _send(send_mail: SendMail, address: str, language: str, text: str) -> None:
    try:
        send_mail(address, language, text)
    except Exception as error:  # the relay's reason stays out of the page and the log
        raise SubscriptionError("email", "mail_not_sent", "the mail could not be sent") \
            from error


def start(
    session: Session, email: str, language: str, areas: Sequence[str], levels: Sequence[str],
    consent_given: bool, *, send_mail: SendMail, secret: str | bytes, base_url: str,
    allowed_areas: Sequence[str] = HOME_AREAS, languages: Sequence[str] = LANGUAGES,
) -> EmailConfirmation:
    """Keep the choices with a new token and mail the confirmation link."""
    address = email_of(email)
    choices = check_choices(language, areas, levels, allowed_areas, languages)
    if not consent_given:
        raise SubscriptionError("consent", "consent", "consent is required")
    _check_rate(session, address)
    now = clock.now()
    token = secrets.token_urlsafe(32)
    row = EmailConfirmation(
        email=address, token_hash=token_hash(secret, token), created_at=now,
        expires_at=now + CONFIRM_VALID,
        choices={"language": choices.language, "areas": list(choices.areas),
                 "levels": list(choices.levels), "consent_version": EMAIL_CONSENT_VERSION},
    )
    session.add(row)
    session.flush()
    text = CONFIRM_TEXTS.get(choices.language, CONFIRM_TEXTS["lv"]).format(
        url=f"{base_url.rstrip('/')}{CONFIRM_PATH}{token}")
    _send(send_mail, address, choices.language, text)
    return row


def start_manage(session: Session, email: str, *, send_mail: SendMail, secret: str | bytes,
                 base_url: str) -> None:
    """Mail a subscribed address its "my data" link; send nothing otherwise (the page
    answers the same either way, so it does not tell who is subscribed). The mail is
    counted as a used confirmation row, so it shares the hourly limit and can
    never confirm anything."""
    address = email_of(email)
    contact = find_subscriber(session, address, ("email",))
    if contact is None:
        return
    _check_rate(session, address)
    now = clock.now()
    session.add(EmailConfirmation(
        email=address, token_hash=token_hash(secret, secrets.token_urlsafe(32)),
        choices={"purpose": "manage"}, created_at=now, expires_at=now, used_at=now,
    ))
    session.flush()
    url = f"{base_url.rstrip('/')}{MY_DATA_PATH}{unsubscribe_token(secret, address)}"
    text = MANAGE_TEXTS.get(contact.language, MANAGE_TEXTS["lv"]).format(url=url)
    _send(send_mail, address, contact.language, text)


def pending(session: Session, token: str, *, secret: str | bytes,
            lock: bool = False) -> EmailConfirmation:
    """The open confirmation of ``token``; refused when unknown, used or expired."""
    query = select(EmailConfirmation).where(
        EmailConfirmation.token_hash == token_hash(secret, token or ""))
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise SubscriptionError("token", "token_unknown", "no such confirmation link")
    if row.used_at is not None:
        raise SubscriptionError("token", "token_used", "the link was already used")
    if row.expires_at <= clock.now():
        raise SubscriptionError("token", "token_expired", "the link has expired")
    return row


def confirm(session: Session, token: str, *, secret: str | bytes) -> Contact:
    """The button's POST: subscribe the address with the choices kept for ``token``."""
    row = pending(session, token, secret=secret, lock=True)
    if row.choices.get("consent_version") != EMAIL_CONSENT_VERSION:
        raise SubscriptionError("consent_version", "consent_version",
                                "the consent text has changed; subscribe again")
    choices = Choices(row.choices["language"], tuple(row.choices["areas"]),
                      tuple(row.choices["levels"]))
    row.used_at = clock.now()
    contact = save_subscriber(session, row.email, "email", choices, verified=True)
    contact.consent_version = EMAIL_CONSENT_VERSION  # the e-mail text, not the SMS one
    session.flush()
    return contact


def subscriber_by_token(session: Session, token: str, *, secret: str | bytes) -> Contact:
    """The e-mail subscriber whose "my data" token is ``token``.

    The token is an HMAC of the address, so each subscribed address is tried: a
    city's e-mail subscribers are thousands at most, a few milliseconds of work.
    """
    given = (token or "").strip()
    if given:
        addresses = session.scalars(
            select(ContactAddress.address).join(Contact, Contact.id == ContactAddress.contact_id)
            .where(ContactAddress.channel == "email", Contact.is_public_subscriber.is_(True))
        )
        for address in addresses:
            if hmac.compare_digest(unsubscribe_token(secret, address), given):
                contact = find_subscriber(session, address, ("email",))
                if contact is not None:
                    return contact
    raise SubscriptionError("token", "email_not_subscribed", "this address is not subscribed")


def export(session: Session, token: str, *, secret: str | bytes) -> dict[str, Any]:
    """Everything Sargs keeps about the subscriber of ``token``'s address."""
    contact = subscriber_by_token(session, token, secret=secret)
    email = next(a.address for a in contact.addresses if a.channel == "email")
    return {"email": email, **export_contact(session, contact)}


def unsubscribe(session: Session, token: str, *, secret: str | bytes) -> int:
    """Erase the subscriber of ``token`` (their pending confirmations too); returns the
    ledger rows pseudonymised."""
    contact = subscriber_by_token(session, token, secret=secret)
    emails = [a.address for a in contact.addresses if a.channel == "email"]
    for row in session.scalars(select(EmailConfirmation)
                               .where(EmailConfirmation.email.in_(emails))):
        session.delete(row)
    return erase_contact(session, contact, secret=secret)
