"""The daily expiry list to the warehouse keepers, through the notification engine.

Once a day (the Riga date) when batches expire within 90 days, have expired with stock
left, or items are below their minimum, the contacts of the channels group "warehouse"
get one "reminder" alert with the counts and a link to the watch page. The admin puts
the keepers' contacts into that group on the contacts pages (the group is created the
first time the watch runs). An :class:`~sargs.reserves.models.ExpiryDigest` row per day
makes it once a day however many scheduler ticks there are; with nobody in the group
the day's row is written too, so that is logged once a day, not on every tick.
"""

from __future__ import annotations

import logging

from flask import current_app, has_app_context
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from sargs import clock
from sargs.channels import alerts
from sargs.channels.contacts import ensure_group
from sargs.channels.ledger import configured_channels
from sargs.channels.models import Alert
from sargs.reserves import service
from sargs.reserves.models import ExpiryDigest
from sargs.settings import Settings

log = logging.getLogger(__name__)
GROUP = "warehouse"
GROUP_NAME = "Noliktavas pārziņi (rezerves)"
SOURCE = "reminder"
CHANNELS = ("email", "telegram", "sms")  # a daily list: no voice calls
WATCH_ENDPOINTS = ("reserves.expiring", "reserves.watch", "reserves.index")

TEXTS = {
    "lv": ("Rezerves {day}: {soon30} partijām derīguma termiņš beidzas 30 dienu laikā, "
           "{soon90} — 90 dienu laikā; {expired} partijām tas beidzies; "
           "{below} preces zem minimālā līmeņa. {link}"),
    "en": ("Reserves {day}: {soon30} batches expire within 30 days, {soon90} within 90 days; "
           "{expired} batches have expired; {below} items are below their minimum. {link}"),
}


def watch_path() -> str:
    """The path of the page that lists what expires (the module's page if there is none)."""
    adapter = current_app.url_map.bind("localhost")
    for endpoint in WATCH_ENDPOINTS:
        try:
            return adapter.build(endpoint)
        except BuildError:
            continue
    return "/reserves/"


def texts(watch: service.Watch, link: str) -> dict[str, str]:
    values = {"day": watch.day.strftime("%d.%m.%Y"), "soon30": len(watch.within_30),
              "soon90": len(watch.within_90), "expired": len(watch.expired),
              "below": len(watch.below_minimum), "link": link}
    return {language: text.format(**values) for language, text in TEXTS.items()}


def send_daily(session: Session, settings: Settings | None = None) -> Alert | None:
    """Send today's list if it is due and there is something on it; the alert, or None."""
    if settings is None and has_app_context():
        from sargs.context import settings as app_settings

        settings = app_settings()
    group = ensure_group(session, GROUP, GROUP_NAME, "staff")
    day = service.today()
    if session.get(ExpiryDigest, day) is not None:
        return None
    watch = service.watch(session)
    if watch.empty:
        return None  # looked again at the next tick: a receipt today may change it
    digest = ExpiryDigest(day=day, sent_at=clock.now())
    session.add(digest)
    members = [m.contact for m in group.members if m.contact.active]
    channels = [c for c in CHANNELS if any(
        a.channel == c and a.active for contact in members for a in contact.addresses)]
    if not channels:
        log.info("reserves: the expiry list of %s was not sent: the group %r has nobody "
                 "with an address", day.isoformat(), GROUP)
        session.flush()
        return None
    base = settings.base_url if settings is not None else ""
    alert = alerts.create_alert(session, alerts.AlertDraft(
        source=SOURCE, cap_status="Actual", texts=texts(watch, base + watch_path()),
        audience={"groups": [GROUP]}, channels=channels,
        source_ref=f"reserves_expiry:{day.isoformat()}"), None)
    alerts.submit(session, alert, None)  # staff only: no second person
    alerts.start_sending(session, alert,
                         configured_channels(settings) if settings is not None else set())
    digest.alert_id = alert.id
    session.flush()
    return alert
