"""What the warnings pages show, gathered from the services: source health, the map's
shapes, and the alerts each warning raised with their delivery. No rules live here;
what a warning is and what it sets off is decided in service, ingest and alerting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sargs.areas import service as areas
from sargs.channels import ledger
from sargs.channels.models import Alert, Delivery
from sargs.settings import Settings
from sargs.warnings import ingest
from sargs.warnings.models import RejectedDocument, WarningNotice, WarningSource, WeatherWarning

REJECTIONS_SHOWN = 20
# A row counts as delivered to its provider from the moment it was handed over.
HANDED_OVER = ("sent", "delivered")


@dataclass(frozen=True)
class SourceHealth:
    url: str
    kind: str | None
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    failures: int
    stale: bool
    configured: bool


def source_health(session: Session, settings: Settings) -> list[SourceHealth]:
    """Each configured source, then any other source polled once (a file, a CLI run)."""
    rows = {row.url: row for row in session.scalars(select(WarningSource).order_by(
        WarningSource.url))}
    stale = {row.url for row in ingest.stale_sources(session, settings)}
    configured = list(settings.feed_urls)
    urls = configured + [url for url in rows if url not in configured]
    found = []
    for url in urls:
        row = rows.get(url)
        found.append(SourceHealth(
            url=url, kind=row.kind if row else None,
            last_success_at=row.last_success_at if row else None,
            last_attempt_at=row.last_attempt_at if row else None,
            last_error=row.last_error if row else None, failures=row.failures if row else 0,
            stale=url in stale, configured=url in configured,
        ))
    return found


def recent_rejections(session: Session, limit: int = REJECTIONS_SHOWN) -> list[RejectedDocument]:
    return list(session.scalars(select(RejectedDocument).order_by(
        RejectedDocument.received_at.desc(), RejectedDocument.id.desc()).limit(limit)))


def _feature(geometry: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def map_shapes(session: Session, warnings: list[WeatherWarning], home_codes: list[str],
               urls: dict[int, str]) -> dict[str, Any]:
    """GeoJSON for the map: the home areas' outlines, then each warning's polygons —
    or, for a warning given by area codes only (sea areas), the outlines of those areas."""
    features = []
    for code in home_codes:
        area = areas.get_area(session, code)
        if area is not None:
            features.append(_feature(area.geometry, {"role": "home", "code": code,
                                                     "name": area.name}))
    for warning in warnings:
        properties = {"role": "warning", "id": warning.id, "level": warning.level,
                      "title": headline(warning), "url": urls.get(warning.id, "")}
        if warning.geometry:
            features.append(_feature(warning.geometry, properties))
            continue
        for code in warning.areas or []:
            area = areas.get_area(session, code)
            if area is not None:
                features.append(_feature(area.geometry, {**properties, "code": code}))
    return {"type": "FeatureCollection", "features": features}


def headline(warning: WeatherWarning, language: str = "lv") -> str:
    """The warning's own words in ``language``, else in any language it has."""
    texts = warning.texts or {}
    for text in [texts.get(language), *texts.values()]:
        if text and (text.get("headline") or text.get("event")):
            return str(text.get("headline") or text.get("event"))
    return warning.identifier


@dataclass(frozen=True)
class AlertDelivery:
    """An alert a warning raised, and how far its delivery got."""

    alert: Alert
    total: int
    finished: int
    delivered: int
    first_handed_over: datetime | None

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.total) if self.total else 0


def alerts_of(session: Session, warning_ids: list[int]) -> dict[int, list[AlertDelivery]]:
    """warning id → the alerts it raised (oldest first) with their delivery so far."""
    if not warning_ids:
        return {}
    refs = {f"warning:{warning_id}": warning_id for warning_id in warning_ids}
    found = list(session.scalars(select(Alert).where(
        Alert.source == "warning", Alert.source_ref.in_(refs)).order_by(Alert.id)))
    ids = [alert.id for alert in found]
    totals = ledger.totals(session, ids)
    first = dict(session.execute(
        select(Delivery.alert_id, func.min(func.coalesce(Delivery.sent_at, Delivery.delivered_at)))
        .where(Delivery.alert_id.in_(ids), Delivery.state.in_(HANDED_OVER))
        .group_by(Delivery.alert_id)).all()) if ids else {}
    result: dict[int, list[AlertDelivery]] = {}
    for alert in found:
        states = totals.get(alert.id, {})
        result.setdefault(refs[alert.source_ref or ""], []).append(AlertDelivery(
            alert=alert, total=sum(states.values()),
            finished=sum(n for s, n in states.items() if s in ledger.FINAL_DELIVERY_STATES),
            delivered=states.get("delivered", 0), first_handed_over=first.get(alert.id),
        ))
    return result


def notices_of(session: Session, warning_id: int) -> list[WarningNotice]:
    return list(session.scalars(select(WarningNotice).where(
        WarningNotice.warning_id == warning_id).order_by(WarningNotice.id)))


def sent_to_first_delivery(warning: WeatherWarning, notices: list[WarningNotice],
                           deliveries: list[AlertDelivery]) -> dict[int, timedelta]:
    """alert id → time from the ``sent`` of the version that raised it to its first row
    handed to a provider."""
    version_sent = {version.id: version.sent for version in warning.versions}
    raised_by = {n.alert_id: version_sent.get(n.version_id) for n in notices if n.alert_id}
    found = {}
    for item in deliveries:
        sent = raised_by.get(item.alert.id)
        if sent is not None and item.first_handed_over is not None:
            found[item.alert.id] = max(item.first_handed_over - sent, timedelta(0))
    return found
