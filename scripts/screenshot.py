"""Take docs/screenshot.png: the home page after an administrator signs in.

Runs a temporary Sargs (SQLite in a temporary folder) on a free port, signs in
through the real pages in headless Chromium (Debian's, via Playwright) and
saves a 1280×800 screenshot.

    .venv/bin/python scripts/screenshot.py [--lang lv|en] [--out docs/screenshot.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("SARGS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "screenshot-password-1"
REPOSITORY = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="lv", choices=["lv", "en"])
    parser.add_argument("--out", type=Path, default=REPOSITORY / "docs" / "screenshot.png")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sargs-screenshot-") as folder:
        os.environ["SARGS_DATABASE_URL"] = f"sqlite:///{folder}/sargs.db"
        os.environ["SARGS_INSTANCE_PATH"] = f"{folder}/instance"
        os.environ["SARGS_LOG_LEVEL"] = "WARNING"
        import pyotp
        from playwright.sync_api import sync_playwright
        from waitress import create_server

        from sargs import clock
        from sargs.app import create_app
        from sargs.audit.service import Actor, acting_as
        from sargs.auth import service

        app = create_app()
        secret = pyotp.random_base32()
        with app.extensions["sargs"].sessionmaker() as session, \
                acting_as(Actor("system", None, "screenshot", "cli")):
            user = service.create_user(session, "admin", PASSWORD, ["admin"],
                                       display_name="Anna Kalniņa")
            user.totp_secret = secret
            user.totp_enabled_at = clock.now()
            session.commit()

        server = create_server(app, host="127.0.0.1", port=0, threads=4)
        base = f"http://127.0.0.1:{server.effective_port}"
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                context = browser.new_context(
                    base_url=base, viewport={"width": 1280, "height": 800})
                own = urlsplit(base).netloc
                context.route("**/*", lambda route: route.continue_()
                              if urlsplit(route.request.url).netloc == own else route.abort())
                page = context.new_page()
                page.goto("/login")
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", PASSWORD)
                with page.expect_navigation():
                    page.click("main form button[type=submit]")
                page.fill("input[name=code]", pyotp.TOTP(secret).now())
                with page.expect_navigation():
                    page.click("main form button[type=submit]")
                if urlsplit(page.url).path != "/":
                    print(f"sign-in failed, at {page.url}", file=sys.stderr)
                    return 1
                if page.locator("html").get_attribute("lang") != args.lang:
                    with page.expect_navigation():
                        page.click("[data-testid=lang-switch]")
                page.mouse.move(0, 0)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.close()
            server.task_dispatcher.shutdown()
            app.extensions["sargs"].engine.dispose()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
