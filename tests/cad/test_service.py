"""The 8787 line's rules on the service: placing, routing, the partner's work,
closing, deadlines across Latvian holidays, duplicates, queues and retention."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from sargs.cad import deadlines, service
from sargs.cad.models import CadPartner, CadReportEvent
from sargs.cad.schemas import PartnerAction, ReportIn
from sargs.web.forms import InputError, validate
from tests.cad.conftest import MUNICIPALITY_POINT, RIGA_POINT

RIGA = deadlines.ZoneInfo("Europe/Riga")


def _settings(app):
    return app.extensions["sargs"].settings


def test_a_city_report_is_routed_to_its_categorys_partner(app, db, make_report):
    report = make_report(category="waste")
    assert (report.state, report.jurisdiction, report.area_code) == ("new", "city", "LV022")
    service.route(db, _settings(app), report)
    db.commit()
    assert report.state == "routed"
    assert report.partner.name == 'SIA "Zemgale EKO"'
    kinds = [e.kind for e in report.events]
    assert kinds[:2] == ["created", "routed"]
    # No SMTP configured: the timeline says the mail could not go, rather than pretending.
    assert report.events[-1].data == {"outcome": "not_configured"}


def test_a_report_outside_the_city_goes_to_the_municipality(app, db, make_report):
    report = make_report(category="streets", lat=MUNICIPALITY_POINT[0], lon=MUNICIPALITY_POINT[1])
    assert (report.jurisdiction, report.area_code) == ("municipality", "LV023")
    service.route(db, _settings(app), report)
    assert report.partner.code == "municipality"


def test_a_place_outside_jelgava_is_refused_naming_the_field(app, db, make_report):
    with pytest.raises(service.ReportError) as caught:
        make_report(lat=RIGA_POINT[0], lon=RIGA_POINT[1])
    assert caught.value.field == "lat"
    db.rollback()
    assert db.scalar(text("select count(*) from cad_report")) == 0


def test_the_operator_overrides_the_partner(app, db, make_report):
    report = make_report(category="streets")
    police = db.scalar(select(CadPartner).where(CadPartner.code == "police"))
    service.route(db, _settings(app), report, police.id)
    assert report.partner.code == "police"


def test_partner_accepts_plans_and_resolves(app, db, make_report):
    settings = _settings(app)
    report = make_report()
    service.route(db, settings, report)
    partner = report.partner
    service.partner_act(db, settings, report, PartnerAction(action="accept"), partner=partner)
    service.partner_act(db, settings, report,
                        PartnerAction(action="plan", planned_for=date(2026, 11, 30)),
                        partner=partner)
    service.partner_act(db, settings, report,
                        PartnerAction(action="resolve", note="Bedre aizlāpīta"), partner=partner)
    db.commit()
    assert report.state == "resolved"
    assert report.planned_for == date(2026, 11, 30)
    assert report.status_note == "Bedre aizlāpīta"
    assert [e.kind for e in report.events if e.kind != "partner_mail"] == [
        "created", "routed", "accepted", "planned", "resolved"]
    assert report.events[-1].actor_kind == "partner"


def test_another_partner_cannot_act_on_the_report(app, db, make_report):
    settings = _settings(app)
    report = make_report()
    service.route(db, settings, report)
    police = db.scalar(select(CadPartner).where(CadPartner.code == "police"))
    with pytest.raises(service.ReportError):
        service.partner_act(db, settings, report, PartnerAction(action="accept"), partner=police)


def test_a_rejection_needs_a_reason_and_returns_the_report_to_the_operator(app, db, make_report):
    settings = _settings(app)
    with pytest.raises(InputError) as caught:
        validate(PartnerAction, {"action": "reject", "note": " "})
    assert "note" in caught.value.errors
    report = make_report()
    service.route(db, settings, report)
    service.partner_act(db, settings, report, PartnerAction(action="reject", note="Nav mūsu"),
                        partner=report.partner)
    assert report.state == "returned"
    rows, total = service.queue(db, settings, "new")
    assert total == 1 and rows[0].id == report.id


def test_deadlines_skip_weekends_and_latvian_holidays(app, db, make_report, frozen_clock):
    # Friday 13 November 2026, 10:00 Riga; Wednesday 18 November is Proclamation Day.
    frozen_clock.set(datetime(2026, 11, 13, 8, 0, tzinfo=UTC))
    report = make_report(category="streets")  # response 1, resolution 10 working days
    assert report.response_due.astimezone(RIGA).date() == date(2026, 11, 16)
    # 16, 17, 19, 20, 23, 24, 25, 26, 27, 30 November: the 18th is not counted.
    assert report.resolution_due.astimezone(RIGA).date() == date(2026, 11, 30)
    assert deadlines.add_working_days(date(2026, 12, 23), 1) == date(2026, 12, 28)


def test_overdue_reports_are_flagged_once(app, db, make_report, frozen_clock):
    settings = _settings(app)
    report = make_report()
    service.route(db, settings, report)
    db.commit()
    frozen_clock.advance(timedelta(days=3))
    assert service.overdue_kind(report, frozen_clock.now()) == "response"
    assert service.flag_overdue(db) == 1
    assert service.flag_overdue(db) == 0
    db.commit()
    rows, total = service.queue(db, settings, "overdue")
    assert [r.id for r in rows] == [report.id]


def test_duplicates_are_the_same_category_within_150_m_and_48_h(app, db, make_report,
                                                                 frozen_clock):
    first = make_report(lat=56.6511, lon=23.7214)
    make_report(category="waste", lat=56.6511, lon=23.7214)  # another category
    frozen_clock.advance(timedelta(hours=1))
    found = service.duplicates(db, first.category_id, 56.6518, 23.7214)  # ~78 m north
    assert [(r.id, d) for r, d in found] == [(first.id, 78)]
    assert service.duplicates(db, first.category_id, 56.6530, 23.7214) == []  # ~211 m
    frozen_clock.advance(timedelta(hours=48))
    assert service.duplicates(db, first.category_id, 56.6511, 23.7214) == []


def test_the_timeline_cannot_be_rewritten(app, db, make_report):
    make_report()
    with pytest.raises(Exception, match="append-only"):
        db.execute(text("update cad_report_event set note = 'x'"))
        db.flush()
    db.rollback()


def test_contact_data_is_erased_after_the_retention_period(app, db, make_report, frozen_clock):
    settings = _settings(app)
    report = make_report(reporter_name="Anna Bērziņa", reporter_phone="+37120000000")
    service.close(db, settings, report, "rejected", "Nav pašvaldības kompetencē")
    db.commit()
    frozen_clock.advance(timedelta(days=settings.cad_retention_days - 1))
    assert service.erase_expired_contacts(db, settings) == 0
    frozen_clock.advance(timedelta(days=2))
    assert service.erase_expired_contacts(db, settings) == 1
    db.commit()
    db.refresh(report)
    assert (report.reporter_name, report.reporter_phone) == (None, None)
    assert report.description == "Bedre brauktuvē"
    assert db.scalar(select(CadReportEvent.kind).order_by(CadReportEvent.id.desc())) == \
        "contact_erased"


def test_bad_report_input_names_the_field(app):
    with app.test_request_context():
        with pytest.raises(InputError) as caught:
            validate(ReportIn, {"category": "streets", "description": "x", "lat": "56.6"})
        assert "lon" in caught.value.errors
        with pytest.raises(InputError) as caught:
            validate(ReportIn, {"category": "streets", "description": "x", "address": "a",
                                "reporter_phone": "call me"})
        assert "reporter_phone" in caught.value.errors
