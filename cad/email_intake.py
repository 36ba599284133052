"""E-mail intake: the 8787 mailbox, polled over IMAP; each mail becomes a draft report
for an operator to classify.

The mailbox is read from the UID after the last one taken (CadIntakeState), with
BODY.PEEK so a mail is only marked \\Seen once its report is stored. Each mail is one
transaction together with the new last UID, so a crash takes no mail twice and loses
none; the Message-ID (source_ref) also keeps a mail polled again, or filed twice, to one
report. Network reads happen outside any database transaction. Mails that cannot be
taken (too large, unreadable) are skipped, flagged in the mailbox and named by UID in
last_error; automatic replies and bounces are skipped silently. Logs carry counts and
UIDs only, never addresses or subjects.
"""

from __future__ import annotations

import hashlib
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from sargs import clock
from sargs.cad import photos, service
from sargs.cad.models import CadIntakeState, CadReport
from sargs.cad.schemas import EMAIL, ReportIn
from sargs.settings import Settings

log = logging.getLogger(__name__)
MAX_BYTES = 10_000_000  # a larger mail is skipped (photos belong on the web form)
# The poll runs in the scheduler's tick, before other domains' work: bounded, the rest
# of a backlog waits for the next poll, and a silent server is given up on soon.
MAX_PER_POLL = 50
TIMEOUT_SECONDS = 10
OLDEST_DATE = timedelta(days=30)  # an older Date header is not believed
TITLE_CHARS = 200
DESCRIPTION_CHARS = 5000
INTAKE = service.Who("system", "e-mail")


class IntakeError(Exception):
    """The mailbox could not be read (connection, login, configuration)."""


