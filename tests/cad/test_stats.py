"""The 8787 line's statistics equal a hand-counted year: the service, ``sargs cad stats``,
the page with its charts, and the CSV and XLSX exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from sargs.activations.schemas import ActivationOpen
from sargs.activations.service import open_activation
from sargs.cad import service, stats
from sargs.cad.schemas import PartnerAction, ReportIn
from sargs.cli import cli
from tests.cad.conftest import CITY_POINT, MUNICIPALITY_POINT
from tests.conftest import START, csrf_token

RIGA = ZoneInfo("Europe/Riga")
MUNI = {"lat": MUNICIPALITY_POINT[0], "lon": MUNICIPALITY_POINT[1]}

# The hand count of the fixture's 2026 (R1–R9; R10, R11 are 2025; R12 an exercise, R13 a
# draft, neither counted).
EXPECTED_2026 = {
    "total": 9, "city": 7, "municipality": 2,
    "by_month": {"01": 1, "02": 1, "03": 2, "04": 0, "05": 2, "06": 0, "07": 3, "08": 0,
                 "09": 0, "10": 0, "11": 0, "12": 0},
    "by_category": {"streets": 4, "animals": 2, "hydro": 1, "waste": 1, "lighting": 1},
    "by_partner": {"jvpi": 4, "municipality": 2, "police": 1},
    "by_channel": {"phone": 5, "web": 2, "app": 1, "email": 1, "other": 0},
}


def riga(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=RIGA).astimezone(UTC)


@pytest.fixture
def year_of_reports(app, db, frozen_clock):
    """Thirteen reports made and worked on through the service, as the line does."""
    cfg = app.extensions["sargs"].settings

    def report(at: datetime, **fields):
        frozen_clock.set(at)
        values = {"category": "streets", "description": "Bedre", "address": "Lielā iela 1",
                  "lat": CITY_POINT[0], "lon": CITY_POINT[1]}
        values.update(fields)
        activation = values.pop("activation_id", None)
        made = service.create_report(db, cfg, ReportIn(**values), activation_id=activation)
        db.commit()
        return made

    def route(made, at: datetime):
        frozen_clock.set(at)
        service.route(db, cfg, made)
        db.commit()

    def act(made, at: datetime, action: str):
        frozen_clock.set(at)
        service.partner_act(db, cfg, made, PartnerAction(action=action), partner=made.partner)
        db.commit()

    def worked(made, accepted: datetime | None, resolved: datetime | None):
        route(made, made.received_at)
        if accepted:
            act(made, accepted, "accept")
        if resolved:
            act(made, resolved, "resolve")

    worked(report(riga(2026, 3, 2, 10)), riga(2026, 3, 2, 14), riga(2026, 3, 5, 12))   # R1
    worked(report(riga(2026, 3, 3, 9), category="hydro", channel="web"),
           riga(2026, 3, 4, 9), riga(2026, 3, 10, 9))                                   # R2
    # R3: received on a holiday (4 May), accepted the next working day.
    worked(report(riga(2026, 5, 4, 10), category="animals", channel="app"),
           riga(2026, 5, 5, 8), riga(2026, 5, 6, 8))
    worked(report(riga(2026, 5, 20, 10), category="waste", channel="email", **MUNI),
           riga(2026, 5, 20, 15), riga(2026, 5, 22, 9))                                 # R4
    worked(report(riga(2026, 7, 1, 10)), riga(2026, 7, 2, 10), riga(2026, 7, 3, 10))   # R5
    r6 = report(riga(2026, 7, 15, 10))
    frozen_clock.set(riga(2026, 7, 15, 11))
    service.close(db, cfg, r6, "rejected", "Privāta teritorija")
    db.commit()
    r7 = report(riga(2026, 7, 20, 10), category="animals", lat=None, lon=None,
                jurisdiction="municipality")
    worked(r7, riga(2026, 7, 20, 12), None)                     # still open, past its time
    report(riga(2026, 2, 1, 0, 30))                             # R8: 31 Jan 22:30 UTC
    worked(report(riga(2026, 1, 1, 0, 30), category="lighting", channel="web"), None, None)
    report(riga(2025, 12, 31, 23, 30))                          # R10: 2025
    report(riga(2025, 6, 10, 10), category="animals")           # R11: 2025
    frozen_clock.set(riga(2026, 3, 10, 8))
    exercise = open_activation(db, ActivationOpen(title="Mācības", kind="exercise"), None)
    db.commit()
    report(riga(2026, 3, 10, 9), activation_id=exercise.id)     # R12: an exercise report
    report(riga(2026, 3, 11, 9), category=None, channel="email", lat=None, lon=None)  # draft
    frozen_clock.set(START)


def test_the_figures_equal_the_hand_count(app, db, year_of_reports):
    figures = stats.year_stats(db, RIGA, 2026)
    assert {key: figures.as_json()[key] for key in EXPECTED_2026} == EXPECTED_2026
    assert figures.without_partner == 2                          # R6 closed, R8 new
    assert figures.by_partner_percent == {"jvpi": 44.44, "municipality": 22.22,
                                          "police": 11.11}
    # Working days; 4 May 2026 is a public holiday, so R3 waited one working day.
    response = {code: (t.count, t.median, t.p90) for code, t in figures.response.items()}
    assert response == {"jvpi": (3, 1.0, 1.0), "municipality": (2, 0.0, 0.0),
                        "police": (1, 1.0, 1.0)}
    resolution = {code: (t.count, t.median, t.p90) for code, t in figures.resolution.items()}
    assert resolution == {"jvpi": (3, 3.0, 5.0), "municipality": (1, 2.0, 2.0),
                          "police": (1, 2.0, 2.0)}
    # R9 (lighting) never accepted; R7 (animals) open long past its two working days.
    assert figures.overdue == {"jvpi": 1, "municipality": 1, "police": 0}
    assert figures.earlier == {2025: {"total": 2, "city": 2, "municipality": 0,
                                      "by_category": {"streets": 1, "animals": 1},
                                      "by_partner": {}}}


def test_a_month_range_counts_only_those_months(app, db, year_of_reports):
    figures = stats.year_stats(db, RIGA, 2026, 5, 7)
    assert (figures.total, figures.city, figures.municipality) == (5, 3, 2)
    assert figures.by_month["03"] == 0 and figures.by_month["07"] == 3
    assert figures.earlier[2025]["total"] == 1                   # June 2025 only


def _cli_env(app):
    cfg = app.extensions["sargs"].settings
    return {"SARGS_DATABASE_URL": cfg.database_url, "SARGS_SECRET_KEY": "test-secret-key",
            "SARGS_MODE": "test", "SARGS_INSTANCE_PATH": str(cfg.instance_path),
            "SARGS_FEED_URLS": ""}


def test_the_command_prints_the_json_interface(app, db, year_of_reports):
    db.rollback()
    result = CliRunner().invoke(cli, ["cad", "stats", "--year", "2026", "--json"],
                                env=_cli_env(app))
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert list(printed)[:7] == ["total", "city", "municipality", "by_month", "by_category",
                                 "by_partner", "by_channel"]
    assert {key: printed[key] for key in EXPECTED_2026} == EXPECTED_2026
    table = CliRunner().invoke(cli, ["cad", "stats", "--year", "2026"], env=_cli_env(app))
    assert table.exit_code == 0 and "total" in table.output and "jvpi" in table.output


def _english(client, path="/cad/stats"):
    client.post("/lang/en", data={"csrf_token": csrf_token(client, path), "next": path})


def test_the_page_shows_the_numbers_and_the_charts(app, client, users, year_of_reports):
    users.signed_in(client, "operator", "operator")
    _english(client)
    page = client.get("/cad/stats?year=2026").get_data(as_text=True)
    assert 'data-testid="total">9<' in page
    assert 'data-testid="city">7<' in page and 'data-testid="municipality">2<' in page
    for chart in ("months", "categories", "partners", "channels", "jurisdiction", "years"):
        assert f'data-testid="chart-{chart}"' in page
    assert "<svg" in page and "<title id=\"chart-months-title\">Reports by month</title>" in page
    assert 'JVPI &#34;Pilsētsaimniecība&#34;: 4 · 44.44 %' in page           # partner bar
    assert '<th scope="row">July</th><td>3</td>' in page
    assert '<th scope="row">2025</th><td>2</td>' in page                    # year on year
    assert "Streets and sidewalks" in page


def test_an_auditor_reads_it_and_a_bad_year_is_named(app, client, users, year_of_reports):
    users.signed_in(client, "auditor", "auditor")
    assert client.get("/cad/stats?year=2026").status_code == 200
    bad = client.get("/cad/stats?year=abc")
    assert bad.status_code == 400 and 'data-testid="error-year"' in bad.get_data(as_text=True)


def test_others_may_not_see_it(app, client, users):
    users.signed_in(client, "keeper", "warehouse")
    assert client.get("/cad/stats").status_code == 403
    assert client.get("/cad/stats.csv").status_code == 403


def test_the_csv_holds_every_table(app, client, users, year_of_reports):
    users.signed_in(client, "operator", "operator")
    _english(client)
    response = client.get("/cad/stats.csv?year=2026")
    assert response.mimetype == "text/csv"
    assert "8787-2026.csv" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert ["Reports by partner"] in rows and ["Partner", "Reports", "Share"] in rows
    assert ['JVPI "Pilsētsaimniecība"', "4", "44.44 %"] in rows
    assert ["Total", "9", "100 %"] in rows and ["May", "2", "22.22 %"] in rows
    assert ["phone", "5", "55.56 %"] in rows


def test_the_xlsx_has_a_sheet_per_table(app, client, users, year_of_reports):
    users.signed_in(client, "operator", "operator")
    _english(client)
    response = client.get("/cad/stats.xlsx?year=2026")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["City and municipality", "Reports by month",
                               "Reports by category", "Reports by partner",
                               "Reports by channel", "Response and resolution times (", "Year on year"]
    partners = book["Reports by partner"]
    assert [c.value for c in partners[1]] == ["Partner", "Reports", "Share"]
    assert [c.value for c in partners[2]] == ['JVPI "Pilsētsaimniecība"', 4, "44.44 %"]
    categories = {row[0]: row[1] for row in book["Reports by category"].iter_rows(
        min_row=2, values_only=True)}
    assert categories == {"Streets and sidewalks": 4, "Stray, lost or injured animals": 2,
                          "Hydrotechnical structures": 1, "Waste": 1, "Street lighting": 1}
    years = list(book["Year on year"].iter_rows(values_only=True))
    assert years[1][:4] == ("2025", 2, 2, 0) and years[2][:4] == ("2026", 9, 7, 2)


def test_the_page_counts_again_once_a_report_changes(app, db, client, users, year_of_reports):
    """The page keeps what it counted while nothing changes; any change shows at once,
    even in the same second (the clock here does not move)."""
    users.signed_in(client, "operator", "operator")
    _english(client)
    assert 'data-testid="total">9<' in client.get("/cad/stats?year=2026").get_data(as_text=True)
    cfg = app.extensions["sargs"].settings
    made = service.create_report(db, cfg, ReportIn(
        category="waste", description="Konteiners", address="Pasta iela 3"))
    db.commit()
    assert 'data-testid="total">10<' in client.get("/cad/stats?year=2026").get_data(as_text=True)
    before = stats.year_stats_now(db, cfg.zone, 2026).by_partner.get("zemgale-eko", 0)
    service.route(db, cfg, made)  # a change that adds no report
    db.commit()
    assert stats.year_stats_now(db, cfg.zone, 2026).by_partner["zemgale-eko"] == before + 1
