"""The ``sargs`` command (click, on Flask's CLI).

``sargs run`` serves the web app with waitress and runs the scheduler in the
same process; ``web``, ``scheduler`` run the parts alone. Every command
upgrades the database first, so each works on a fresh, empty database.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext

from sargs import migrate
from sargs.audit.service import Actor, acting_as
from sargs.channels.models import ALERT_STATES
from sargs.settings import SettingsError, load_settings


def _create_app() -> Flask:
    from sargs.app import create_app

    return create_app()


def _state() -> Any:
    return current_app.extensions["sargs"]


def _cli_actor() -> Actor:
    import getpass

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "?"
    return Actor("system", None, f"cli:{who}", "cli")


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Sargs — civil-defence and early-warning system."""
    # A new ScriptInfo per invocation: it keeps the app it loads, and an app
    # kept from an earlier invocation would point at an earlier database.
    if ctx.obj is None:
        ctx.obj = ScriptInfo(create_app=_create_app, set_debug_flag=False)


# --- serving ---------------------------------------------------------------


def _first_start_hint() -> None:
    from sargs.auth.service import list_users

    with _state().sessionmaker() as session:
        if not list_users(session):
            click.echo("No users yet. Create the first administrator with:")
            click.echo(f"  {sys.argv[0]} user create admin --role admin")


@cli.command("run")
@click.option("--host", default=None, help="Address to listen on (SARGS_HOST).")
@click.option("--port", type=int, default=None, help="Port (SARGS_PORT, default 8787).")
@with_appcontext
def run_command(host: str | None, port: int | None) -> None:
    """Web server (waitress) and scheduler in one process."""
    import waitress

    from sargs.scheduler import start_background

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = _state().settings
    host = host or settings.host
    port = port or settings.port
    from sargs.channels import worker

    scheduler = start_background(app)
    worker_lock = worker.single_worker_lock(settings)
    dispatcher = worker.start_thread(app) if worker_lock else None
    bot = _start_bot(app)
    click.echo(f"Sargs is running at http://{host}:{port}/")
    if scheduler is None:
        click.echo("Another scheduler runs against this database; this process only serves the web.")
    _first_start_hint()
    try:
        waitress.serve(app, host=host, port=port, threads=settings.web_threads, ident="sargs")
    finally:
        _stop_bot(bot)
        if dispatcher is not None:
            dispatcher[1].set()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
            _state().scheduler_lock.release()


def _start_bot(app: Flask) -> Any:
    """The residents' Telegram bot beside the web server, when a bot token is set; a bot
    that cannot start must not keep the web and the alerts from running."""
    from sargs.channels import telegram_bot_runner

    try:
        return telegram_bot_runner.start(app)
    except Exception as error:  # Telegram unreachable, a wrong token …
        click.echo(f"The Telegram bot did not start ({type(error).__name__}); "
                   "alerts are still sent.")
        return None


def _stop_bot(bot: Any) -> None:
    from sargs.channels import telegram_bot_runner

    telegram_bot_runner.stop(bot)


@cli.command("bot")
@with_appcontext
def bot_command() -> None:
    """The residents' Telegram bot alone (polling; in webhook mode: register the webhook)."""
    from sargs.channels import telegram_bot_runner
    from sargs.channels.telegram_webhook import webhook_url

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = _state().settings
    if settings.telegram_bot_token is None:
        raise click.ClickException("TELEGRAM_BOT_TOKEN is not set")
    bot = telegram_bot_runner.start(app)
    if bot is None:
        raise click.ClickException("another process already polls this bot")
    if settings.telegram_bot_mode == "webhook":
        _stop_bot(bot)
        click.echo(f"Webhook registered at {webhook_url(settings)}; the web server answers it.")
        return
    click.echo("Telegram bot running; Ctrl+C stops it.")
    try:
        _wait_for_stop()
    finally:
        _stop_bot(bot)


@cli.command("worker")
@with_appcontext
def worker_command() -> None:
    """The dispatcher alone: sends the delivery ledger (many on PostgreSQL, one on SQLite)."""
    from sargs.channels import worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not worker.single_worker_lock(_state().settings):
        raise click.ClickException("another worker already sends from this SQLite database")
    stop = _stop_on_sigterm()
    click.echo("Worker running; Ctrl+C stops it.")
    try:
        worker.run(app, stop)
    except KeyboardInterrupt:
        stop.set()


