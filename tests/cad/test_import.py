"""``sargs cad import FILE.csv``: historic reports, all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import func, select

from sargs.cad import importer
from sargs.cad.models import CadReport, CadReportEvent
from sargs.cli import cli
from tests.cad.conftest import MUNICIPALITY_POINT
from tests.cad.test_stats import _cli_env

GOOD = (
    "received_at,channel,category,partner,address,lat,lon,description,state,accepted_at,"
    "closed_at\n"
    "2024-03-04 09:15,phone,streets,jvpi,Lielā iela 3,56.6511,23.7214,\"Bedre, dziļa\","
    "resolved,2024-03-04 12:00,2024-03-08 16:00\n"
    "2024-07-01T10:00:00+03:00,web,animals,police,,,,Suns,rejected,,2024-07-01T12:00:00+03:00\n"
    f"2024-08-02 08:00,email,waste,municipality,Ozolnieki,{MUNICIPALITY_POINT[0]},"
    f"{MUNICIPALITY_POINT[1]},Konteiners,open,2024-08-02 10:00,\n"
)


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _run(app, tmp_path, content: bytes, name: str = "reports.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return CliRunner().invoke(cli, ["cad", "import", str(path)], env=_cli_env(app))


def test_a_comma_file_is_imported_with_its_times_and_no_mail(app, db, tmp_path):
    result = _run(app, tmp_path, GOOD.encode())
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "imported 3 reports"
    reports = db.scalars(select(CadReport).order_by(CadReport.received_at)).all()
    assert [r.imported for r in reports] == [True, True, True]
    first, second, third = reports
    # Local Riga time (UTC+2 in March) and an explicit offset, both stored in UTC.
    assert first.received_at == datetime(2024, 3, 4, 7, 15, tzinfo=UTC)
    assert second.received_at == datetime(2024, 7, 1, 7, 0, tzinfo=UTC)
    assert (first.state, first.partner.code, first.description) == (
        "resolved", "jvpi", "Bedre, dziļa")
    assert first.closed_at == datetime(2024, 3, 8, 14, 0, tzinfo=UTC)
    assert (second.state, second.category.code, second.jurisdiction) == (
        "rejected", "animals", "city")
    # An open report with a partner that accepted it; the point places it.
    assert (third.state, third.jurisdiction, third.closed_at) == (
        "accepted", "municipality", None)
    events = db.scalars(select(CadReportEvent).order_by(CadReportEvent.report_id)).all()
    assert [(e.kind, e.actor_name, e.note) for e in events] == [
        ("created", "import", "reports.csv, line 2"),
        ("created", "import", "reports.csv, line 3"),
        ("created", "import", "reports.csv, line 4")]
    # No partner was e-mailed: no mail on any timeline.
    assert "partner_mail" not in {e.kind for e in events}


def test_a_latvian_excel_file_with_bom_and_semicolons(app, db, tmp_path):
    content = ("\ufeffreceived_at;channel;category;jurisdiction;description\n"
               "04.03.2024 09:15;phone;hydro;municipality;Grāvis aizaudzis\n"
               "2024-03-05;app;lighting;;Nedeg laterna\n").encode()
    result = _run(app, tmp_path, content)
    assert result.exit_code == 0, result.output
    reports = db.scalars(select(CadReport).order_by(CadReport.received_at)).all()
    assert [(r.category.code, r.jurisdiction, r.state, r.description) for r in reports] == [
        ("hydro", "municipality", "resolved", "Grāvis aizaudzis"),
        ("lighting", "city", "resolved", "Nedeg laterna")]


def test_a_bad_file_names_every_bad_line_and_stores_nothing(app, db, tmp_path):
    content = (GOOD + "2024-13-01 10:00,phone,streets,,,,,,,,\n"
               "2024-05-01 10:00,fax,streets,,,,,,,,\n"
               "2024-05-02 10:00,phone,roads,nobody,,56.9496,24.1052,,,,\n"
               "2024-05-03 10:00,phone,streets,,,,,,open,,2024-05-04 10:00\n"
               "2024-05-03 10:00,phone,streets\n").encode()
    result = _run(app, tmp_path, content)
    assert result.exit_code == 1
    errors = result.output
    for expected in ("line 5, received_at:", "line 6, channel:", "line 7, category:",
                     "line 7, partner:", "line 7, lat: the point is outside",
                     "line 8, closed_at: an open report", "line 9, line: 3 fields",
                     "nothing imported (7 problems)"):
        assert expected in errors, errors
    assert _count(db, CadReport) == 0 and _count(db, CadReportEvent) == 0


def test_an_unknown_column_or_a_missing_one_is_named(app, db, tmp_path):
    result = _run(app, tmp_path, b"received_at,channel,kategorija\n2024-01-01,phone,x\n")
    assert result.exit_code == 1
    assert "line 1, kategorija: unknown column" in result.output
    assert "line 1, category: column missing" in result.output
    assert _count(db, CadReport) == 0


def test_text_that_is_not_utf8_is_refused(app, db):
    settings = app.extensions["sargs"].settings
    try:
        importer.import_csv(db, settings, "received_at\nDzērvenīte\n".encode("cp1257"))
    except importer.ImportRefused as exc:
        assert [str(p) for p in exc.problems] == ["line 2, file: not UTF-8 text"]
    else:
        raise AssertionError("a cp1257 file was accepted")
