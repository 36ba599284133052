"""The contact registry pages and CSV import: who alerts to groups reach, in
which order of channels, and a bad file that stores nothing."""

from __future__ import annotations

import csv
import io

from click.testing import CliRunner
from sqlalchemy import select

from sargs.channels import alerts, audience
from sargs.channels.contacts import ensure_group
from sargs.channels.models import Contact, ContactGroup
from sargs.cli import cli
from tests.channels.engine_helpers import public_orange, resident
from tests.kernel.helpers import field_has_error, post_form, rows

GOOD_CSV = (
    "name,kind,language,groups,addresses\n"
    "Anna Bērziņa,person,lv,commission,voice:+371 2000 0001; telegram:123456789\n"
    "Jelgavas 4. vidusskola,institution,lv,paging-schools,pbx:7004\n"
    "John Smith,person,en,commission; paging-schools,sms:29000002\n"
)


def _groups(db):
    ensure_group(db, "commission", "Civilās aizsardzības komisija", "staff")
    ensure_group(db, "paging-schools", "Skolu IP tālruņi", "paging")
    db.commit()
    db.close()


def _staff(db):
    return {c.name: c for c in rows(db, select(Contact).where(Contact.is_public_subscriber.is_(False)))}


def _audience_of(db, group_code, channels):
    alert = alerts.create_alert(db, public_orange(audience={"groups": [group_code]},
                                                  channels=channels), None)
    found = sorted((r.channel, r.address, r.language) for r in audience.resolve(db, alert))
    db.rollback()
    db.close()
    return found


def test_operator_adds_a_commission_member_who_is_then_reached_in_order(client, users, db):
    _groups(db)
    commission = rows(db, select(ContactGroup).where(ContactGroup.code == "commission"))[0]
    users.signed_in(client, "olga", "operator")
    response = post_form(client, "/contacts/new", {
        "name": "Kārlis Ozols", "kind": "person", "language": "lv",
        "channel_0": "voice", "address_0": "20000003",
        "channel_1": "telegram", "address_1": "7001",
        "groups": [str(commission.id)],
    })
    assert response.status_code == 302
    page = client.get("/contacts/").get_data(as_text=True)
    assert "Kārlis Ozols" in page and "voice → telegram" in page
    # Phones are stored in E.164, and the group alert reaches both addresses.
    assert _audience_of(db, "commission", ["voice", "telegram"]) == [
        ("telegram", "7001", "lv"), ("voice", "+37120000003", "lv")]


def test_a_bad_phone_is_named_on_its_row_and_nothing_is_stored(client, users, db):
    users.signed_in(client, "olga", "operator")
    response = post_form(client, "/contacts/new", {
        "name": "Kārlis", "kind": "person", "language": "lv",
        "channel_0": "telegram", "address_0": "5001",
        "channel_1": "voice", "address_1": "not a phone",
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_has_error(page, "address_1") and not field_has_error(page, "address_0")
    assert "+371 20000000" in page
    assert _staff(db) == {}


def test_editing_keeps_the_new_order_of_channels(client, users, db):
    users.signed_in(client, "olga", "operator")
    post_form(client, "/contacts/new", {"name": "Inga", "channel_0": "voice", "address_0": "20000004",
                                        "channel_1": "email", "address_1": "Inga@Jelgava.lv"})
    contact = _staff(db)["Inga"]
    response = post_form(client, f"/contacts/{contact.id}", {
        "name": "Inga Liepa", "kind": "person", "language": "en",
        "channel_0": "email", "address_0": "inga@jelgava.lv",
        "channel_1": "sms", "address_1": "20000004",
    })
    assert response.status_code == 302
    saved = _staff(db)["Inga Liepa"]
    assert [(a.channel, a.address) for a in saved.addresses] == [
        ("email", "inga@jelgava.lv"), ("sms", "+37120000004")]
    assert saved.language == "en"


def test_csv_import_creates_updates_and_feeds_the_paging_group(client, users, db):
    _groups(db)
    users.signed_in(client, "olga", "operator")
    response = post_form(client, "/contacts/import", {"text": GOOD_CSV})
    assert response.status_code == 302
    staff = _staff(db)
    assert sorted(staff) == ["Anna Bērziņa", "Jelgavas 4. vidusskola", "John Smith"]
    assert [(a.channel, a.address) for a in staff["Anna Bērziņa"].addresses] == [
        ("voice", "+37120000001"), ("telegram", "123456789")]
    assert _audience_of(db, "paging-schools", ["pbx", "sms"]) == [
        ("pbx", "7004", "lv"), ("sms", "+37129000002", "en")]
    # The same file again (with a new name) updates; nobody is doubled.
    again = post_form(client, "/contacts/import",
                      {"text": GOOD_CSV.replace("Anna Bērziņa", "Anna Bērziņa-Kalniņa")})
    assert again.status_code == 302
    assert len(_staff(db)) == 3 and "Anna Bērziņa-Kalniņa" in _staff(db)


def test_one_bad_line_imports_nothing_and_says_where(client, users, db):
    _groups(db)
    users.signed_in(client, "olga", "operator")
    bad = GOOD_CSV + "Pēteris,person,lv,no-such-group,sms:20000005\nZane,person,lv,,fax:123\n"
    response = post_form(client, "/contacts/import", {"text": bad})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-testid="import-errors"' in page
    assert "5" in page and "no-such-group" in page and "fax:123" in page
    assert _staff(db) == {}


def test_export_round_trips_and_leaves_residents_out(client, users, db):
    _groups(db)
    resident(db, "Ilze", "+37120000009")
    db.commit()
    db.close()
    users.signed_in(client, "karlis", "commission")
    post_form(client, "/contacts/import", {"text": GOOD_CSV})
    exported = client.get("/contacts/export.csv").get_data(as_text=True).lstrip("\ufeff")
    table = {row["name"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert sorted(table) == ["Anna Bērziņa", "Jelgavas 4. vidusskola", "John Smith"]
    assert table["John Smith"]["groups"] == "commission; paging-schools"
    assert table["Anna Bērziņa"]["addresses"] == "voice:+37120000001; telegram:123456789"


def test_auditor_reads_but_cannot_change(client, users, db):
    users.signed_in(client, "audra", "auditor")
    assert client.get("/contacts/").status_code == 200
    assert post_form(client, "/contacts/new", {"name": "X", "address_0": "20000006"}).status_code == 403
    assert client.get("/contacts/export.csv").status_code == 200


def test_cli_import_reports_bad_lines_and_stores_nothing(app, db, tmp_path):
    _groups(db)
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD_CSV + "Zane,person,lv,,sms:12\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["contacts", "import", str(bad)], obj=_script_info(app))
    assert result.exit_code == 1 and "line 5" in result.output
    assert _staff(db) == {}
    good = tmp_path / "good.csv"
    good.write_text(GOOD_CSV, encoding="utf-8")
    result = runner.invoke(cli, ["contacts", "import", str(good)], obj=_script_info(app))
    assert result.exit_code == 0, result.output
    assert "3 new" in result.output and len(_staff(db)) == 3


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)