@cli.command("web")
@click.option("--workers", type=int, default=2)
@click.option("--bind", default=None, help="host:port (default SARGS_HOST:SARGS_PORT)")
@click.pass_obj
def web_command(info: ScriptInfo, workers: int, bind: str | None) -> None:
    """Web server alone under gunicorn (scale-out on PostgreSQL)."""
    from gunicorn.app.base import BaseApplication

    # Loaded without pushing an app context: the workers fork from this process, and a
    # context pushed here would be every request's, so its database session would outlive
    # each request (holding SQLite's write lock, or a PostgreSQL transaction).
    app = info.load_app()
    settings = app.extensions["sargs"].settings
    engine = app.extensions["sargs"].engine

    def post_fork(_server: Any, _worker: Any) -> None:
        # The master opened connections while upgrading the schema; a worker must never
        # use a connection another process holds, so each starts with a pool of its own.
        engine.dispose(close=False)

    options = {"bind": bind or f"{settings.host}:{settings.port}", "workers": workers,
               "post_fork": post_fork}
    engine.dispose()

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    _Server().run()


def _stop_on_sigterm() -> threading.Event:
    """An event set when the process is asked to stop (SIGTERM, as service managers do)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return stop


def _wait_for_stop() -> None:
    """Block until SIGTERM or Ctrl+C."""
    try:
        _stop_on_sigterm().wait()
    except KeyboardInterrupt:
        pass


@cli.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """The scheduler alone (one per database; a lock keeps it single)."""
    from sargs.scheduler import start_background

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scheduler = start_background(app)
    if scheduler is None:
        raise click.ClickException("another scheduler already runs against this database")
    click.echo("Scheduler running; Ctrl+C stops it.")
    try:
        _wait_for_stop()
    finally:
        scheduler.shutdown(wait=False)
        _state().scheduler_lock.release()


@cli.command("tick")
@with_appcontext
def tick_command() -> None:
    """Run one scheduler tick now and print what each handler did."""
    from sargs.scheduler import run_tick

    for name, result in run_tick(_state().sessionmaker).items():
        click.echo(f"{name}: {result}")


# --- database --------------------------------------------------------------


@click.group("db")
def db_group() -> None:
    """Database schema migrations."""


def _engine() -> Any:
    from pathlib import Path

    from sargs.db import make_engine

    settings = load_settings()
    if settings.is_sqlite:
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.database_url)


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the schema (to the newest by default)."""
    engine = _engine()
    migrate.upgrade(engine, revision)
    click.echo(f"database at {migrate.current_revision(engine)}")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION ("base" removes everything)."""
    engine = _engine()
    migrate.downgrade(engine, revision)
    click.echo(f"database at {migrate.current_revision(engine) or 'base'}")


@db_group.command("current")
def db_current() -> None:
    """Print the schema revision of the database and the newest one."""
    engine = _engine()
    click.echo(f"current: {migrate.current_revision(engine) or 'base (empty)'}")
    click.echo(f"head:    {migrate.head_revision(engine)}")


cli.add_command(db_group)


# --- users and tokens --------------------------------------------------------


@cli.group("user")
def user_group() -> None:
    """Staff accounts."""


@user_group.command("create")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="Repeat for several roles.")
@click.option("--display-name", default=None)
@click.option("--email", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def user_create(name: str, roles: tuple[str, ...], display_name: str | None,
                email: str | None, password_stdin: bool) -> None:
    """Create a staff user NAME with one or more --role."""
    from sargs.auth import service

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _state().sessionmaker() as session, acting_as(_cli_actor()):
        try:
            user = service.create_user(session, name, password, list(roles), display_name, email)
        except service.AuthError as exc:
            raise click.BadParameter(exc.message, param_hint=f"'{exc.field}'") from None
        session.commit()
        click.echo(f"created user {user.username} with roles {', '.join(sorted(user.role_names))}")
        if service.needs_totp(session, user):
            click.echo("This user sets up a second factor (TOTP) at the first sign-in.")


@user_group.command("list")
@with_appcontext
def user_list() -> None:
    """List staff users and their roles."""
    from sargs.auth import service

    with _state().sessionmaker() as session:
        for user in service.list_users(session):
            state = "active" if user.active else "disabled"
            totp = "totp" if user.totp_enabled_at else "-"
            click.echo(f"{user.username}\t{','.join(sorted(user.role_names))}\t{state}\t{totp}")


@cli.group("token")
def token_group() -> None:
    """API tokens for integrations."""


@token_group.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True)
@with_appcontext
def token_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create a token; it is printed once, alone on the last line."""
    from sargs.auth import service

    with _state().sessionmaker() as session, acting_as(_cli_actor()):
        try:
            token, plaintext = service.create_token(session, name, list(scopes))
        except service.AuthError as exc:
            raise click.BadParameter(exc.message, param_hint=f"'--{exc.field.rstrip('s')}'") from None
        session.commit()
        click.echo(f"token {token.name} (id {token.id}) with scopes {', '.join(token.scopes)}; "
                   "store it now, it is not shown again:")
        click.echo(plaintext)


