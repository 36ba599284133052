"""The spoken page: the alert text rendered by espeak-ng, as 8 kHz µ-law for RTP.

espeak-ng speaks Latvian (``-v lv``) and English (``-v en``); sox turns its
22 kHz WAV into 8 kHz mono µ-law (G.711 PCMU, RTP payload type 0). Renderings
are kept in the instance folder by (language, text), so a page repeated to many
extensions or retried is rendered once. A page is what paging systems play: a
chime, the message, a pause, the chime and the message again.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

RATE = 8000  # samples (= µ-law bytes) a second
SILENCE = b"\xff"  # µ-law zero
VOICES = {"lv": "lv", "en": "en"}
WORDS_PER_MINUTE = 150  # a little slower than espeak-ng's 175: loudspeakers echo
RENDER_TIMEOUT_S = 20.0
PAUSE_S = 1.0


class AudioError(Exception):
    """The page cannot be rendered (a program is missing or failed); the reason says which."""


def seconds(audio: bytes) -> float:
    return len(audio) / RATE


def page(folder: Path, text: str, language: str, repeats: int = 2) -> bytes:
    """The whole page: (chime, message) ``repeats`` times, with pauses between."""
    message = speech(folder, text, language)
    chime_sound = chime(folder)
    pause = SILENCE * int(PAUSE_S * RATE)
    return pause.join(chime_sound + message for _ in range(repeats)) + SILENCE * (RATE // 5)


def speech(folder: Path, text: str, language: str) -> bytes:
    """The text spoken in ``language`` (English for a language espeak-ng is not given)."""
    voice = VOICES.get(language, "en")
    key = hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest()[:32]
    return _cached(folder / f"speech-{key}.ul", lambda wav: _run(
        ["espeak-ng", "-v", voice, "-s", str(WORDS_PER_MINUTE), "-w", str(wav), "--", text]))


def chime(folder: Path) -> bytes:
    """Two falling tones announcing the message (a gong is the paging convention)."""
    return _cached(folder / "chime.ul", _two_tones)


def _two_tones(wav: Path) -> None:
    # Each tone on its own, then joined: one sox "synth" chain would mix them, not follow.
    tones = [(880, 0.35), (660, 0.55)]
    parts = []
    for n, (frequency, length) in enumerate(tones):
        part = wav.with_name(f"{wav.stem}-{n}.wav")
        _run(["sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(part),
              "synth", str(length), "sine", str(frequency), "fade", "0.01", str(length), "0.1",
              "vol", "0.4"])
        parts.append(str(part))
    _run(["sox", *parts, str(wav)])


def _cached(path: Path, render: Callable[[Path], None]) -> bytes:
    """The µ-law file at ``path``, rendered first (WAV by ``render``, then sox) if missing."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        wav = Path(scratch) / "render.wav"
        render(wav)
        raw = Path(scratch) / "render.ul"
        _run(["sox", str(wav), "-r", str(RATE), "-c", "1", "-e", "mu-law", "-t", "raw", str(raw)])
        audio = raw.read_bytes()
        if not audio:
            raise AudioError(f"{path.name}: the rendering is empty")
        os.replace(raw, path)  # whole or not at all, for a worker rendering alongside
    return audio


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, timeout=RENDER_TIMEOUT_S, check=False)
    except FileNotFoundError as error:
        missing = f"{command[0]} is not installed (apt-get install espeak-ng sox)"
        raise AudioError(missing) from error
    except subprocess.TimeoutExpired as error:
        raise AudioError(f"{command[0]} took longer than {RENDER_TIMEOUT_S:.0f} s") from error
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise AudioError(f"{command[0]} failed (exit {done.returncode}): {said[0][:120]}")
