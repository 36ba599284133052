"""Telling a shelter's staff that it was opened.

The responsible person, the key holder and the volunteers assigned to the place
are reached through the notification engine, as a call-out alert (source
"callout": staff summoned to act, not a public warning, so no second person is
needed) by SMS, voice call, e-mail and Telegram, wherever they have an address.
The delivery ledger then shows who was told and when, and the dispatcher
retries as for any alert. An opening in an exercise
sends an Exercise alert in that activation, which the engine marks "MĀCĪBAS" /
"EXERCISE" in every text.

The two people become contacts registered by this domain (owner "shelters"),
found again by their phone number or e-mail, so each opening reuses them.
:func:`sargs.shelters.service.open_shelter` calls :func:`notify_opened`, so the
pages, the API and the CLI all tell the staff the same way.
"""

from __future__ import annotations

import logging

from flask import has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.activations.models import Activation
from sargs.channels import alerts
from sargs.channels.contacts import AddressError, normalise, register_contact
from sargs.channels.ledger import configured_channels
from sargs.channels.models import Alert, Contact, ContactAddress
from sargs.settings import Settings
from sargs.shelters.models import Shelter, ShelterOpening

log = logging.getLogger(__name__)
OWNER = "shelters"
SOURCE = "callout"
CHANNELS = ("sms", "voice", "email", "telegram")
# The procedure as the register holds it can be long; the message carries its start
# (the register's page has it all) so an SMS stays a few segments.
PROCEDURE_MAX = 300

TEXTS = {
    "lv": {"opened": "Patvertne “{name}” ({address}) atvērta (aktivizācija: {activation}).",
           "procedure": "Atveršanas kārtība: {procedure}",
           "no_procedure": "Atveršanas kārtība reģistrā nav norādīta.",
           "responsible": "Patvertnes “{name}” atbildīgā persona",
           "key_holder": "Patvertnes “{name}” atslēgu turētājs"},
    "en": {"opened": "Shelter “{name}” ({address}) is open (activation: {activation}).",
           "procedure": "Opening procedure: {procedure}",
           "no_procedure": "The register holds no opening procedure.",
           "responsible": "Responsible person of shelter “{name}”",
           "key_holder": "Key holder of shelter “{name}”"},
}


def _procedure(shelter: Shelter) -> str:
    procedure = " ".join(shelter.opening_procedure.split())
    if len(procedure) > PROCEDURE_MAX:
        procedure = procedure[:PROCEDURE_MAX].rsplit(" ", 1)[0] + " …"
    return procedure


def opened_texts(shelter: Shelter, activation: Activation) -> dict[str, str]:
    """Language → the staff message, Latvian first."""
    procedure = _procedure(shelter)
    bodies = {}
    for language, words in TEXTS.items():
        how = words["procedure"].format(procedure=procedure) if procedure \
            else words["no_procedure"]
        bodies[language] = " ".join([words["opened"].format(
            name=shelter.name, address=shelter.address, activation=activation.title), how])
    return bodies


def _people(shelter: Shelter) -> list[tuple[str, list[tuple[str, str]]]]:
    """(name, [(channel, raw address)]) of the responsible person and the key holder."""
    responsible = [(channel, shelter.responsible_phone) for channel in ("sms", "voice")
                   if shelter.responsible_phone.strip()]
    if shelter.responsible_email.strip():
        responsible.append(("email", shelter.responsible_email))
    key_holder = [(channel, shelter.key_holder_phone) for channel in ("sms", "voice")
                  if shelter.key_holder_phone.strip()]
    return [(shelter.responsible_name.strip()
             or TEXTS["lv"]["responsible"].format(name=shelter.name), responsible),
            (shelter.key_holder_name.strip()
             or TEXTS["lv"]["key_holder"].format(name=shelter.name), key_holder)]


def _usable(shelter: Shelter, raw: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The addresses normalised; one that cannot be used is left out (and logged without
    the address itself)."""
    usable = []
    for channel, address in raw:
        try:
            usable.append((channel, normalise(channel, address)))
        except AddressError:
            log.warning("shelter %s: a staff %s address cannot be used", shelter.id, channel)
    return list(dict.fromkeys(usable))


def staff_contact(session: Session, name: str, addresses: list[tuple[str, str]]) -> Contact:
    """This domain's contact already holding one of the (normalised) addresses, given any
    it lacks; or a new one."""
    existing = session.scalar(
        select(Contact).join(ContactAddress, ContactAddress.contact_id == Contact.id).where(
            Contact.owner == OWNER, ContactAddress.address.in_([a for _c, a in addresses]))
        .order_by(Contact.id).limit(1))
    if existing is None:
        return register_contact(session, name, addresses, owner=OWNER)
    held = {(a.channel, a.address): a for a in existing.addresses}
    for channel, address in addresses:
        if (channel, address) in held:
            held[(channel, address)].active = True  # the register says it is theirs
        else:
            existing.addresses.append(ContactAddress(
                channel=channel, address=address, preference=len(existing.addresses)))
    existing.name, existing.active = name, True
    session.flush()
    return existing


def notify_opened(session: Session, settings: Settings | None, shelter: Shelter,
                  opening: ShelterOpening) -> Alert | None:
    """Send the staff the opening; None when the register names nobody reachable.

    ``settings`` says which channels are configured; without it (and outside the app)
    the ledger rows wait, visibly held, until a channel is configured."""
    if settings is None and has_app_context():
        from sargs.context import settings as app_settings

        settings = app_settings()
    activation = session.get(Activation, opening.activation_id)
    assert activation is not None
    contacts: list[Contact] = []
    for name, raw in _people(shelter):
        addresses = _usable(shelter, raw)
        if addresses:
            contacts.append(staff_contact(session, name, addresses))
    from sargs.volunteers.service import shelter_contacts  # the volunteers assigned to it

    contacts += [c for c in (session.get(Contact, i) for i in shelter_contacts(
        session, shelter.id)) if c is not None]
    ids = list(dict.fromkeys(contact.id for contact in contacts))
    channels = [c for c in CHANNELS
                if any(a.channel == c and a.active for contact in contacts
                       for a in contact.addresses)]
    if not ids or not channels:
        log.info("shelter %s opened: no staff contact to tell", shelter.id)
        return None
    draft = alerts.AlertDraft(
        source=SOURCE, cap_status="Exercise" if activation.is_exercise else "Actual",
        texts=opened_texts(shelter, activation), audience={"contacts": ids},
        channels=channels, activation_id=activation.id,
        source_ref=f"shelter_opening:{opening.id}",
    )
    try:
        alert = alerts.create_alert(session, draft, None)
    except alerts.AlertError as error:  # e.g. a procedure an exercise text may not carry
        log.warning("shelter %s opened: staff not told (%s)", shelter.id, error.field)
        return None
    alerts.submit(session, alert, None)  # staff only: no second person
    alerts.start_sending(session, alert,
                         configured_channels(settings) if settings is not None else set())
    return alert