@token_group.command("list")
@with_appcontext
def token_list() -> None:
    from sargs.auth import service

    with _state().sessionmaker() as session:
        for token in service.list_tokens(session):
            state = "revoked" if token.revoked_at else "active"
            click.echo(f"{token.id}\t{token.name}\t{','.join(token.scopes)}\t{state}")


@token_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(token_id: int) -> None:
    from sargs.auth import service
    from sargs.auth.models import ApiToken

    with _state().sessionmaker() as session, acting_as(_cli_actor()):
        token = session.get(ApiToken, token_id)
        if token is None:
            raise click.BadParameter(f"no token with id {token_id}", param_hint="'TOKEN_ID'")
        service.revoke_token(session, token)
        session.commit()
        click.echo(f"token {token.name} revoked")


@cli.group("contacts")
def contacts_group() -> None:
    """The staff contact registry (groups, institutions, IP-phone paging)."""


@contacts_group.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@with_appcontext
def contacts_import(file: Any) -> None:
    """Import contacts from a CSV FILE (columns: name, kind, language, groups, addresses).

    All or nothing: any bad line is reported and nothing is stored."""
    from sargs.channels import contact_import

    with _state().sessionmaker() as session, acting_as(_cli_actor()):
        result = contact_import.import_csv(session, file.read())
        for error in result.errors:
            click.echo(f"line {error.line}, column {error.column!r}: {error.code} {error.detail}",
                       err=True)
        if result.errors:
            raise SystemExit(1)
        session.commit()
        click.echo(f"imported: {result.created} new, {result.updated} updated")


@contacts_group.command("export")
@with_appcontext
def contacts_export() -> None:
    """Write the contact registry as CSV to standard output."""
    from sargs.channels import contact_import

    with _state().sessionmaker() as session:
        click.echo(contact_import.export_csv(session), nl=False)


@cli.group("alert")
def alert_group() -> None:
    """Alerts: list and show them; cancel or correct one that went out."""


def _follow_up(alert_id: int, act: Any) -> None:
    from sargs.channels.alerts import AlertError
    from sargs.channels.ledger import configured_channels
    from sargs.channels.models import Alert

    with _state().sessionmaker() as session, acting_as(_cli_actor()):
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise click.ClickException(f"no alert {alert_id}")
        try:
            outcome = act(session, alert, configured_channels(_state().settings))
        except AlertError as exc:
            raise click.ClickException(f"{exc.field}: {exc.message}") from None
        session.commit()
        follow = outcome.follow_up
        click.echo(f"stopped {outcome.stopped} unsent deliveries of alert {alert_id}")
        if follow is not None:
            click.echo(f"alert {follow.id} ({follow.msg_type}) {follow.state}: "
                       f"{outcome.deliveries} deliveries")


@alert_group.command("cancel")
@click.argument("alert_id", type=int)
@click.option("--note", default="", help="Why, for the alert's history.")
@with_appcontext
def alert_cancel(alert_id: int, note: str) -> None:
    """Cancel ALERT_ID and notify everyone already told (no second person needed)."""
    from sargs.channels import notices

    _follow_up(alert_id, lambda session, alert, configured: notices.cancel(
        session, alert, None, configured=configured, note=note))


@alert_group.command("correct")
@click.argument("alert_id", type=int)
@click.option("--text", "texts", type=(str, str), multiple=True, required=True,
              metavar="LANG TEXT", help="The corrected text in one language; repeat per language.")
