"""Escalation policies: what a warning of a level sets off, and who must acknowledge.

Policies are data, seeded with the defaults below and edited by admins. An edit
writes a new version and retires the old one; the notice keeps a frozen copy, so
a later edit never changes what an alert was made under.

Defaults: yellow reaches the duty officers and the subscribers who asked for
yellow, only between 07:00 and 21:00 (Europe/Riga); orange and red reach the
commission, the subscribers and the institutions' IP phones at any hour, and
the commission's chain (chair, deputy, duty officer — five minutes each, three
rounds) is called until someone acknowledges. LVĢMC warnings need no second
person; an admin may require one for a level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.channels import contacts
from sargs.channels.models import CHANNELS, LEVELS, ContactGroup
from sargs.warnings.models import EscalationPolicy

# The groups the defaults name; created empty, the contacts page fills them.
DEFAULT_GROUPS = (
    ("duty-officers", "Dežurējošie / Duty officers", "staff"),
    ("commission", "Civilās aizsardzības komisija / Civil-protection commission", "staff"),
    ("commission-chair", "Komisijas priekšsēdētājs / Commission chair", "staff"),
    ("commission-deputy", "Priekšsēdētāja vietnieks / Deputy chair", "staff"),
    ("institutions-paging", "Iestāžu IP telefoni / Institutions' IP phones", "paging"),
)
COMMISSION_CHAIN = {
    "groups": ["commission-chair", "commission-deputy", "duty-officers"],
    "minutes": 5, "rounds": 3, "channels": ["voice", "telegram", "sms"],
}
DEFAULTS: tuple[dict[str, Any], ...] = (
    {"name": "yellow", "level": "yellow",
     "audience": {"groups": ["duty-officers"], "public": True},
     "channels": ["telegram", "sms", "email"], "quiet_hours": True, "ack_chain": None},
    {"name": "orange", "level": "orange",
     "audience": {"groups": ["commission", "duty-officers", "institutions-paging"],
                  "public": True},
     "channels": ["telegram", "sms", "email", "voice", "pbx"], "quiet_hours": False,
     "ack_chain": COMMISSION_CHAIN},
    {"name": "red", "level": "red",
     "audience": {"groups": ["commission", "duty-officers", "institutions-paging"],
                  "public": True},
     "channels": ["telegram", "sms", "email", "voice", "pbx", "sip"], "quiet_hours": False,
     "ack_chain": COMMISSION_CHAIN},
)


class PolicyError(ValueError):
    """A rule refused the policy: ``field`` at fault, ``message`` in English, and for
    unknown groups their ``codes`` (the form names them in the user's language)."""

    def __init__(self, field: str, message: str, codes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.codes = codes


@dataclass(frozen=True)
class PolicyInput:
    name: str
    level: str
    audience: dict[str, Any]
    channels: list[str]
    quiet_hours: bool = False
    approval_required: bool = False
    ack_chain: dict[str, Any] | None = None
    awareness_type: int | None = None
    area: str | None = None


def seed(session: Session) -> int:
    """The default groups and policies where none exist yet; returns policies added."""
    for code, name, kind in DEFAULT_GROUPS:
        contacts.ensure_group(session, code, name, kind)
    if session.scalar(select(EscalationPolicy.id).limit(1)) is not None:
        return 0
    for default in DEFAULTS:
        session.add(_row(PolicyInput(**default), version=1, by_id=None))
    session.flush()
    return len(DEFAULTS)


def _check(session: Session, data: PolicyInput) -> None:
    if not data.name.strip():
        raise PolicyError("name", "a policy needs a name")
    if data.level not in LEVELS:
        raise PolicyError("level", "choose yellow, orange or red")
    if not data.channels or set(data.channels) - set(CHANNELS):
        raise PolicyError("channels", "choose channels from " + ", ".join(CHANNELS))
    groups = list(data.audience.get("groups", []))
    if data.ack_chain:
        groups += list(data.ack_chain.get("groups", []))
        minutes, rounds = data.ack_chain.get("minutes"), data.ack_chain.get("rounds")
        if not isinstance(minutes, int) or not 1 <= minutes <= 120:
            raise PolicyError("ack_chain", "minutes between calls: a whole number 1–120")
        if not isinstance(rounds, int) or not 1 <= rounds <= 10:
            raise PolicyError("ack_chain", "rounds: a whole number 1–10")
    known = set(session.scalars(select(ContactGroup.code).where(ContactGroup.code.in_(groups))))
    unknown = sorted(set(groups) - known)
    if unknown:
        raise PolicyError("audience", "unknown groups: " + ", ".join(unknown), tuple(unknown))
    if not groups and not data.audience.get("public"):
        raise PolicyError("audience", "the policy reaches nobody")


def _row(data: PolicyInput, version: int, by_id: int | None) -> EscalationPolicy:
    return EscalationPolicy(
        name=data.name.strip(), version=version, current=True, level=data.level,
        awareness_type=data.awareness_type, area=data.area, audience=data.audience,
        channels=list(dict.fromkeys(data.channels)), quiet_hours=data.quiet_hours,
        approval_required=data.approval_required, ack_chain=data.ack_chain,
        created_by_id=by_id, created_at=clock.now(),
    )


def save(session: Session, data: PolicyInput, by_id: int | None) -> EscalationPolicy:
    """A new policy, or a new version of the current one of that name."""
    _check(session, data)
    current = session.scalar(select(EscalationPolicy).where(
        EscalationPolicy.name == data.name.strip(), EscalationPolicy.current.is_(True)))
    version = 1
    if current is not None:
        current.current = False
        version = current.version + 1
    row = _row(data, version, by_id)
    session.add(row)
    session.flush()
    return row


def current_policies(session: Session) -> list[EscalationPolicy]:
    return list(session.scalars(select(EscalationPolicy).where(EscalationPolicy.current.is_(True))
                                .order_by(EscalationPolicy.level, EscalationPolicy.name)))


def history(session: Session, name: str) -> list[EscalationPolicy]:
    return list(session.scalars(select(EscalationPolicy).where(EscalationPolicy.name == name)
                                .order_by(EscalationPolicy.version.desc())))


def choose(session: Session, level: str, awareness_type: int | None,
           home_areas: list[str]) -> EscalationPolicy | None:
    """The most specific current policy for the level: type and area match beat "any"."""
    best: tuple[int, EscalationPolicy] | None = None
    for policy in current_policies(session):
        if policy.level != level:
            continue
        if policy.awareness_type is not None and policy.awareness_type != awareness_type:
            continue
        if policy.area is not None and policy.area not in home_areas:
            continue
        score = (policy.awareness_type is not None) * 2 + (policy.area is not None)
        if best is None or score > best[0]:
            best = (score, policy)
    return best[1] if best else None


def frozen(policy: EscalationPolicy) -> dict[str, Any]:
    """Everything an alert is made from, copied: later edits do not reach it."""
    return {
        "id": policy.id, "name": policy.name, "version": policy.version, "level": policy.level,
        "audience": policy.audience, "channels": policy.channels,
        "quiet_hours": policy.quiet_hours, "approval_required": policy.approval_required,
        "ack_chain": policy.ack_chain,
    }


def chain_contacts(session: Session, chain: dict[str, Any]) -> list[int]:
    """The first active member of each group of the chain, in calling order."""
    found: list[int] = []
    for code in chain.get("groups", []):
        group = session.scalar(select(ContactGroup).where(ContactGroup.code == code))
        if group is None:
            continue
        members = sorted((m for m in group.members if m.contact.active), key=lambda m: m.id)
        for member in members:
            if member.contact_id not in found:
                found.append(member.contact_id)
                break
    return found