class Skip(Exception):  # noqa: N818 - not an error: a mail deliberately left out
    """A mail that is not taken; ``reason`` is a fixed text without personal data."""

    def __init__(self, reason: str, *, flag: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.flag = flag  # flag it in the mailbox for a person to look at


# --- the mailbox address -----------------------------------------------------


@dataclass(frozen=True)
class Mailbox:
    secure: bool  # imaps: TLS from the start; imap: STARTTLS when the server offers it
    host: str
    port: int
    user: str
    password: str
    folder: str

    @property
    def key(self) -> str:
        """The mailbox as CadIntakeState names it (no password)."""
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"[:300]


def parse_url(url: str) -> Mailbox:
    """``imap://USER:PASSWORD@HOST:143/INBOX`` or ``imaps://…:993/INBOX`` (user and
    password percent-encoded when they hold ``@`` or ``:``)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("imap", "imaps"):
        raise IntakeError("SARGS_CAD_IMAP_URL must start with imap:// or imaps://")
    if not parts.hostname or not parts.username or parts.password is None:
        raise IntakeError("SARGS_CAD_IMAP_URL needs a user, a password and a host")
    try:
        port = parts.port
    except ValueError as exc:
        raise IntakeError("SARGS_CAD_IMAP_URL has an invalid port") from exc
    secure = parts.scheme == "imaps"
    return Mailbox(secure=secure, host=parts.hostname, port=port or (993 if secure else 143),
                   user=unquote(parts.username), password=unquote(parts.password),
                   folder=unquote(parts.path.strip("/")) or "INBOX")


# --- from a mail to a report -------------------------------------------------


class _HTMLText(HTMLParser):
    """The text of an HTML body: tags dropped, blocks on their own lines."""

    BLOCKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                        "blockquote", "table", "ul", "ol", "hr"})
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    return "".join(parser.chunks)


def _tidy(text: str) -> str:
    """Spaces collapsed within lines, at most one blank line in a row."""
    lines = [" ".join(line.split()) for line in text.replace("\r", "").split("\n")]
    tidy = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return tidy.strip()


def _part_text(part: EmailMessage) -> str:
    try:
        text = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):
        # An unknown charset or broken transfer encoding: salvage what decodes.
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if not isinstance(text, str):
        return ""
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return _tidy(text)


def body_text(message: EmailMessage) -> str:
    """The text/plain part, else the text of the text/html part."""
    part = message.get_body(preferencelist=("plain", "html"))
    return _part_text(part) if part is not None else ""


LATVIAN_LETTERS = frozenset("āčēģīķļņšūž")
# Latvian written without its letters (as on many phones).
LATVIAN_WORDS = frozenset({"un", "ir", "ar", "uz", "pie", "nav", "kas", "ka", "par", "ludzu",
                           "labdien", "sveiki", "iela", "ielas", "paldies", "jau", "vai", "bet",
                           "loti"})
ENGLISH_WORDS = frozenset({"the", "and", "is", "are", "please", "there", "street", "hello",
                           "dear", "thank", "thanks", "you", "of", "in", "on", "to", "it",
                           "this", "for", "near", "has", "been", "with"})


def guess_language(text: str) -> str:
    """lv or en, simply: English only when at least two common English words outnumber
    the Latvian ones (words with Latvian letters, or common Latvian words written
    without them); Latvian is the default."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    english = sum(word in ENGLISH_WORDS for word in words)
    latvian = sum(word in LATVIAN_WORDS or not LATVIAN_LETTERS.isdisjoint(word)
                  for word in words)
    return "en" if english >= 2 and english > latvian else "lv"


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - a header the parser cannot read counts as absent
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def automatic(message: EmailMessage) -> bool:
    """An auto-reply, a bounce or other machine mail that no resident wrote."""
    auto = _header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return True
    if _header(message, "Return-Path") in ("<>", "< >"):
        return True
    if message.get_content_type() == "multipart/report":  # delivery status notifications
        return True
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return True
    if _header(message, "Precedence").lower() in ("auto_reply", "junk"):
        return True
    sender = _header(message, "From").lower()
    return "mailer-daemon" in sender


def _sender(message: EmailMessage) -> tuple[str | None, str | None]:
    """(address, display name) of the From header; an address that is not one is None."""
    try:
        addresses = message["From"].addresses if message["From"] is not None else ()
    except Exception:  # noqa: BLE001 - an unreadable From: no one to answer
        return None, None
    if not addresses:
        return None, None
    first = addresses[0]
    address = first.addr_spec if EMAIL.match(first.addr_spec or "") else None
    name = " ".join((first.display_name or "").split())[:200] or None
    if address is not None and len(address) > 254:
        address = None
    return address, name


def received_time(message: EmailMessage, now: datetime) -> datetime:
    """The Date header when it is sane (not in the future, not over 30 days old)."""
    try:
        header = message["Date"]
        sent = header.datetime if header is not None else None
    except Exception:  # noqa: BLE001 - an unreadable date is no date
        sent = None
    if sent is None:
        return now
    if sent.tzinfo is None:  # "-0000": UTC, origin unknown
        sent = sent.replace(tzinfo=UTC)
    if sent > now or sent < now - OLDEST_DATE:
        return now
    return sent.astimezone(UTC)


def source_ref(message: EmailMessage, raw: bytes) -> str:
    """The Message-ID; a hash of the mail's bytes when it has none (or an absurd one)."""
    message_id = _header(message, "Message-ID")
    if message_id and len(message_id) <= 300:
        return message_id
    basis = message_id.encode() if message_id else raw
    return "sha256:" + hashlib.sha256(basis).hexdigest()


@dataclass
class Mail:
    """One mail read for intake: the report it gives and where it came from."""

    report: ReportIn
    received_at: datetime
    source_ref: str
    photos: list[photos.CleanPhoto] = field(default_factory=list)


def read_mail(raw: bytes, now: datetime) -> Mail:
    """The draft report one mail gives; raises :class:`Skip` for a mail not to take."""
    try:
        return _read(raw, now)
    except Skip:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad mail must not stop the poll
        raise Skip(f"unreadable ({type(exc).__name__})") from exc


def _read(raw: bytes, now: datetime) -> Mail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    if automatic(message):
        raise Skip("automatic reply or bounce", flag=False)
    title = _header(message, "Subject")
    description = body_text(message)
    if not title and not description:
        raise Skip("no subject and no text")
    if not title:  # the queue lists titles: the first words stand in for a subject
        title = description.split("\n", 1)[0][:80]
    if len(description) > DESCRIPTION_CHARS:
        description = description[:DESCRIPTION_CHARS - 1] + "…"
    email, name = _sender(message)
    report = ReportIn(
        channel="email", title=title[:TITLE_CHARS], description=description,
        language=guess_language(f"{title}\n{description}"),
        reporter_email=email, reporter_name=name,
        # A resident who wrote expects an answer, where they wrote from.
        feedback_wanted=email is not None, feedback_channel="email" if email else None,
    )
    return Mail(report, received_time(message, now), source_ref(message, raw),
                _photos(message))


def _photos(message: EmailMessage) -> list[photos.CleanPhoto]:
    """The mail's JPEG and PNG images, cleaned as the web form's are (EXIF stripped);
    anything else attached stays in the mailbox only."""
    found: list[photos.CleanPhoto] = []
    for part in message.walk():
        if part.get_content_maintype() != "image" or len(found) >= photos.MAX_PER_REPORT:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        try:
            found.append(photos.clean(data))
        except photos.PhotoError:
            continue
    return found


# --- polling -----------------------------------------------------------------


@dataclass
class PollResult:
    created: list[int] = field(default_factory=list)  # report ids
    already_stored: int = 0
    automatic: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (UID, reason)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"created": len(self.created), "reports": self.created,
                "already_stored": self.already_stored, "automatic": self.automatic,
                "skipped": [{"uid": uid, "reason": reason} for uid, reason in self.skipped],
                "error": self.error}

    def problems(self) -> str | None:
        """What last_error records of this poll: the error and the skipped UIDs."""
        notes = ([self.error] if self.error else []) + [
            f"UID {uid} skipped: {reason}" for uid, reason in self.skipped]
        return "; ".join(notes)[:300] or None


