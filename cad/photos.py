"""Photos of reports: checked, turned upright, stripped of their metadata, stored.

A resident's photo can carry where it was taken (EXIF GPS) — useful to place a report
given without a point — but also the phone's make, the time and a thumbnail of the
original. We read the position, then store freshly encoded pixels only: the stored
file carries no EXIF, no GPS and no comments.

What is accepted is judged by the content (Pillow decodes it), never by the file's
name or claimed type; huge files and decompression bombs are refused before decoding.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only

from sargs import clock
from sargs.cad.models import PHOTO_KINDS, CadPhoto, CadReport
from sargs.cad.service import ReportError

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_PER_REPORT = 3  # of each kind: the reporter's, the partner's
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
JPEG_QUALITY = 85
GPS_IFD = 0x8825
FIELD = "photos"


class PhotoError(ReportError):
    """A photo that cannot be taken; the form shows it on the photos field."""

    def __init__(self, message: str) -> None:
        super().__init__(FIELD, message)


@dataclass(frozen=True)
class CleanPhoto:
    """A photo ready to store: re-encoded pixels, and where it was taken if it said so."""

    content_type: str
    data: bytes
    width: int
    height: int
    location: tuple[float, float] | None


def clean(data: bytes) -> CleanPhoto:
    """Check one uploaded photo and re-encode it without metadata; PhotoError if it is
    not a JPEG or PNG, too big, or broken."""
    if not data:
        raise PhotoError(_("The photo is empty."))
    if len(data) > MAX_BYTES:
        raise PhotoError(_("A photo may be at most %(mb)s MB.", mb=MAX_BYTES // (1024 * 1024)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise PhotoError(_("Only JPEG and PNG photos can be sent."))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise PhotoError(_("A photo may have at most %(mp)s megapixels.",
                                   mp=MAX_PIXELS // 1_000_000))
            fmt = image.format
            location = _gps(image)
            image.load()
            upright = ImageOps.exif_transpose(image)
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise PhotoError(_("Only JPEG and PNG photos can be sent.")) from None
    except (OSError, ValueError, SyntaxError):
        raise PhotoError(_("The photo is damaged and cannot be read.")) from None
    return _encode(upright, fmt, location)


def _encode(image: Image.Image, fmt: str, location: tuple[float, float] | None) -> CleanPhoto:
    # Fresh pixels on a fresh image: nothing of the original's info (EXIF, ICC, text
    # chunks, comments) can ride along.
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    bare = Image.frombytes(image.mode, image.size, image.tobytes())
    if image.mode == "P":
        palette = image.getpalette()
        if palette is not None:
            bare.putpalette(palette)
    out = io.BytesIO()
    if fmt == "JPEG":
        bare.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        bare.save(out, "PNG", optimize=True)
    return CleanPhoto(FORMATS[fmt], out.getvalue(), bare.width, bare.height, location)


def _gps(image: Image.Image) -> tuple[float, float] | None:
    """(lat, lon) from the EXIF GPS block, or None when absent or nonsense."""
    try:
        gps = image.getexif().get_ifd(GPS_IFD)
    except (OSError, ValueError, TypeError, KeyError, SyntaxError):
        return None
    try:
        lat = _degrees(gps[2], gps.get(1, "N"), "S")
        lon = _degrees(gps[4], gps.get(3, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return round(lat, 7), round(lon, 7)


def _degrees(parts: object, ref: object, negative: str) -> float:
    degrees, minutes, seconds = (float(part) for part in parts)  # type: ignore[attr-defined]
    value = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return -value if str(ref).strip().upper() == negative else value


def read_location(data: bytes) -> tuple[float, float] | None:
    """Where a photo says it was taken, or None (also for what is not a photo)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _gps(Image.open(io.BytesIO(data)))
    except Exception:  # noqa: BLE001  anything unreadable simply has no location
        return None


def check_count(session: Session, report: CadReport | None, kind: str, adding: int) -> None:
    """Refuse more than MAX_PER_REPORT photos of one kind on a report."""
    existing = 0
    if report is not None and report.id is not None:
        existing = session.scalar(select(func.count()).select_from(CadPhoto).where(
            CadPhoto.report_id == report.id, CadPhoto.kind == kind)) or 0
    if existing + adding > MAX_PER_REPORT:
        raise PhotoError(_("At most %(n)s photos can be sent.", n=MAX_PER_REPORT))


def save(session: Session, report: CadReport, photo: CleanPhoto, *,
         kind: str = "report") -> CadPhoto:
    """Store a cleaned photo on a report (the caller commits)."""
    if kind not in PHOTO_KINDS:
        raise ValueError(f"unknown photo kind {kind!r}")
    check_count(session, report, kind, 1)
    row = CadPhoto(report_id=report.id, kind=kind, content_type=photo.content_type,
                   data=photo.data, width=photo.width, height=photo.height,
                   created_at=clock.now())
    session.add(row)
    session.flush()
    return row


def store_photo(session: Session, report: CadReport, data: bytes, *,
                kind: str = "report") -> CadPhoto:
    """Check, clean and store one uploaded photo of a report."""
    return save(session, report, clean(data), kind=kind)


def clean_all(uploads: list[bytes]) -> list[CleanPhoto]:
    """The photos of one form, each checked (PhotoError on the first bad one)."""
    if len(uploads) > MAX_PER_REPORT:
        raise PhotoError(_("At most %(n)s photos can be sent.", n=MAX_PER_REPORT))
    return [clean(data) for data in uploads]


def photos_of(session: Session, report: CadReport, kind: str | None = None) -> list[CadPhoto]:
    """A report's photos without their bytes (the pages link to them)."""
    query = (select(CadPhoto).options(load_only(CadPhoto.id, CadPhoto.report_id, CadPhoto.kind,
                                                CadPhoto.width, CadPhoto.height))
             .where(CadPhoto.report_id == report.id).order_by(CadPhoto.id))
    if kind is not None:
        query = query.where(CadPhoto.kind == kind)
    return list(session.scalars(query))
