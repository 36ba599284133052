"""The register as CSV: export then import gives the same register, a matching name and
address updates a place, Excel's files (BOM, ``;``) are read, and a bad file is refused
naming each line and field with nothing stored."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs.cli import cli
from sargs.shelters import csv_io
from sargs.shelters.models import Shelter
from tests.conftest import csrf_token
from tests.shelters.conftest import CENTRE

HEADER = "name;address;lat;lon;kind;capacity;facilities;step_free;sign_placed_on\n"


def _run(app: Any, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def _register(db: Any) -> list[tuple[Any, ...]]:
    with Session(db.get_bind()) as session:
        return [tuple(csv_io.shelter_values(s).values()) for s in session.scalars(
            select(Shelter).where(Shelter.active.is_(True)).order_by(Shelter.name))]


def test_export_then_import_gives_the_same_register(app, db, make_shelter, tmp_path):
    make_shelter("Jelgavas Valsts ģimnāzija", compliance="full", capacity_night=200,
                 floor_area_m2=900, responsible_name="Anna Bērziņa",
                 responsible_phone="+37120000000", opening_procedure="Atslēga, signalizācija",
                 step_free=True, facilities=["water", "toilets"], sign_placed_on="2026-05-04",
                 inspection_interval_days=180)
    make_shelter("Pārlielupes bibliotēka, \"Lasītava\"", CENTRE[0], CENTRE[1] + 0.04,
                 address="Loka maģistrāle 35", kind="suitable", capacity=0, illustrative=True)
    before = _register(db)
    exported = _run(app, "shelters", "export", "--output", str(tmp_path / "register.csv"))
    assert exported.exit_code == 0, exported.output
    text = (tmp_path / "register.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("name,address,lat,lon,kind,compliance,capacity")
    assert "water;toilets" in text and ",yes," in text

    # Into an empty register: every place comes back as it was.
    with Session(db.get_bind()) as session:
        session.execute(Shelter.__table__.delete())
        session.commit()
    imported = _run(app, "shelters", "import", str(tmp_path / "register.csv"))
    assert imported.exit_code == 0, imported.output
    assert "added 2, updated 0" in imported.output
    assert _register(db) == before
    # And over itself: the same places are updated, none added.
    again = _run(app, "shelters", "import", str(tmp_path / "register.csv"))
    assert "added 0, updated 2" in again.output
    assert _register(db) == before
    assert _run(app, "shelters", "export").output == text


def test_an_excel_file_updates_by_name_and_address(db, make_shelter):
    make_shelter("Jelgavas kultūras nams", address="Krišjāņa Barona iela 6", capacity=500,
                 responsible_name="Anna Bērziņa")
    data = ("\ufeff" + HEADER
            + "Jelgavas kultūras nams;Krišjāņa Barona iela 6;56.6531;23.7264;shelter;600;"
              "water; jā;2026-05-04\n"
            + "Jelgavas ledus halle;Pasta iela 32;56.6584;23.7171;short_stay;500;;0;\n"
            ).encode("utf-8")
    assert csv_io.import_csv(db, data) == (1, 1)
    db.commit()
    rows = {s.name: s for s in db.scalars(select(Shelter))}
    hall = rows["Jelgavas kultūras nams"]
    assert (hall.capacity, hall.facilities, hall.step_free, hall.responsible_name) == (
        600, ["water"], True, "Anna Bērziņa")  # a column not in the file keeps its value
    assert (rows["Jelgavas ledus halle"].kind, rows["Jelgavas ledus halle"].step_free) == (
        "short_stay", False)


def test_a_bad_file_names_each_line_and_field_and_stores_nothing(app, db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + "Jelgavas 4. vidusskola;Sporta iela 4;56.6441;23.7071;shelter;450;water;yes;\n"
        + "Skola;Iela 1;56.65;23.72;shelter;-5;water;yes;\n"
        + "Viļņa;Gedimino 1;54.6872;25.2797;shelter;10;;no;\n"
        + "Pirts;Iela 2;56.65;23.72;bunker;10;sauna;maybe;4.5.2026\n", encoding="utf-8")
    result = _run(app, "shelters", "import", str(path))
    assert result.exit_code == 1
    for expected in ("line 3, capacity", "line 4, lat", "line 5, kind", "line 5, facilities",
                     "line 5, step_free", "line 5, sign_placed_on"):
        assert expected in result.output, result.output
    assert "line 2" not in result.output
    assert "nothing imported" in result.output
    assert _register(db) == []

    missing = tmp_path / "missing.csv"
    missing.write_text("name,address,lat,lon\nSkola,Iela 1,56.65,23.72\n", encoding="utf-8")
    result = _run(app, "shelters", "import", str(missing))
    assert "line 1, kind" in result.output and "line 1, capacity" in result.output
    assert _register(db) == []


def test_the_register_page_downloads_the_csv(client, users, make_shelter):
    make_shelter("Jelgavas Valsts ģimnāzija", facilities=["water", "first_aid"])
    users.signed_in(client, "ilze", "shelter_staff")
    csrf_token(client, "/shelters/")
    response = client.get("/shelters/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    assert "Jelgavas Valsts ģimnāzija,Mātera iela 44" in text and "water;first_aid" in text