def _connect(box: Mailbox) -> imaplib.IMAP4:
    context = ssl.create_default_context()
    if box.secure:
        imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=context,
                                                timeout=TIMEOUT_SECONDS)
    else:
        imap = imaplib.IMAP4(box.host, box.port, timeout=TIMEOUT_SECONDS)
    try:
        if not box.secure and "STARTTLS" in imap.capabilities:
            imap.starttls(ssl_context=context)
        imap.login(box.user, box.password)
    except BaseException:
        imap.shutdown()  # not logged in: nothing to log out of
        raise
    return imap


def _ok(reply: tuple[str, list[Any]], what: str) -> list[Any]:
    status, data = reply
    if status != "OK":
        raise IntakeError(f"{what} failed")
    return data


def _open_folder(imap: imaplib.IMAP4, folder: str) -> int:
    """Select the folder read-write; its UIDVALIDITY."""
    _ok(imap.select(imaplib_quote(folder)), "SELECT")
    _name, values = imap.response("UIDVALIDITY")
    try:
        return int(values[0])
    except (TypeError, ValueError, IndexError) as exc:
        raise IntakeError("the server gave no UIDVALIDITY") from exc


def imaplib_quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _new_uids(imap: imaplib.IMAP4, after: int) -> dict[int, int]:
    """UID → size of each mail with a UID above ``after``, oldest first."""
    found = _ok(imap.uid("SEARCH", None, "UID", f"{after + 1}:*"), "UID SEARCH")
    uids = sorted(int(uid) for uid in b" ".join(found or [b""]).split() if int(uid) > after)
    if not uids:
        return {}
    uids = uids[:MAX_PER_POLL]
    sizes: dict[int, int] = {}
    for line in _ok(imap.uid("FETCH", ",".join(map(str, uids)), "(RFC822.SIZE)"), "FETCH"):
        text = line[0] if isinstance(line, tuple) else line
        if not isinstance(text, bytes):
            continue
        uid = re.search(rb"UID (\d+)", text)
        size = re.search(rb"RFC822\.SIZE (\d+)", text)
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    return {uid: sizes.get(uid, 0) for uid in uids}


def _fetch(imap: imaplib.IMAP4, uid: int) -> bytes:
    for item in _ok(imap.uid("FETCH", str(uid), "(BODY.PEEK[])"), "FETCH"):
        if isinstance(item, tuple) and b"BODY[]" in item[0]:
            return bytes(item[1])
    raise Skip("the server returned no content")


def _flag(imap: imaplib.IMAP4, uid: int, flag: str) -> None:
    imap.uid("STORE", str(uid), "+FLAGS.SILENT", f"({flag})")


def _state(session: Session, key: str) -> CadIntakeState:
    state = session.scalar(select(CadIntakeState).where(CadIntakeState.mailbox == key))
    if state is None:
        state = CadIntakeState(mailbox=key, last_uid=0)
        session.add(state)
        session.flush()
    return state


def _store(session: Session, settings: Settings, state_id: int, validity: int, uid: int,
           mail: Mail | None) -> int | None:
    """One transaction: the report (unless its mail is stored already) and the new last
    UID. The report's id, or None when nothing was created."""
    state = session.get(CadIntakeState, state_id)
    assert state is not None
    state.uid_validity, state.last_uid = validity, uid
    created = None
    if mail is not None and session.scalar(
            select(CadReport.id).where(CadReport.source_ref == mail.source_ref)) is None:
        report = service.create_report(session, settings, mail.report, who=INTAKE,
                                       received_at=mail.received_at,
                                       source_ref=mail.source_ref)
        for photo in mail.photos:
            photos.save(session, report, photo)
        created = report.id
    session.commit()
    return created


