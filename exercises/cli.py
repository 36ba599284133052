"""``sargs exercises …``: an exercise carried between municipalities as JSON (the format
is in :mod:`sargs.exercises.builder`), the demo exercise, and a headless run against the
provider simulators (:mod:`sargs.exercises.headless`)."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("exercises")
def exercises_group() -> None:
    """Exercises: export and import, the demo, a headless run."""


@exercises_group.command("export")
@click.argument("exercise_id", type=int)
@with_appcontext
def export_command(exercise_id: int) -> None:
    """Print exercise ID as JSON: objectives, participants by role (no personal data) and
    the inject list."""
    from sargs.exercises import builder
    from sargs.exercises.models import Exercise

    with current_app.extensions["sargs"].sessionmaker() as session:
        exercise = session.get(Exercise, exercise_id)
        if exercise is None:
            raise click.ClickException(f"no exercise {exercise_id}")
        document = builder.export_json(session, exercise)
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


@exercises_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(file: str) -> None:
    """Add the exercise exported in FILE as a new draft; all or nothing (exit 1 names the
    bad part)."""
    from pathlib import Path

    from sargs.audit.service import acting_as
    from sargs.cli import _cli_actor
    from sargs.exercises import builder

    with current_app.extensions["sargs"].sessionmaker() as session, acting_as(_cli_actor()):
        try:
            exercise = builder.import_json(session, Path(file).read_bytes())
        except builder.BuilderError as exc:
            session.rollback()
            raise click.ClickException(f"nothing imported: {exc.field}: {exc.message}") from None
        session.commit()
        click.echo(f"imported exercise {exercise.id}: {exercise.title} "
                   f"({len(exercise.injects)} injects)")


@exercises_group.command("demo")
@with_appcontext
def demo_command() -> None:
    """Add the demo exercise "Vētra un elektroapgādes pārtraukums Jelgavā" (ready to run)
    with the continuity plans it tests; prints its id."""
    from sargs.audit.service import acting_as
    from sargs.cli import _cli_actor
    from sargs.exercises.demo import seed_demo

    with current_app.extensions["sargs"].sessionmaker() as session, acting_as(_cli_actor()):
        exercise = seed_demo(session)
        session.commit()
        click.echo(exercise.id)


@exercises_group.command("run")
@click.argument("exercise_id", type=int)
@click.option("--speed", type=float, default=60.0, show_default=True,
              help="Exercise seconds per real second (at most 600).")
@click.option("--json", "as_json", is_flag=True, help="Only the measured summary, as JSON.")
@click.pass_context
@with_appcontext
def run_command(ctx: click.Context, exercise_id: int, speed: float, as_json: bool) -> None:
    """Run ready exercise ID now, headless, against the provider simulators (test and demo
    mode only), with simulated participants acknowledging; prints what was measured.
    Exit 1 if anything reached anyone but the participants."""
    from sargs.audit.service import acting_as
    from sargs.channels.simulators import suite
    from sargs.channels.simulators.base import SimulatorRefused
    from sargs.cli import _cli_actor
    from sargs.exercises import headless, run
    from sargs.exercises.models import Exercise

    if not 0 < speed <= run.MAX_SPEED:
        raise click.BadParameter(f"more than 0 and at most {run.MAX_SPEED:g}",
                                 param_hint="--speed")
    state = current_app.extensions["sargs"]
    with state.sessionmaker() as session:
        exercise = session.get(Exercise, exercise_id)
        if exercise is None:
            raise click.ClickException(f"no exercise {exercise_id}")
        if exercise.state != "ready":
            raise click.ClickException(
                f"exercise {exercise_id} is {exercise.state}; only a ready exercise runs")
    try:
        simulators = suite.start_all(state.settings.mode)
    except SimulatorRefused as exc:
        click.echo(f"sargs: {exc}; set SARGS_MODE=demo to use them", err=True)
        ctx.exit(2)
    try:
        with acting_as(_cli_actor()):
            measured = headless.run_headless(state.sessionmaker, state.settings, exercise_id,
                                             speed, simulators)
    except run.RunError as exc:
        raise click.ClickException(f"{exc.field}: {exc.message}") from None
    finally:
        suite.stop_all(simulators)
    if as_json:
        click.echo(json.dumps(measured))
    else:
        for key, value in measured.items():
            click.echo(f"{key.replace('_', ' '):28} {'-' if value is None else value}")
    if measured["leaked_to_non_participants"]:
        ctx.exit(1)
