"""Photos of reports: only real JPEG and PNG, not too big, at most three, turned
upright, with the EXIF location read and every piece of metadata stripped."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from sargs.cad import photos
from sargs.cad.models import CadPhoto
from tests.cad.conftest import CITY_POINT
from tests.kernel.helpers import count


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 2)
    return float(degrees), float(minutes), seconds


def jpeg_with_gps(lat: float = CITY_POINT[0], lon: float = CITY_POINT[1], *,
                  size: tuple[int, int] = (40, 20), orientation: int = 6) -> bytes:
    """A phone's JPEG: taken at (lat, lon), rotated by EXIF, with its maker and a comment."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N" if lat >= 0 else "S", 2: _dms(abs(lat)),
                    3: "E" if lon >= 0 else "W", 4: _dms(abs(lon))}
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", exif=exif.tobytes(),
                                                comment=b"my secret comment")
    return out.getvalue()


def png(size: tuple[int, int] = (30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 120, 0, 128)).save(out, "PNG")
    return out.getvalue()


def test_the_location_is_read_and_the_stored_photo_carries_no_metadata(app):
    original = jpeg_with_gps()
    assert b"PhoneMaker" in original and b"my secret comment" in original

    with app.test_request_context():
        cleaned = photos.clean(original)

    assert cleaned.location == pytest.approx(CITY_POINT, abs=1e-5)
    assert cleaned.content_type == "image/jpeg"
    # Orientation 6 is "turn 90°": the 40×20 original stands upright as 20×40.
    assert (cleaned.width, cleaned.height) == (20, 40)
    stored = Image.open(io.BytesIO(cleaned.data))
    assert stored.format == "JPEG" and stored.size == (20, 40)
    assert dict(stored.getexif()) == {}
    for trace in (b"Exif", b"PhoneMaker", b"my secret comment"):
        assert trace not in cleaned.data


def test_a_southern_western_position_is_negative(app):
    with app.test_request_context():
        assert photos.read_location(jpeg_with_gps(-33.5, -70.25)) == pytest.approx(
            (-33.5, -70.25), abs=1e-4)
        assert photos.read_location(png()) is None
        assert photos.read_location(b"not a photo") is None


def test_a_png_stays_a_png(app):
    with app.test_request_context():
        cleaned = photos.clean(png())
    assert cleaned.content_type == "image/png"
    assert Image.open(io.BytesIO(cleaned.data)).format == "PNG"
    assert cleaned.location is None


@pytest.mark.parametrize("data", [
    b"This is a text file, named photo.jpg by someone.",
    b"",
    b"\xff\xd8\xff\xe0 a JPEG's first bytes and then nothing",
], ids=["text", "empty", "truncated"])
def test_what_is_not_a_jpeg_or_png_is_refused_on_the_photos_field(app, data):
    with app.test_request_context(), pytest.raises(photos.PhotoError) as caught:
        photos.clean(data)
    assert caught.value.field == "photos"
    assert caught.value.message


def test_a_gif_is_refused_though_pillow_reads_it(app):
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    with app.test_request_context(), pytest.raises(photos.PhotoError):
        photos.clean(out.getvalue())


def test_a_decompression_bomb_is_refused_before_decoding(app):
    out = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(out, "PNG")  # 50 megapixels in a few kilobytes
    assert len(out.getvalue()) < 100_000
    with app.test_request_context(), pytest.raises(photos.PhotoError) as caught:
        photos.clean(out.getvalue())
    assert "40" in caught.value.message


def test_a_file_over_8_mb_is_refused(app):
    with app.test_request_context(), pytest.raises(photos.PhotoError) as caught:
        photos.clean(png() + b"\0" * photos.MAX_BYTES)
    assert "8" in caught.value.message


def test_at_most_three_photos_of_a_kind_per_report(app, db, make_report):
    report = make_report()
    with app.test_request_context():
        for _ in range(3):
            photos.store_photo(db, report, png())
        with pytest.raises(photos.PhotoError):
            photos.store_photo(db, report, png())
        photos.store_photo(db, report, jpeg_with_gps(), kind="resolution")
    db.commit()
    assert count(db, CadPhoto) == 4
    assert [p.kind for p in photos.photos_of(db, report)] == ["report"] * 3 + ["resolution"]
