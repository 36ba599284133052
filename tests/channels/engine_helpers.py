"""Builders shared by the notification-engine tests."""

from __future__ import annotations

from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.channels.alerts import AlertDraft
from sargs.channels.contacts import add_to_group, ensure_group, register_contact


def resident(db, name, phone, *, language="lv", areas=("LV022",), levels=("orange", "red"),
             telegram=None):
    addresses = ([("telegram", telegram)] if telegram else []) + [("sms", phone)]
    return register_contact(db, name, addresses, language=language, areas=areas, levels=levels,
                            public_subscriber=True)


def commission_member(db, name, phone, telegram):
    group = ensure_group(db, "commission", "Civilās aizsardzības komisija", "staff")
    member = register_contact(db, name, [("voice", phone), ("telegram", telegram)])
    add_to_group(db, group, member)
    return member


def exercise_activation(db):
    return open_activation(db, ActivationOpen(title="Galda mācības: vētra", kind="exercise"), None)


def public_orange(**changes):
    values = dict(
        source="manual", cap_status="Actual", level="orange",
        texts={"lv": "Oranžais brīdinājums: stiprs vējš Jelgavā.",
               "en": "Orange warning: strong wind in Jelgava."},
        audience={"public": {"areas": ["LV022"]}, "groups": ["commission"]},
        channels=["telegram", "sms", "voice"],
    )
    values.update(changes)
    return AlertDraft(**values)
