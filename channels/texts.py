"""Rules on alert texts: exercise and test marking, and SMS segment counts."""

from __future__ import annotations

import math
import re

# Exercise and test texts start with these words, per language.
MARKS = {
    "Exercise": {"lv": "MĀCĪBAS", "en": "EXERCISE"},
    "Test": {"lv": "TESTS", "en": "TEST"},
}
# Words that would make a drill look real: refused in exercise and test texts.
FORBIDDEN_IN_DRILLS = ("tās nav mācības", "tas nav mācības", "this is not a drill",
                       "this is not an exercise")

# GSM 03.38 basic set and the extension set (two septets each).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = set("^{}\\[~]|€\f")


class TextRuleError(ValueError):
    """``reason`` says which rule: "control_characters" or "drill_wording"."""

    def __init__(self, field: str, message: str, reason: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.reason = reason


def mark(cap_status: str, language: str, body: str) -> str:
    """Put the exercise/test word at the start of the text (once)."""
    words = MARKS.get(cap_status)
    if not words:
        return body
    word = words.get(language, words["en"])
    stripped = body.lstrip()
    # The word must stand alone: "Testing the sirens" is not marked as a test.
    if re.match(rf"{re.escape(word)}(?![^\W\d_])", stripped.upper()):
        return stripped
    return f"{word}: {stripped}"


# Control characters no channel can carry (PostgreSQL refuses NUL outright); tab and
# line breaks are text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(cap_status: str, language: str, body: str) -> None:
    """Refuse control characters, and wording that would pass a drill off as real."""
    if CONTROL.search(body):
        raise TextRuleError(f"text_{language}", "control characters cannot be sent",
                            "control_characters")
    check_drill_text(cap_status, language, body)


def check_drill_text(cap_status: str, language: str, body: str) -> None:
    """Refuse wording that would pass a drill off as real."""
    if cap_status == "Actual":
        return
    lowered = body.casefold()
    for phrase in FORBIDDEN_IN_DRILLS:
        if phrase in lowered:
            raise TextRuleError(f"text_{language}", f"forbidden in an exercise or test: {phrase!r}",
                                "drill_wording")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text)


def sms_segments(text: str) -> tuple[int, str]:
    """How many SMS segments ``text`` takes, and the encoding ("GSM-7" or "UCS-2").

    Latvian diacritics (ā, č, ē, …) are not in GSM-7, so most Latvian texts go as
    UCS-2: 70 characters in one segment, 67 per segment when concatenated.
    """
    if not text:
        return 0, "GSM-7"
    if is_gsm7(text):
        septets = sum(2 if ch in GSM_EXTENSION else 1 for ch in text)
        return (1 if septets <= 160 else math.ceil(septets / 153)), "GSM-7"
    units = len(text.encode("utf-16-le")) // 2
    return (1 if units <= 70 else math.ceil(units / 67)), "UCS-2"
