"""``sargs demo``: the whole system on one machine without any provider account.

Upgrades the database, seeds the Jelgava data set, starts the provider simulators and
Sargs itself (web, scheduler, dispatcher, Telegram bot) pointed at them, plays the
red-wind story, prints where to look and serves until Ctrl+C (``--no-serve`` stops after
the story). Demo mode only: without SARGS_MODE it runs in demo mode, on a database of its own
(instance/demo.db) unless SARGS_DATABASE_URL names one; it refuses a production
configuration, since it makes users with a known password.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import click
from flask import Flask
from flask.cli import ScriptInfo

from sargs.settings import Settings, load_settings

REFUSED = ("sargs demo runs in demo mode only: it makes users with a known password and "
           "sends every message to simulators. Use a database of its own with "
           "SARGS_MODE=demo (or leave SARGS_MODE unset).")


DEMO_DATABASE = "sqlite:///instance/demo.db"


def _demo_mode() -> None:
    """Demo mode for this run, unless the environment or .env names a mode; and a database
    of its own (instance/demo.db) unless one is named — never the one ``sargs run`` uses
    by default, which may hold real data and real users."""
    configured = load_settings().model_fields_set
    if "SARGS_MODE" not in os.environ and "mode" not in configured:
        os.environ["SARGS_MODE"] = "demo"
    if "SARGS_DATABASE_URL" not in os.environ and "database_url" not in configured:
        os.environ["SARGS_DATABASE_URL"] = DEMO_DATABASE
    if load_settings().mode == "production":
        raise click.ClickException(REFUSED)


def _serve(app: Flask, settings: Settings) -> tuple[Any, threading.Thread]:
    """The web server in a thread, listening before the story starts (the simulators'
    status callbacks and the phones page reach it while it plays)."""
    import waitress

    server = waitress.create_server(app, host=settings.host, port=settings.port,
                                    threads=settings.web_threads, ident="sargs")
    thread = threading.Thread(target=server.run, name="sargs-demo-web", daemon=True)
    thread.start()
    return server, thread


class Running:
    """Sargs' own background parts, as ``sargs run`` starts them."""

    def __init__(self, app: Flask) -> None:
        from sargs.cli import _start_bot
        from sargs.scheduler import start_background

        self.app = app
        self.scheduler = start_background(app)
        self.bot = _start_bot(app)
        self.dispatcher: Any = None
        self.lock: Any = None

    def start_dispatcher(self) -> bool:
        """The worker, once the story's own dispatcher is done (one sender per SQLite)."""
        from sargs.channels import worker

        self.lock = worker.single_worker_lock(self.app.extensions["sargs"].settings)
        if self.lock:
            self.dispatcher = worker.start_thread(self.app)
        return bool(self.lock)

    def stop(self) -> None:
        from sargs.cli import _stop_bot

        _stop_bot(self.bot)
        if self.dispatcher is not None:
            self.dispatcher[1].set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.app.extensions["sargs"].scheduler_lock.release()


@click.command("demo")
@click.option("--host", default=None, help="Address to listen on (SARGS_HOST).")
@click.option("--port", type=int, default=None, help="Port (SARGS_PORT, default 8787).")
@click.option("--no-serve", is_flag=True, help="Exit once the story has played.")
@click.option("--volunteers", "volunteer_count", type=click.IntRange(0, 1000), default=None,
              help="Volunteers to seed (default 200).")
@click.option("--subscribers", "subscriber_count", type=click.IntRange(0, 5000), default=None,
              help="Residents subscribed to the alerts (default 300).")
@click.pass_obj
def demo_command(info: ScriptInfo, host: str | None, port: int | None, no_serve: bool,
                 volunteer_count: int | None, subscriber_count: int | None) -> None:
    """Seed a Jelgava data set, start Sargs against the provider simulators and play a
    red-wind scenario (demo mode only)."""
    from sargs.app import create_app
    from sargs.audit.service import acting_as
    from sargs.channels.simulators.base import SimulatorRefused
    from sargs.channels.simulators.suite import stop_all
    from sargs.cli import _cli_actor, _wait_for_stop
    from sargs.demo import phones, scenario, seed

    started = time.monotonic()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # the SMTP simulator's chatter
    _demo_mode()
    base: Settings = info.load_app().extensions["sargs"].settings
    if base.mode not in seed.DEMO_MODES:
        raise click.ClickException(REFUSED)
    try:
        simulators = scenario.start_simulators(base.mode)
    except SimulatorRefused as exc:
        raise click.ClickException(str(exc)) from None
    running: Running | None = None
    server: Any = None
    try:
        quiet = {} if "log_level" in base.model_fields_set else {"log_level": "WARNING"}
        settings = scenario.demo_settings(base, simulators).model_copy(
            update={"host": host or base.host, "port": port or base.port, **quiet})
        app = create_app(settings)  # upgrades the schema
        logging.getLogger().setLevel(settings.log_level)  # the first app set it up
        state = app.extensions["sargs"]
        state.extra[phones.SIMULATORS] = simulators
        click.echo(f"Database ready ({settings.database_url}); simulators started.")
        with app.app_context(), state.sessionmaker() as session, acting_as(_cli_actor()):
            counts = seed.seed(session, settings, secret=str(app.config["SECRET_KEY"]),
                               volunteer_count=seed.VOLUNTEERS if volunteer_count is None
                               else volunteer_count,
                               subscriber_count=seed.SUBSCRIBERS if subscriber_count is None
                               else subscriber_count)
            session.commit()
        click.echo(f"Seeded in {time.monotonic() - started:.1f} s: "
                   + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in vars(counts).items()))
        if not no_serve:
            server, _thread = _serve(app, settings)
            running = Running(app)
        with acting_as(_cli_actor()):
            scenario.play(app, simulators, echo=click.echo)
        click.echo(f"The demo reached the end of the story in {time.monotonic() - started:.0f} s.")
        _print_where(settings, no_serve)
        if no_serve:
            return
        assert running is not None
        running.start_dispatcher()
        click.echo("Serving; Ctrl+C stops the demo.")
        _wait_for_stop()
    finally:
        if running is not None:
            running.stop()
        if server is not None:
            server.close()
        stop_all(simulators)


def _print_where(settings: Settings, no_serve: bool) -> None:
    from sargs.demo.seed import DEMO_PASSWORD, demo_users

    if not no_serve:
        click.echo(f"Sargs: {settings.base_url}/  ·  what the phones received: "
                   f"{settings.base_url}/demo/phones")
    click.echo(f"Demo users (password {DEMO_PASSWORD}):")
    for username, roles in demo_users():
        click.echo(f"  {username:12} {roles}")
