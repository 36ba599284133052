"""What every CSV import of Sargs shares: the file read as UTF-8 (with or without the BOM
Excel writes), its delimiter (`,` or the `;` Latvian Excel writes), and the refusal of a
whole file that names each bad line and field."""

from __future__ import annotations

from dataclasses import dataclass


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