@click.option("--note", default="", help="Why, for the alert's history.")
@with_appcontext
def alert_correct(alert_id: int, texts: tuple[tuple[str, str], ...], note: str) -> None:
    """Stop ALERT_ID's wrong text and send the corrected one to its whole audience
    (a correction of a public alert waits for a second person's approval on the web)."""
    from sargs.channels import notices

    _follow_up(alert_id, lambda session, alert, configured: notices.correct(
        session, alert, dict(texts), None, configured=configured, note=note))


@alert_group.command("list")
@click.option("--state", type=click.Choice(ALERT_STATES), default=None,
              help="Only alerts in this state.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The API's JSON objects, one list.")
@with_appcontext
def alert_list(state: str | None, limit: int, as_json: bool) -> None:
    """The newest alerts, as the alerts API lists them."""
    import json

    from sargs.channels.alert_json import alert_json, recent_alerts

    with _state().sessionmaker() as session:
        objects = [alert_json(session, alert) for alert in recent_alerts(session, state, limit)]
    if as_json:
        click.echo(json.dumps(objects, ensure_ascii=False, indent=2))
        return
    for obj in objects:
        first_text = next(iter(obj["texts"].values()), "")
        headline = " ".join(first_text.split())[:60]
        click.echo(f"{obj['id']:>6}  {obj['state']:<17} {obj['cap_status']:<8} "
                   f"{obj['msg_type']:<6} {obj['level'] or '-':<6} {headline}")


@alert_group.command("show")
@click.argument("alert_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="The API's JSON object.")
@with_appcontext
def alert_show(alert_id: int, as_json: bool) -> None:
    """One alert with its texts, audience and delivery progress."""
    import json

    from sargs.channels.alert_json import alert_json
    from sargs.channels.models import Alert

    with _state().sessionmaker() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise click.ClickException(f"no alert {alert_id}")
        obj = alert_json(session, alert, milestones=True)
    if as_json:
        click.echo(json.dumps(obj, ensure_ascii=False, indent=2))
        return
    texts = obj.pop("texts")
    for key, value in obj.items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
        click.echo(f"{key}: {shown}")
    for language, body in texts.items():
        click.echo(f"\n[{language}]\n{body}")


@cli.command("simulators")
@click.option("--twilio-port", type=int, default=0, help="0 picks a free port.")
@click.option("--telegram-port", type=int, default=0)
@click.option("--smtp-port", type=int, default=0)
@click.option("--ami-port", type=int, default=0)
def simulators_command(twilio_port: int, telegram_port: int, smtp_port: int,
                       ami_port: int) -> None:
    """Provider simulators (Twilio, Telegram, SMTP, AMI) on 127.0.0.1; test and demo mode only."""
    from sargs.channels.simulators.base import SimulatorRefused
    from sargs.channels.simulators.suite import environment, start_all, stop_all

    try:
        running = start_all(load_settings().mode, twilio_port, telegram_port, smtp_port, ami_port)
    except SimulatorRefused as exc:
        click.echo(f"sargs: {exc}; set SARGS_MODE=demo to use them", err=True)
        sys.exit(2)
    for name, simulator in running.items():
        click.echo(f"{name:9} {simulator.url}")
    click.echo("Point Sargs at them with:")
    for key, value in environment(running).items():
        click.echo(f"  export {key}={value}")
    click.echo("Simulators running; Ctrl+C stops them.")
    try:
        _wait_for_stop()
    finally:
        stop_all(running)


from sargs.warnings.cli import warnings_group  # noqa: E402

cli.add_command(warnings_group)

from sargs.cad.cli import cad_group  # noqa: E402

cli.add_command(cad_group)

from sargs.shelters.cli import shelters_group  # noqa: E402

cli.add_command(shelters_group)

from sargs.volunteers.cli import volunteers_group  # noqa: E402

cli.add_command(volunteers_group)

from sargs.reserves.cli import reserves_group  # noqa: E402

cli.add_command(reserves_group)

from sargs.exercises.cli import exercises_group  # noqa: E402

cli.add_command(exercises_group)

from sargs.demo.cli import demo_command  # noqa: E402

cli.add_command(demo_command)


def main() -> None:
    try:
        cli.main(prog_name="sargs")
    except SettingsError as exc:
        click.echo(f"sargs: {exc}", err=True)
        sys.exit(2)
