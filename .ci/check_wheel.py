"""Check an installed Sargs wheel: every module imports, every data file is there.

Run by the Python of a clean virtual environment into which only the wheel was
installed, from a directory outside the repository, so ``import sargs`` finds
the installed copy:

    python .ci/check_wheel.py REPOSITORY

REPOSITORY is the source tree the wheel was built from: every file of every
package folder mapped in its pyproject.toml must be in the installed package.
Prints what it checked; exits 1 if anything is missing.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import tempfile
import tomllib
import traceback
from pathlib import Path

# An Alembic environment script: it runs only inside Alembic, not on import.
NOT_IMPORTABLE = {"sargs.migrations.env"}
SKIPPED_PARTS = {"__pycache__"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
EMMA_OUTLINES = 51

failures: list[str] = []


def ok(message: str) -> None:
    print(f"  ok    {message}")


def fail(message: str) -> None:
    print(f"  FAIL  {message}")
    failures.append(message)


def check(condition: bool, message: str) -> bool:
    (ok if condition else fail)(message)
    return condition


def section(title: str) -> None:
    print(f"\n{title}")


def installed_package() -> Path:
    section("the installed package")
    import sargs

    root = Path(sargs.__file__).resolve().parent
    print(f"  sargs is {root}")
    prefix = Path(sys.prefix).resolve()
    check(prefix in root.parents, f"imported from the clean environment ({prefix})")
    return root


def import_everything(root: Path) -> None:
    section("every module imports")
    import sargs

    names: list[str] = []

    def on_error(name: str) -> None:
        fail(f"cannot import {name}: {sys.exc_info()[1]!r}")

    for info in pkgutil.walk_packages(sargs.__path__, "sargs.", onerror=on_error):
        if info.name in NOT_IMPORTABLE:
            continue
        names.append(info.name)
        try:
            module = importlib.import_module(info.name)
        except Exception:
            fail(f"cannot import {info.name}:\n{traceback.format_exc()}")
            continue
        where = Path(module.__file__ or "").resolve()
        if root not in where.parents:
            fail(f"{info.name} was imported from {where}, outside the installed package")
    ok(f"{len(names)} modules imported, all from the installed package")
    for domain in ("channels", "warnings", "cad", "shelters", "reserves", "volunteers",
                   "exercises"):
        check(f"sargs.{domain}" in names, f"sargs.{domain} is in the package")
    for name in NOT_IMPORTABLE:
        path = root.joinpath(*name.split(".")[1:]).with_suffix(".py")
        check(path.is_file(), f"{name} is shipped (run by Alembic, not imported)")


def source_files(repository: Path) -> dict[str, Path]:
    """Each package folder of the repository (pyproject's package-dir) and its
    place in the installed package."""
    project = tomllib.loads((repository / "pyproject.toml").read_text())
    mapping = project["tool"]["setuptools"].get("package-dir", {"sargs": "sargs"})
    return {package: repository / folder for package, folder in mapping.items()}


def tracked(repository: Path, folder: Path) -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "-C", str(repository), "ls-files", "-z", "--", str(folder)],
            check=True, capture_output=True, text=True,
        ).stdout
        files = [repository / name for name in out.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        files = [path for path in folder.rglob("*") if path.is_file()]
    return [
        path for path in files
        if not SKIPPED_PARTS & set(path.parts) and path.suffix not in SKIPPED_SUFFIXES
    ]


def every_source_file_installed(root: Path, repository: Path) -> None:
    section("every file of the package folders is installed")
    total = 0
    for package, folder in sorted(source_files(repository).items()):
        target = root.joinpath(*package.split(".")[1:])
        files = tracked(repository, folder)
        missing = [path.relative_to(folder) for path in files
                   if not (target / path.relative_to(folder)).is_file()]
        # A mapped folder inside another (sargs/…) is counted once, by its own mapping.
        total += len(files)
        if missing:
            shown = ", ".join(str(m) for m in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            fail(f"{package} ({folder.name}/): {len(missing)} files missing: {shown}{more}")
        else:
            ok(f"{package} ({folder.relative_to(repository)}/): {len(files)} files")
    print(f"  ({total} files compared)")


def data_files(root: Path) -> None:
    section("data files")
    web = root / "web"
    check((web / "templates" / "layout.html").is_file(), "web/templates/layout.html")
    for name in ("home", "module", "error"):
        check((web / "templates" / "shell" / f"{name}.html").is_file(),
              f"web/templates/shell/{name}.html")
    vendor = web / "static" / "vendor"
    for path in ("leaflet/leaflet.js", "leaflet/leaflet.css", "leaflet/images/marker-icon.png",
                 "htmx/htmx.min.js", "pico/pico.min.css"):
        check((vendor / path).is_file(), f"web/static/vendor/{path}")
    check((web / "static" / "css" / "sargs.css").is_file(), "web/static/css/sargs.css")
    messages = root / "translations" / "lv" / "LC_MESSAGES"
    check((messages / "messages.mo").is_file(), "translations/lv/LC_MESSAGES/messages.mo")
    check((messages / "messages.po").is_file(), "translations/lv/LC_MESSAGES/messages.po")
    migrations = root / "migrations"
    check((migrations / "script.py.mako").is_file(), "migrations/script.py.mako")
    check((migrations / "env.py").is_file(), "migrations/env.py")
    versions = sorted(p.name for p in (migrations / "versions").glob("[0-9]*.py"))
    check(bool(versions), f"migrations/versions: {', '.join(versions) or 'none'}")
    emma = root / "areas" / "data" / "emma"
    outlines = sorted(emma.glob("*.geojson"))
    check(len(outlines) == EMMA_OUTLINES,
          f"areas/data/emma: {len(outlines)} outlines (expected {EMMA_OUTLINES})")
    check((emma / "SOURCES.md").is_file(), "areas/data/emma/SOURCES.md")


def translations(root: Path) -> None:
    section("translations")
    from babel.messages.mofile import read_mo
    from babel.support import Translations

    with open(root / "translations" / "lv" / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        catalog = read_mo(handle)
    translated = [m for m in catalog if m.id and m.string and isinstance(m.id, str)]
    check(len(translated) > 50, f"the Latvian catalogue has {len(translated)} translated texts")
    loaded = Translations.load(str(root / "translations"), ["lv"])
    check(isinstance(loaded, Translations), "babel loads the Latvian catalogue")


def running_app(root: Path) -> None:
    section("the installed app, on a new SQLite database")
    from babel.messages.mofile import read_mo

    with tempfile.TemporaryDirectory(prefix="sargs-wheel-") as folder:
        os.environ["SARGS_DATABASE_URL"] = f"sqlite:///{folder}/sargs.db"
        os.environ["SARGS_INSTANCE_PATH"] = f"{folder}/instance"
        from sargs import migrate
        from sargs.app import create_app

        app = create_app()
        engine = app.extensions["sargs"].engine
        current = migrate.current_revision(engine)
        check(current is not None and current == migrate.head_revision(engine),
              f"migrations ran from the installed package (database at {current})")

        for name, blueprint in sorted(app.blueprints.items()):
            if blueprint.template_folder is None:
                continue
            folder_path = Path(blueprint.root_path) / blueprint.template_folder
            shipped = folder_path.is_dir() and any(folder_path.rglob("*.html"))
            # Module landing pages render the shell's template until the module grows its own.
            if shipped or name not in {"warnings", "channels", "cad", "shelters", "reserves",
                                       "volunteers", "exercises"}:
                check(shipped, f"templates of blueprint {name!r}")
        templates = app.jinja_env.list_templates()
        loader_failures = []
        for template in templates:
            try:
                app.jinja_env.get_template(template)
            except Exception as exc:  # noqa: BLE001
                loader_failures.append(f"{template}: {exc}")
        check(not loader_failures,
              f"{len(templates)} templates load and compile"
              + ("" if not loader_failures else ": " + "; ".join(loader_failures)))

        client = app.test_client()
        for path, expected in (("/healthz", 200), ("/login", 200), ("/", 302),
                               ("/static/vendor/htmx/htmx.min.js", 200),
                               ("/static/vendor/leaflet/leaflet.js", 200),
                               ("/static/vendor/pico/pico.min.css", 200)):
            response = client.get(path)
            check(response.status_code == expected,
                  f"GET {path} answers {response.status_code} (expected {expected})")
            response.close()

        with open(root / "translations" / "lv" / "LC_MESSAGES" / "messages.mo", "rb") as handle:
            catalog = read_mo(handle)
        sample = next(m for m in catalog if m.id and isinstance(m.id, str) and m.string)
        with app.test_request_context("/"):
            from flask_babel import gettext, refresh

            refresh()
            check(gettext(sample.id) == sample.string,
                  f"the app speaks Latvian from the installed catalogue "
                  f"({sample.id!r} -> {sample.string!r})")
        engine.dispose()

        section("the sargs command")
        sargs = Path(sys.prefix) / "bin" / "sargs"
        for args in (["--help"], ["db", "current"]):
            result = subprocess.run([str(sargs), *args], capture_output=True, text=True,
                                    cwd=folder, env=os.environ.copy(), timeout=120)
            first = (result.stdout.strip().splitlines() or [""])[0]
            check(result.returncode == 0,
                  f"sargs {' '.join(args)} exits {result.returncode}: {first}"
                  + (f"\n{result.stderr}" if result.returncode else ""))
        help_text = subprocess.run([str(sargs), "--help"], capture_output=True,
                                   text=True, cwd=folder, timeout=120).stdout
        for command in ("run", "web", "scheduler", "tick", "db", "user", "token"):
            check(f"  {command} " in help_text or f"  {command}\n" in help_text,
                  f"sargs {command} is listed")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    repository = Path(sys.argv[1]).resolve()
    if Path.cwd().resolve() == repository or repository in Path.cwd().resolve().parents:
        print("run this outside the repository, so the installed copy is imported")
        return 2
    print(f"Checking the installed wheel against {repository}")
    root = installed_package()
    import_everything(root)
    every_source_file_installed(root, repository)
    data_files(root)
    translations(root)
    running_app(root)
    print()
    if failures:
        print(f"wheel check: {len(failures)} problem(s):")
        for message in failures:
            print(f"  - {message.splitlines()[0]}")
        return 1
    print("wheel check: everything is installed and imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
