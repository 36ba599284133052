"""Every blueprint of Sargs, registered in one place."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import format_datetime, get_timezone

from sargs.auth.access import check_declared
from sargs.auth.roles import ROLES

# Patterns made of numbers only read the same in every language: formatted directly,
# since a long table calls this filter a few times per row.
NUMERIC_PATTERNS = {
    "yyyy-MM-dd HH:mm": "%Y-%m-%d %H:%M",
    "dd.MM.yyyy HH:mm": "%d.%m.%Y %H:%M",
    "dd.MM.yyyy": "%d.%m.%Y",
    "yyyy-MM-dd": "%Y-%m-%d",
    "HH:mm": "%H:%M",
}


def _datetime_local(value, fmt: str = "yyyy-MM-dd HH:mm") -> str:  # type: ignore[no-untyped-def]
    if value is None:
        return ""
    pattern = NUMERIC_PATTERNS.get(fmt)
    if pattern is not None and isinstance(value, datetime):
        return value.astimezone(get_timezone()).strftime(pattern)
    return format_datetime(value, fmt)


def register_all(app: Flask) -> None:
    from sargs import health
    from sargs.activations import api as activations_api
    from sargs.activations import views as activations
    from sargs.areas import api as areas_api
    from sargs.areas import views as areas
    from sargs.audit import views as audit
    from sargs.auth import views as auth
    from sargs.cad import stats_views as cad_stats
    from sargs.cad import views as cad
    from sargs.channels import contacts_views, notices_views, replies_views, subscribe_views
    from sargs.channels import views as channels
    from sargs.channels import webhooks as channel_webhooks
    from sargs.exercises import builder_views as exercise_builder
    from sargs.exercises import play_views as exercise_play
    from sargs.exercises import run_views as exercise_run
    from sargs.exercises import views as exercises
    from sargs.reserves import views as reserves
    from sargs.shelters import views as shelters
    from sargs.volunteers import views as volunteers
    from sargs.warnings import views as warnings
    from sargs.web import shell

    shell.register(app)
    for module in (auth, audit, activations, areas, health):
        app.register_blueprint(module.bp)
    for module in (warnings, channels, cad, cad_stats, shelters, reserves, volunteers,
                   exercises, exercise_builder, exercise_play, exercise_run):
        app.register_blueprint(module.bp)
    app.register_blueprint(areas_api.bp)
    app.register_blueprint(activations_api.bp)
    app.register_blueprint(channel_webhooks.bp)
    from sargs.channels import telegram_webhook

    app.register_blueprint(telegram_webhook.bp)
    app.register_blueprint(contacts_views.bp)
    app.register_blueprint(subscribe_views.bp)
    app.register_blueprint(notices_views.bp)
    app.register_blueprint(replies_views.bp)
    app.register_blueprint(subscribe_views.api_bp)
    from sargs.cad import jobs as cad_jobs  # noqa: F401  registers its tick handler
    from sargs.cad import partner_views as cad_partner_views
    from sargs.cad import public_views as cad_public_views

    app.register_blueprint(cad_public_views.bp)
    app.register_blueprint(cad_partner_views.bp)
    from sargs.channels import api as alerts_api
    from sargs.warnings import api as warnings_api
    from sargs.warnings import cap_views
    from sargs.warnings import jobs as warnings_jobs  # noqa: F401  registers its tick handler

    for module in (alerts_api, warnings_api, cap_views):
        app.register_blueprint(module.bp)
    from sargs.cad import api as cad_api
    from sargs.cad import open311_api

    for module in (cad_api, open311_api):
        app.register_blueprint(module.bp)
    from sargs.shelters import api as shelters_api
    from sargs.shelters import count_views as shelters_count
    from sargs.shelters import public_views as shelters_public

    for module in (shelters_api, shelters_count, shelters_public):
        app.register_blueprint(module.bp)
    from sargs.volunteers import api as volunteers_api
    from sargs.volunteers import bot as volunteers_bot  # noqa: F401  its Telegram commands
    from sargs.volunteers import callout_views, portal_views, training_views
    from sargs.volunteers import jobs as volunteers_jobs  # noqa: F401  its tick handlers

    for module in (volunteers_api, portal_views, training_views, callout_views):
        app.register_blueprint(module.bp)
    from sargs.exercises import jobs as exercises_jobs  # noqa: F401  its tick handler
    from sargs.exercises import replies as exercise_replies  # noqa: F401  its SMS replies
    from sargs.reserves import api as reserves_api
    from sargs.reserves import jobs as reserves_jobs  # noqa: F401  its tick handler
    from sargs.reserves import request_views, stocktake_views

    for module in (reserves_api, request_views, stocktake_views):
        app.register_blueprint(module.bp)
    from sargs.exercises import report_views as exercise_report

    app.register_blueprint(exercise_report.bp)
    from sargs.activations import journal_views
    from sargs.demo import views as demo_views
    from sargs.situation import api as situation_api
    from sargs.situation import report_views as situation_report
    from sargs.situation import views as situation

    for module in (journal_views, situation, situation_report, situation_api, demo_views):
        app.register_blueprint(module.bp)
    from sargs.channels.ledger import health as channels_health

    health.contribute("channels", channels_health)

    app.add_template_filter(_datetime_local, "datetime_local")
    app.add_template_global(lambda role: ROLES.get(role, role), "role_label")
    app.jinja_env.globals["zone"] = ZoneInfo(app.extensions["sargs"].settings.timezone)
    check_declared(app)