def poll(session: Session, settings: Settings, *, max_bytes: int = MAX_BYTES) -> PollResult:
    """Read the configured mailbox once now: every new mail becomes a draft report.

    Commits itself, one transaction per mail (the caller's pending work is committed
    first). The outcome is also kept in CadIntakeState (last_poll_at, last_success_at,
    last_error)."""
    if settings.cad_imap_url is None:
        raise IntakeError("SARGS_CAD_IMAP_URL is not set")
    box = parse_url(settings.cad_imap_url.get_secret_value())
    state = _state(session, box.key)
    state.last_poll_at = clock.now()
    state_id, last_uid, known_validity = state.id, state.last_uid, state.uid_validity
    session.commit()  # no transaction stays open across the network reads below

    result = PollResult()
    validity = known_validity
    imap: imaplib.IMAP4 | None = None
    try:
        imap = _connect(box)
        validity = _open_folder(imap, box.folder)
        if validity != known_validity:
            if known_validity is not None:
                log.warning("e-mail intake: UIDVALIDITY changed; reading the mailbox anew")
            last_uid = 0  # Message-IDs keep mails already taken from becoming reports again
        for uid, size in _new_uids(imap, last_uid).items():
            mail = None
            try:
                if size > max_bytes:
                    raise Skip(f"too large ({size} bytes)")
                mail = read_mail(_fetch(imap, uid), clock.now())
            except Skip as skip:
                if skip.flag:
                    result.skipped.append((uid, skip.reason))
                    log.warning("e-mail intake: UID %d skipped: %s", uid, skip.reason)
                    _flag(imap, uid, "\\Flagged")
                else:
                    result.automatic += 1
            try:
                created = _store(session, settings, state_id, validity, uid, mail)
            except Exception as exc:
                # The database failed: stop, and take this mail again next time.
                session.rollback()
                # The type only: a database error's text holds the mail's data.
                log.error("e-mail intake: UID %d could not be stored (%s)", uid,
                          type(exc).__name__)
                result.error = f"UID {uid} could not be stored ({type(exc).__name__})"
                break
            last_uid = uid
            if mail is None:
                continue
            if created is None:
                result.already_stored += 1
            else:
                result.created.append(created)
            _flag(imap, uid, "\\Seen")
    except (OSError, imaplib.IMAP4.error, IntakeError) as exc:
        result.error = _describe(exc)
        log.warning("e-mail intake: the mailbox could not be read: %s", result.error)
    finally:
        if imap is not None:
            _logout(imap)

    state = session.get(CadIntakeState, state_id)
    assert state is not None
    state.uid_validity = validity
    state.last_uid = last_uid
    state.last_error = result.problems()
    if result.error is None:
        state.last_success_at = clock.now()
    session.commit()
    log.info("e-mail intake: %d new, %d already stored, %d automatic, %d skipped",
             len(result.created), result.already_stored, result.automatic,
             len(result.skipped))
    return result


def _describe(exc: BaseException) -> str:
    if isinstance(exc, imaplib.IMAP4.error):
        text = str(exc)
        if text.startswith("b'") or text.startswith('b"'):
            text = text[2:-1]
        return f"IMAP: {text}"[:200]
    if isinstance(exc, TimeoutError):
        return "the mail server did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "the mail server refused the connection"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or type(exc).__name__}"[:200]
    return f"{type(exc).__name__}: {exc}"[:200]


def _logout(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except (OSError, imaplib.IMAP4.error):
        pass


_warned_config: set[str] = set()


def poll_if_due(session: Session, settings: Settings) -> PollResult | None:
    """The scheduler's call: poll when a mailbox is configured and its last poll is at
    least cad_imap_poll_seconds ago."""
    if settings.cad_imap_url is None:
        return None
    url = settings.cad_imap_url.get_secret_value()
    try:
        key = parse_url(url).key
    except IntakeError as exc:
        if url not in _warned_config:  # once, not every tick
            _warned_config.add(url)
            log.error("e-mail intake disabled: %s", exc)
        return None
    last = session.scalar(select(CadIntakeState.last_poll_at)
                          .where(CadIntakeState.mailbox == key))
    if last is not None and clock.now() < last + timedelta(seconds=settings.cad_imap_poll_seconds):
        return None
    return poll(session, settings)
