"""``sargs exercises …``: an exercise carried between municipalities as JSON (the format
is in :mod:`sargs.exercises.builder`)."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("exercises")
def exercises_group() -> None:
    """Exercises: export and import."""


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
