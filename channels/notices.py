"""Cancel and Correct: the follow-ups of an alert that went (partly) out.

:func:`cancel` stops every row of the alert not yet handed to a provider and
tells the people who may already have it — exactly those, on the channel
that reached them, in their language — that it is withdrawn ("ATCELTS: …").
:func:`correct` stops the rest of the wrong text and sends the corrected one
("LABOJUMS: …") to everyone the alert was for: those already told, where
they were told, and the rest of its audience as it resolves now. Nobody who
had not yet got the wrong text gets it, and nobody gets both texts unasked.

Each follow-up is an alert of its own (CAP msgType "Cancel" or "Update",
``references_id`` = the original) with the original's CAP status, so a
drill's follow-up is marked MĀCĪBAS / TESTS like every drill text, and it
appears in the ledger and on the alert pages like any alert. Its audience is
``{"told_of": <original id>}`` (plus ``"whole_audience": true`` for a
correction); :func:`sargs.channels.audience.follow_up` resolves it.

Approval: a cancel never waits for a second person — stopping a false alarm
must not wait, and it says nothing new. A correction is a new message, so
the two-person rule of :func:`sargs.channels.alerts.needs_second_person`
applies to it as to the original: a correction of a manual Actual alert to
the public waits for a second authorised person; the wrong text is stopped
at once all the same.

The functions do not commit: one operation, one transaction, the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.channels import alerts, audience, texts
from sargs.channels.alerts import AlertDraft, AlertError
from sargs.channels.models import Alert, AlertEvent

# The templated follow-up texts, per language ({summary}: the original's first line).
CANCEL_TEXTS = {
    "lv": "ATCELTS: brīdinājums „{summary}” ir atsaukts un vairs nav spēkā.",
    "en": "CANCELLED: the alert \u201c{summary}\u201d is withdrawn and no longer in force.",
}
CORRECTION_PREFIX = {"lv": "LABOJUMS", "en": "CORRECTION"}
SUMMARY_MAX = 60
# Only alerts that went (partly) out have someone to tell; earlier states are just cancelled.
FOLLOWED_UP_STATES = frozenset({"sending", "done", "cancelled"})


@dataclass(frozen=True)
class Outcome:
    """What a cancel or correction did: the original's rows stopped, and the
    follow-up alert (None when a cancel found nobody to tell)."""

    stopped: int
    follow_up: Alert | None
    deliveries: int


def _unmarked(cap_status: str, language: str, body: str) -> str:
    """The text without the drill word that :func:`texts.mark` put in front."""
    word = texts.MARKS.get(cap_status, {}).get(language) or texts.MARKS.get(
        cap_status, {}).get("en")
    stripped = body.strip()
    if word and stripped.upper().startswith(word):
        stripped = stripped[len(word):].lstrip(" :")
    return stripped


def summary(alert: Alert, language: str) -> str:
    """The original's first line in ``language``, cut at a word to :data:`SUMMARY_MAX`."""
    text = alert.text_for(language)
    body = _unmarked(alert.cap_status, text.language, text.body)
    line = " ".join(next((ln for ln in body.splitlines() if ln.strip()), "").split())
    if len(line) <= SUMMARY_MAX:
        return line
    cut = line[:SUMMARY_MAX - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


def _languages(alert: Alert) -> list[str]:
    return [text.language for text in alert.texts]


def cancel_texts(alert: Alert) -> dict[str, str]:
    """The cancel notice in each of the alert's languages (unmarked; sending marks drills)."""
    return {language: CANCEL_TEXTS.get(language, CANCEL_TEXTS["en"]).format(
        summary=summary(alert, language)) for language in _languages(alert)}


def correction_defaults(alert: Alert) -> dict[str, str]:
    """What the correction form starts from: the original's texts without drill marks."""
    return {text.language: _unmarked(alert.cap_status, text.language, text.body)
            for text in alert.texts}


def with_correction_prefix(language: str, body: str) -> str:
    word = CORRECTION_PREFIX.get(language, CORRECTION_PREFIX["en"])
    stripped = body.strip()
    if stripped.upper().startswith(word):
        return stripped
    return f"{word}: {stripped}"


def follow_ups(session: Session, alert: Alert) -> list[Alert]:
    """The cancels and corrections of ``alert``, oldest first."""
    return list(session.scalars(select(Alert).where(Alert.references_id == alert.id)
                                .order_by(Alert.id)))


def _check_original(session: Session, alert: Alert) -> None:
    # Under the original's row lock: two people pressing Cancel at once send one notice.
    alerts._current(session, alert)
    if alert.msg_type == "Cancel":
        raise AlertError("msg_type", "a cancel notice cannot itself be cancelled or corrected")
    if alert.state not in FOLLOWED_UP_STATES:
        raise AlertError("state", "only an alert that is being or was sent has a follow-up; "
                                  "cancel it instead")
    standing = standing_follow_up(session, alert)
    if standing is not None:
        raise AlertError("follow_up", f"alert {standing.id} already follows this one up; "
                                      "cancel or correct that one")


def standing_follow_up(session: Session, alert: Alert) -> Alert | None:
    """The newest cancel or correction of ``alert`` that stands (one stopped before it
    reached anybody does not): further follow-ups act on it, not on the original."""
    for follow_up in reversed(follow_ups(session, alert)):
        if follow_up.state != "cancelled" or audience.told(session, follow_up.id):
            return follow_up
    return None


def _stop(session: Session, alert: Alert, by_id: int | None, action: str, note: str) -> int:
    """Stop the original's unsent rows; a finished alert only gets a line in its history."""
    if alert.state == "sending":
        return alerts.cancel(session, alert, by_id, note)
    session.add(AlertEvent(alert_id=alert.id, at=clock.now(), actor_id=by_id,
                           action=action, from_state=alert.state, to_state=alert.state,
                           note=note))
    session.flush()
    return 0


def _draft(original: Alert, bodies: dict[str, str], whole_audience: bool) -> AlertDraft:
    audience_definition: dict[str, object] = {"told_of": original.id}
    if whole_audience:
        audience_definition["whole_audience"] = True
    expires_at = original.expires_at
    if expires_at is not None and expires_at <= clock.now():
        expires_at = None  # a follow-up of an expired alert still has to reach people
    return AlertDraft(
        source="manual", cap_status=original.cap_status, texts=bodies,
        audience=audience_definition, channels=list(original.channels), level=original.level,
        activation_id=original.activation_id, expires_at=expires_at,
        source_ref=f"alert:{original.id}",
    )


def _create(session: Session, original: Alert, bodies: dict[str, str], msg_type: str,
            by_id: int | None, *, whole_audience: bool, two_person_rule: bool) -> Alert:
    follow_up = alerts.create_alert(session, _draft(original, bodies, whole_audience), by_id)
    follow_up.msg_type = msg_type
    if msg_type == "Cancel":  # the end of a false alarm goes out ahead of other queues
        follow_up.priority = max(alerts.PRIORITY.values())
    follow_up.references_id = original.id
    follow_up.requires_approval = two_person_rule and alerts.needs_second_person(
        original.cap_status, "manual", original.audience)
    session.flush()
    return follow_up


def cancel(session: Session, alert: Alert, by_id: int | None, *, configured: set[str],
           note: str = "") -> Outcome:
    """Stop ``alert`` and send the cancel notice to those already told, at once."""
    _check_original(session, alert)
    stopped = _stop(session, alert, by_id, "cancel_notice", note)
    if not audience.told(session, alert.id):
        return Outcome(stopped, None, 0)
    notice = _create(session, alert, cancel_texts(alert), "Cancel", by_id,
                     whole_audience=False, two_person_rule=False)
    alerts.submit(session, notice, by_id)
    written = alerts.start_sending(session, notice, configured)
    return Outcome(stopped, notice, written)


def correct(session: Session, alert: Alert, bodies: dict[str, str], by_id: int | None, *,
            configured: set[str], note: str = "") -> Outcome:
    """Stop the wrong text and send the corrected ``bodies`` (language → text, without the
    prefix) to everyone the alert was for — after a second person's approval where the
    two-person rule asks for one (the follow-up then waits in the approval queue)."""
    _check_original(session, alert)
    cleaned = {language: body.strip() for language, body in bodies.items() if body.strip()}
    if not cleaned:
        raise AlertError("texts", "a corrected text is required")
    unknown = set(cleaned) - set(_languages(alert))
    if unknown:
        raise AlertError("texts", "the correction is written in the alert's languages: "
                                  + ", ".join(_languages(alert)))
    prefixed = {language: with_correction_prefix(language, body)
                for language, body in cleaned.items()}
    stopped = _stop(session, alert, by_id, "correction", note)
    fixed = _create(session, alert, prefixed, "Update", by_id, whole_audience=True,
                    two_person_rule=True)
    alerts.submit(session, fixed, by_id)
    written = 0
    if fixed.state == "approved":
        written = alerts.start_sending(session, fixed, configured)
    return Outcome(stopped, fixed, written)
