"""The shell in a real browser: sign in, every module page, the language switch."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from sargs.web.shell import NAVIGATION

pytestmark = pytest.mark.browser

NAV_LINKS = "nav.module-nav a"


def module_paths(app: Any) -> list[str]:
    """The path of every module in the navigation, in its order."""
    with app.test_request_context():
        from flask import url_for

        return [url_for(item.endpoint) for item in NAVIGATION]


def nav_hrefs(page: Any) -> list[str]:
    return [link.get_attribute("href") for link in page.locator(NAV_LINKS).all()]


def html_lang(page: Any) -> str | None:
    return page.locator("html").get_attribute("lang")


def open_by_click(page: Any, link: Any) -> Any:
    """Click a link and return the response of the page it loads."""
    with page.expect_navigation() as navigation:
        link.click()
    return navigation.value


def test_admin_signs_in_opens_every_module_and_switches_language(app, users, page, sign_in):
    anna = users.create("anna", "admin")
    assert anna.totp_secret, "an administrator signs in with a second factor"

    # Signed out, the site sends the visitor to the login page.
    response = page.goto("/")
    assert response.status == 200
    assert urlsplit(page.url).path == "/login"
    assert html_lang(page) == "lv"

    sign_in(anna)
    assert urlsplit(page.url).path == "/"
    assert html_lang(page) == "lv"
    assert page.locator("[data-testid=current-user]").is_visible()
    assert page.locator("main h1").count() == 1

    # An administrator sees every module, in the navigation's order.
    expected = module_paths(app)
    assert nav_hrefs(page) == expected
    # ...and the home page offers each as a tile.
    assert [t.get_attribute("href") for t in page.locator("main a.tile").all()] == expected

    for href in expected:
        link = page.locator(f'{NAV_LINKS}[href="{href}"]')
        label = link.inner_text().strip()
        response = open_by_click(page, link)
        assert response.status == 200, f"{href}: {response.status}"
        assert urlsplit(page.url).path == href
        heading = page.locator("main h1")
        assert heading.count() >= 1 and heading.first.inner_text().strip(), href
        current = page.locator(f'{NAV_LINKS}[aria-current="page"]')
        assert current.count() == 1 and current.get_attribute("href") == href, label

    # Switch to English: the page reloads in English, where it was.
    here = urlsplit(page.url).path
    first_link = page.locator(NAV_LINKS).first  # the commission's situation
    latvian_label = first_link.inner_text().strip()
    switch = page.locator("[data-testid=lang-switch]")
    assert switch.inner_text().strip() == "English"
    assert open_by_click(page, switch).status == 200
    assert html_lang(page) == "en"
    assert urlsplit(page.url).path == here
    assert page.locator(NAV_LINKS).first.inner_text().strip() == "Situation"
    assert latvian_label != "Situation", "the navigation was not in Latvian before the switch"
    assert page.locator("[data-testid=lang-switch]").inner_text().strip() == "Latviešu"

    # The choice holds on the next page.
    page.goto("/")
    assert html_lang(page) == "en"
    assert page.locator(f'{NAV_LINKS}[href="{expected[0]}"]').inner_text().strip() == "Situation"

    # And back to Latvian.
    assert open_by_click(page, page.locator("[data-testid=lang-switch]")).status == 200
    assert html_lang(page) == "lv"
    assert page.locator(NAV_LINKS).first.inner_text().strip() == latvian_label
    assert page.script_errors == []


def test_operator_sees_only_their_modules_and_is_refused_the_audit_log(app, users, page, sign_in):
    olga = users.create("olga", "operator")
    sign_in(olga)
    assert urlsplit(page.url).path == "/"

    every = module_paths(app)
    shown = nav_hrefs(page)
    assert shown, "an operator has modules to work in"
    assert set(shown) < set(every), "an operator does not see every module"
    assert shown == [href for href in every if href in shown], "navigation order is kept"
    assert "/cad/" in shown and "/warnings/" in shown
    assert "/audit/" not in shown

    for href in shown:
        response = open_by_click(page, page.locator(f'{NAV_LINKS}[href="{href}"]'))
        assert response.status == 200, f"{href}: {response.status}"
        assert page.locator("main h1").count() >= 1, href

    response = page.goto("/audit/")
    assert response.status == 403
    assert page.locator("main h1").inner_text().strip() == "403"
    # The refusal is a page of the shell, with the navigation still there.
    assert nav_hrefs(page) == shown
    assert page.script_errors == []
