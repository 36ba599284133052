"""Registration, verification codes, one-time sign-in, export and erasure, as the
service gives them to the portal, the API and the bot."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from sargs.channels.models import Contact
from sargs.volunteers import service
from sargs.volunteers.models import Volunteer
from sargs.volunteers.schemas import VolunteerIn
from sargs.web.forms import InputError, validate
from tests.volunteers.conftest import registration

SECRET = "s"


def errors_of(**fields: Any) -> dict[str, str]:
    with pytest.raises(InputError) as caught:
        validate(VolunteerIn, registration(**fields))
    return caught.value.errors


def test_every_bad_field_is_named(app: Any) -> None:
    with app.test_request_context():
        assert "phone" in errors_of(phone="12")
        assert "email" in errors_of(email="ilze@")
        assert "consent" in errors_of(consent=False)
        assert "birth_date" in errors_of(birth_date=date(2015, 1, 1))
        assert "name" in errors_of(name="")
        assert "skills" in errors_of(skills=["juggling"])
        assert "licence_categories" in errors_of(licence_categories=["Z"])
        assert "available_to" in errors_of(available_from="18:00", available_to="08:00")
        assert "available_from" in errors_of(available_from="25:00")
        assert "consent_version" in errors_of(consent_version="2020-old")


def test_a_minor_needs_a_guardians_consent(app: Any, frozen_clock: Any) -> None:
    sixteen = frozen_clock.now().date().replace(year=frozen_clock.now().year - 16) \
        - timedelta(days=1)
    with app.test_request_context():
        assert "guardian_name" in errors_of(birth_date=sixteen)
        assert "guardian_consent" in errors_of(birth_date=sixteen, guardian_name="Anna Kalniņa",
                                               guardian_phone="29000000")
        ok = validate(VolunteerIn, registration(
            birth_date=sixteen, guardian_name="Anna Kalniņa", guardian_phone="29000000",
            guardian_consent=True))
    assert ok.guardian_phone == "+37129000000"


def test_registration_is_pending_and_a_person_registers_once(db: Any) -> None:
    volunteer = service.register(db, VolunteerIn(**registration()))
    db.commit()
    assert volunteer.status == "pending" and volunteer.phone == "+37126123456"
    assert volunteer.consent_version and volunteer.consent_at is not None
    for fields, field in (({"email": "cits@example.lv"}, "phone"),
                          ({"phone": "26999999"}, "email"),
                          ({"phone": "26999999", "email": None}, "name")):
        with pytest.raises(service.DuplicateVolunteer) as caught:
            service.register(db, VolunteerIn(**registration(**fields)))
        assert caught.value.field == field
    with pytest.raises(service.VolunteerError) as caught:
        service.register(db, VolunteerIn(**registration(phone="26999999", email=None,
                                                        name="Cits", municipality="LV999")))
    assert caught.value.field == "municipality"
    assert db.query(Volunteer).count() == 1


def test_phone_code_expires_and_is_rate_limited(db: Any, outbox: Any, frozen_clock: Any) -> None:
    volunteer = service.register(db, VolunteerIn(**registration()))
    service.send_phone_code(db, volunteer, secret=SECRET, send=outbox)
    assert outbox.sent[-1][:2] == ("sms", "+37126123456")
    code = outbox.last_code()
    frozen_clock.advance(minutes=11)
    with pytest.raises(service.CodeError):
        service.confirm_phone(db, volunteer, code, secret=SECRET)
    service.send_phone_code(db, volunteer, secret=SECRET, send=outbox)
    with pytest.raises(service.CodeError):
        service.confirm_phone(db, volunteer, "000000" if outbox.last_code() != "000000"
                              else "111111", secret=SECRET)
    service.confirm_phone(db, volunteer, outbox.last_code(), secret=SECRET)
    assert volunteer.phone_verified_at == frozen_clock.now()
    for _ in range(3):
        service.send_phone_code(db, volunteer, secret=SECRET, send=outbox)
    with pytest.raises(service.CodeError):  # the sixth within the hour
        service.send_phone_code(db, volunteer, secret=SECRET, send=outbox)
    frozen_clock.advance(hours=1)
    service.send_phone_code(db, volunteer, secret=SECRET, send=outbox)


def test_signin_by_code_and_by_one_time_link(db: Any, outbox: Any) -> None:
    volunteer = service.register(db, VolunteerIn(**registration()))
    links: list[str] = []
    service.start_signin(db, "ilze@example.lv", secret=SECRET, send=outbox,
                         link=lambda token: links.append(token) or f"https://x/{token}")
    assert outbox.sent[-1][0] == "email" and "https://x/" in outbox.sent[-1][3]
    assert service.signin_by_link(db, links[-1], secret=SECRET) is volunteer
    with pytest.raises(service.CodeError):  # once only
        service.signin_by_link(db, links[-1], secret=SECRET)
    assert volunteer.email_confirmed_at is not None
    service.start_signin(db, "26123456", secret=SECRET, send=outbox, link=lambda t: t)
    assert service.finish_signin(db, "+371 26123456", outbox.last_code(),
                                 secret=SECRET) is volunteer
    # Nobody registered there: nothing is sent, and nothing tells so.
    assert service.start_signin(db, "29999999", secret=SECRET, send=outbox,
                                link=lambda t: t) is None
    assert len(outbox.sent) == 2


def test_approval_needs_a_verified_phone_and_makes_a_contact(db: Any, outbox: Any) -> None:
    volunteer = service.register(db, VolunteerIn(**registration()))
    with pytest.raises(service.VolunteerError):
        service.decide(db, volunteer, "active", None)
    service.send_phone_code(db, volunteer, secret=SECRET, send=outbox)
    service.confirm_phone(db, volunteer, outbox.last_code(), secret=SECRET)
    service.decide(db, volunteer, "active", None, note="Pārbaudīts")
    contact = db.get(Contact, volunteer.contact_id)
    assert contact.active and [(a.channel, a.address) for a in contact.addresses] == [
        ("sms", "+37126123456")]
    service.decide(db, volunteer, "inactive", None)
    assert not contact.active


def test_erasure_keeps_only_a_pseudonymised_record(db: Any, make_volunteer: Any) -> None:
    volunteer = make_volunteer("active")
    contact_id = volunteer.contact_id
    data = service.export(db, volunteer)
    assert data["volunteer"]["phone"] == "+37126123456"
    service.erase(db, volunteer, secret=SECRET)
    db.commit()
    kept = db.get(Volunteer, volunteer.id)
    assert kept.status == "erased" and kept.phone is None and kept.email is None
    assert kept.birth_date is None and "Ilze" not in kept.name
    assert kept.municipality == "LV022"
    assert db.get(Contact, contact_id) is None
    # The number can register again, as a new person.
    again = service.register(db, VolunteerIn(**registration()))
    assert again.id != volunteer.id
