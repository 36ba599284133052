"""What every CSV import of Sargs shares: the file read as UTF-8 (with or without the BOM
Excel writes), its delimiter (`,` or the `;` Latvian Excel writes), and the refusal of a
whole file that names each bad line and field."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass

from flask_babel import gettext as _


@dataclass(frozen=True)
class Problem:
    line: int  # in the file, the header being line 1
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


class ImportRefused(ValueError):
    """The file was not imported; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ImportRefused([Problem(line, "file", "not UTF-8 text")]) from None


def delimiter(text: str) -> str:
    """The delimiter of a file whose text (or first line) is ``text``."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def header(reader: Iterator[list[str]], columns: Collection[str],
           required: Collection[str]) -> list[str]:
    """The file's first line as column names (trimmed, lower case), refused naming each
    unknown, missing or repeated column."""
    try:
        names = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise ImportRefused([Problem(1, "file", _("The file is empty."))]) from None
    problems = [Problem(1, name or "header", _("Unknown column.")) for name in names
                if name not in columns]
    problems += [Problem(1, name, _("The column is missing.")) for name in required
                 if name not in names]
    if len(set(names)) != len(names):
        problems.append(Problem(1, "header", _("A column is named twice.")))
    if problems:
        raise ImportRefused(problems)
    return names
