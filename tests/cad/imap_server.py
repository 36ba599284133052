"""A real Dovecot IMAP server on 127.0.0.1 for the e-mail intake tests: a throwaway
configuration in a temporary folder, a free port, plain-text login (one password),
Maildir storage. Mails are delivered with IMAP APPEND, as any mail client files them.

Needs Dovecot (Debian's dovecot-imapd): without it the tests using :func:`dovecot`
skip, unless SARGS_REQUIRE_BROWSER=1 (CI), where they fail."""

from __future__ import annotations

import getpass
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Debian puts it in /usr/sbin, which is not on a normal user's PATH.
DOVECOT = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
PASSWORD = "secret"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
auth_mechanisms = plain
disable_plaintext_auth = no
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u/Maildir
# Every user name exists, with the one password (a test picks a fresh name per
# mailbox): a passwd file would be re-read at most once a second.
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  # No growing delay after failed logins: the tests log in wrongly on purpose.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def require_dovecot() -> None:
    if DOVECOT is not None:
        return
    reason = "dovecot not installed (apt-get install dovecot-imapd)"
    if os.environ.get("SARGS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and SARGS_REQUIRE_BROWSER=1 (CI) requires the IMAP tests",
                    pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Dovecot:
    """One Dovecot master process; :meth:`mailbox` gives a user's INBOX."""

    def __init__(self) -> None:
        # Not pytest's tmp_path: as root the login processes run as dovenull, which must
        # reach the sockets under base_dir, and pytest's folders are private to us.
        self.root = Path(tempfile.mkdtemp(prefix="sargs-dovecot-"))
        self.root.chmod(0o755)
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir()
        if os.getuid() == 0:
            # Dovecot refuses root for the login processes and for mail access: the
            # package's own users take those parts.
            internal, group, login = "root", "dovecot", "dovenull"
            mail = pwd.getpwnam("dovecot")
            os.chown(self.root / "mail", mail.pw_uid, mail.pw_gid)
            mail_uid, mail_gid = mail.pw_uid, mail.pw_gid
        else:
            # Unprivileged, every part runs as us.
            internal = login = getpass.getuser()
            group = grp.getgrgid(os.getgid()).gr_name
            mail_uid, mail_gid = os.getuid(), os.getgid()
        self.port = _free_port()
        self.config = self.root / "dovecot.conf"
        self.config.write_text(CONFIG.format(
            root=self.root, port=self.port, password=PASSWORD, internal_user=internal,
            internal_group=group, login_user=login,
            mail_uid=mail_uid, mail_gid=mail_gid))
        self.log = self.root / "dovecot.log"
        assert DOVECOT is not None
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    if conn.recv(200).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        log = self.log.read_text() if self.log.exists() else ""
        self.stop()
        raise RuntimeError(f"dovecot did not start on port {self.port}:\n{log[-2000:]}")

    def mailbox(self, user: str) -> Mailbox:
        """The INBOX of ``user`` (created empty on first use)."""
        return Mailbox(self, user, PASSWORD)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


class Mailbox:
    """One user's INBOX on the server: its URL for the intake, and mail delivery."""

    def __init__(self, server: Dovecot, user: str, password: str) -> None:
        self.server, self.user, self.password = server, user, password

    def url(self, password: str | None = None) -> str:
        return (f"imap://{self.user}:{password or self.password}"
                f"@127.0.0.1:{self.server.port}/INBOX")

    def _connect(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.server.port, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def deliver(self, message: bytes | str) -> None:
        """File one mail (its raw bytes, CRLF or LF line ends) in the INBOX, unread."""
        raw = message.encode() if isinstance(message, str) else message
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        imap = self._connect()
        try:
            status, detail = imap.append("INBOX", None, None, raw)
            assert status == "OK", detail
        finally:
            imap.logout()

    def flags(self) -> dict[int, set[str]]:
        """UID → flags of every mail in the INBOX (read without changing them)."""
        imap = self._connect()
        try:
            imap.select("INBOX", readonly=True)
            _status, lines = imap.uid("FETCH", "1:*", "(FLAGS)")
        finally:
            imap.logout()
        found: dict[int, set[str]] = {}
        for line in lines:
            if not isinstance(line, bytes):
                continue
            text = line.decode()
            uid = int(text.split("UID ", 1)[1].split()[0].rstrip(")"))
            inner = text.split("FLAGS (", 1)[1].split(")", 1)[0]
            found[uid] = set(inner.split())
        return found


def start() -> Iterator[Dovecot]:
    """A generator for a fixture: one server, stopped and removed afterwards."""
    require_dovecot()
    server = Dovecot()
    try:
        yield server
    finally:
        server.stop()
