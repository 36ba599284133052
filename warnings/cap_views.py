"""The public CAP 1.2 feed of Sargs' own Actual public alerts (no sign-in).

``/cap/alerts.atom`` lists the published alerts (Atom, one entry per CAP message, each
linking its document); ``/cap/alerts/<id>.xml`` is the document. Anything not published —
Exercise, Test, a staff-only alert, a draft — is 404, so its existence is not told either.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, Response, abort
from flask_babel import gettext as _

from sargs import clock
from sargs.auth.access import public
from sargs.context import db_session, settings
from sargs.extensions import limiter
from sargs.warnings import cap_out, service
from sargs.warnings.cap import CapDocument, info_for_language

bp = Blueprint("cap", __name__, url_prefix="/cap")

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_TYPE = "application/cap+xml"
ATOM_TYPE = "application/atom+xml"
FEED_LIMIT = 50
# Integrations poll; a few a second from one address is plenty, more is abuse.
FEED_RATE = "120 per minute"


def _document_url(alert_id: int) -> str:
    return f"{settings().base_url}/cap/alerts/{alert_id}.xml"


def _atom(parent: ElementTree.Element, name: str, text: str | None = None,
          **attributes: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, "{" + ATOM_NS + "}" + name, attributes)
    element.text = text
    return element


def _entry(feed: ElementTree.Element, alert_id: int, doc: CapDocument) -> None:
    info = info_for_language(doc, "lv")
    url = _document_url(alert_id)
    entry = _atom(feed, "entry")
    _atom(entry, "id", url)
    _atom(entry, "title", (info.headline or info.event) if info else doc.msg_type)
    _atom(entry, "published", cap_out.cap_time(doc.sent))
    # A CAP message never changes once sent; a correction is a message of its own.
    _atom(entry, "updated", cap_out.cap_time(doc.sent))
    if info is not None and info.description:
        _atom(entry, "summary", info.description)
    _atom(entry, "category", term=doc.msg_type)
    _atom(entry, "link", rel="alternate", type=CAP_TYPE, href=url)


@bp.route("/alerts.atom")
@public
@limiter.limit(FEED_RATE)
def feed() -> Any:
    session, config = db_session(), settings()
    documents = [(alert.id, cap_out.alert_document(session, alert, config,
                                                   service.cap_details(session, alert)))
                 for alert in cap_out.published_alerts(session, FEED_LIMIT)]
    root = ElementTree.Element("{" + ATOM_NS + "}feed")
    _atom(root, "id", f"{config.base_url}/cap/alerts.atom")
    _atom(root, "title", _("Jelgava public alerts"))
    _atom(root, "updated", _feed_updated(documents))
    _atom(_atom(root, "author"), "name", _("Jelgava State City Municipality"))
    _atom(root, "link", rel="self", type=ATOM_TYPE, href=f"{config.base_url}/cap/alerts.atom")
    for alert_id, doc in documents:
        _entry(root, alert_id, doc)
    ElementTree.register_namespace("", ATOM_NS)
    body = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, mimetype=ATOM_TYPE)


def _feed_updated(documents: list[tuple[int, CapDocument]]) -> str:
    newest = max((doc.sent for _id, doc in documents), default=None)
    return cap_out.cap_time(newest if newest is not None else clock.now().replace(microsecond=0))


@bp.route("/alerts/<int:alert_id>.xml")
@public
@limiter.limit(FEED_RATE)
def document(alert_id: int) -> Any:
    session = db_session()
    alert = cap_out.published_alert(session, alert_id)
    if alert is None:
        abort(404)
    body = cap_out.emit(cap_out.alert_document(session, alert, settings(),
                                               service.cap_details(session, alert)))
    return Response(body, mimetype=CAP_TYPE)
