"""The generated demonstration year follows the 8787 line's published 2025 figures."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import select

from sargs.areas import service as areas
from sargs.cad import stats
from sargs.cad.models import CadCategory, CadPartner, CadReport, CadRoute
from sargs.cli import cli
from tests.cad.test_stats import _cli_env

RIGA = ZoneInfo("Europe/Riga")


def test_the_generated_year_holds_the_published_figures(app, db):
    runner, env = CliRunner(), _cli_env(app)
    made = runner.invoke(cli, ["cad", "demo-year", "--year", "2025"], env=env)
    assert made.exit_code == 0, made.output
    assert made.output.strip() == "generated 8274 reports for 2025"

    figures = stats.year_stats(db, RIGA, 2025)
    assert (figures.total, figures.city, figures.municipality) == (8274, 8062, 212)
    assert figures.generated == 8274
    top_categories = list(figures.by_category.items())[:3]
    assert top_categories == [("streets", 1607), ("animals", 804), ("hydro", 394)]
    top_partners = list(figures.by_partner.items())[:3]
    assert top_partners == [("jvpi", 3638), ("police", 970), ("zemgale-eko", 884)]
    percent = figures.by_partner_percent
    assert (round(percent["jvpi"]), round(percent["police"]), percent["zemgale-eko"]) == (
        44, 12, 10.68)
    busiest = sorted(figures.by_month.items(), key=lambda item: -item[1])[:3]
    assert busiest[:2] == [("07", 911), ("05", 822)] and busiest[2][1] < 822
    channels = figures.by_channel
    assert (channels["web"] + channels["app"], channels["web"], channels["app"]) == (
        1429, 1207, 222)
    assert channels["email"] == 291 and channels["phone"] == 8274 - 1429 - 291

    # Every report closed, times in order, each category with the partner routing gives.
    reports = db.execute(select(
        CadReport.state, CadReport.jurisdiction, CadReport.category_id, CadReport.partner_id,
        CadReport.received_at, CadReport.accepted_at, CadReport.closed_at, CadReport.lat,
        CadReport.lon)).all()
    routes = dict(db.execute(select(CadRoute.category_id, CadRoute.partner_id).where(
        CadRoute.area_code.is_(None))).all())
    municipality = db.scalar(select(CadPartner.id).where(CadPartner.for_municipality))
    index = areas.area_index(db)
    for state, where, category, partner, received, accepted, closed, lat, lon in reports:
        assert state in ("resolved", "rejected")
        assert received < closed and (accepted is None or received < accepted <= closed)
        assert partner == (municipality if where == "municipality" else routes[category])
        inside = {ref.code for ref in index.at_point(lat, lon)}
        assert ("LV022" if where == "city" else "LV023") in inside
    assert db.scalar(select(CadCategory.id).where(CadCategory.code == "dumping"))

    # Once only, unless replaced; replacing gives the same year again.
    db.rollback()
    again = runner.invoke(cli, ["cad", "demo-year", "--year", "2025"], env=env)
    assert again.exit_code == 1 and "already has generated reports" in again.output
    db.rollback()
    first = db.scalars(select(CadReport.received_at).order_by(CadReport.id).limit(5)).all()
    db.rollback()
    replaced = runner.invoke(cli, ["cad", "demo-year", "--year", "2025", "--replace"], env=env)
    assert replaced.exit_code == 0, replaced.output
    db.rollback()
    assert stats.year_stats(db, RIGA, 2025).total == 8274
    assert db.scalars(select(CadReport.received_at).order_by(CadReport.id)
                      .limit(5)).all() == first


def test_a_year_not_over_is_refused(app, db):
    result = CliRunner().invoke(cli, ["cad", "demo-year", "--year", "2026"], env=_cli_env(app))
    assert result.exit_code == 1 and "not over yet" in result.output
