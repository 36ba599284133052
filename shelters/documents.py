"""Photos and documents of a place: PDF, JPEG or PNG, judged by the content, never by the
file's name or claimed type. Photos are re-encoded without their metadata (as the 8787
photos are, see :mod:`sargs.cad.photos`); PDFs are stored as they came."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from sargs import clock
from sargs.cad import photos
from sargs.shelters.models import Shelter, ShelterDocument
from sargs.shelters.service import ShelterError

MAX_BYTES = 10 * 1024 * 1024
FIELD = "document"


def store_document(session: Session, shelter: Shelter, filename: str,
                   data: bytes) -> ShelterDocument:
    """Check and store one upload (the caller commits); ShelterError on the field
    ``document`` when it is empty, too big or not a PDF, JPEG or PNG."""
    if not data:
        raise ShelterError(FIELD, _("The file is empty."))
    if len(data) > MAX_BYTES:
        raise ShelterError(FIELD, _("A file may be at most %(mb)s MB.",
                                    mb=MAX_BYTES // (1024 * 1024)))
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "file"
    if data.startswith(b"%PDF-"):
        kind, content_type = "document", "application/pdf"
    else:
        try:
            clean = photos.clean(data)
        except photos.PhotoError:
            raise ShelterError(FIELD, _("Only PDF, JPEG and PNG files can be added.")) from None
        kind, content_type, data = "photo", clean.content_type, clean.data
    document = ShelterDocument(shelter_id=shelter.id, kind=kind, filename=name,
                               content_type=content_type, data=data, created_at=clock.now())
    session.add(document)
    session.flush()
    return document


def documents_of(session: Session, shelter: Shelter) -> list[ShelterDocument]:
    """A place's documents without their bytes (the page links to them)."""
    return list(session.scalars(
        select(ShelterDocument).options(load_only(
            ShelterDocument.id, ShelterDocument.shelter_id, ShelterDocument.kind,
            ShelterDocument.filename, ShelterDocument.content_type,
            ShelterDocument.created_at))
        .where(ShelterDocument.shelter_id == shelter.id).order_by(ShelterDocument.id)))
