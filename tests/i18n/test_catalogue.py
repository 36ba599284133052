"""Latvian first: every interface text has a Latvian translation, and the
compiled catalogue the app loads matches the one people edit."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "sargs" / "translations" / "lv" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}


def _source_messages() -> set[str]:
    with open(ROOT / "babel.cfg") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_interface_text_has_a_latvian_translation():
    with open(CATALOGUE / "messages.po", "rb") as handle:
        catalogue = read_po(handle, locale="lv")
    translated = {m.id for m in catalogue if m.id and m.string and not m.fuzzy}
    missing = sorted(_source_messages() - translated)
    assert not missing, "untranslated (run pybabel extract/update, see README): " + repr(missing[:10])


def test_compiled_catalogue_matches_the_source():
    with open(CATALOGUE / "messages.po", "rb") as handle:
        source = {m.id: m.string for m in read_po(handle, locale="lv") if m.id}
    with open(CATALOGUE / "messages.mo", "rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    assert compiled == source, "messages.mo is stale: run pybabel compile -d sargs/translations"


def test_pages_speak_latvian_by_default_and_english_on_request(client, users):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="lv"' in page and "Pieslēgties" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/lang/en", data={"csrf_token": token, "next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en"' in page and "Sign in" in page and "Pieslēgties" not in page
