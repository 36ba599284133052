"""A partner's API token: made and replaced by ``sargs cad partner-token``, shown once,
kept only as its SHA-256 in ``CadPartner.api_token_hash``. The partner sends it as
``Authorization: Bearer …`` to the partner API (:mod:`sargs.cad.api`)."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.cad.models import CadPartner

PREFIX = "cadp_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(partner: CadPartner) -> str:
    """A new token for ``partner``; the previous one stops working. Callers commit."""
    token = PREFIX + secrets.token_urlsafe(32)
    partner.api_token_hash = digest(token)
    return token


def revoke(partner: CadPartner) -> None:
    partner.api_token_hash = None


def partner_for(session: Session, presented: str) -> CadPartner | None:
    """The active partner holding this token, or None. The lookup is by the token's
    hash, so nothing about the token itself can be learnt from its timing."""
    if not presented.startswith(PREFIX):
        return None
    return session.scalar(select(CadPartner).where(
        CadPartner.api_token_hash == digest(presented), CadPartner.active.is_(True)))
