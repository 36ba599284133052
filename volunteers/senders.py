"""How the portal's codes and sign-in links reach a volunteer: the service's ``Send``
built from the app's settings, and the one-time link's address.

A code is not an alert: it goes straight to the channel's adapter (SMS through
Twilio, e-mail through the SMTP relay), with no row in the delivery ledger, as the
residents' subscription codes do (:func:`sargs.channels.subscriptions.sms_sender`,
:func:`sargs.channels.email_subscriptions.mail_sender`). A channel without settings
is never faked: :func:`missing` names it, so the page can say so (503) before any
code is made, and :func:`sender` raises :class:`NotConfigured` if asked anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sargs.channels.adapters import Outgoing
from sargs.channels.ledger import configured_channels
from sargs.settings import Settings
from sargs.volunteers.service import CODE_VALID, Send

# The portal's one-time sign-in link; the blueprint serves it at this path.
SIGNIN_LINK_PATH = "/volunteer/signin/"


class NotConfigured(RuntimeError):
    """The channel a code should go by has no settings (no credentials, no relay)."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"channel {channel} is not configured")
        self.channel = channel


def missing(config: Settings, channels: Iterable[str]) -> list[str]:
    """The ones of ``channels`` that cannot send with these settings."""
    configured = configured_channels(config)
    return [channel for channel in channels if channel not in configured]


def sender(config: Settings) -> Send:
    """A ``Send`` handing each code to the SMS or e-mail adapter of ``config``. The
    adapter is made when a code goes: most pages send none."""

    def send(channel: str, address: str, language: str, text: str) -> None:
        if missing(config, [channel]):
            raise NotConfigured(channel)
        if channel == "sms":
            from sargs.channels.sms import SmsAdapter

            adapter: object = SmsAdapter(config)
        elif channel == "email":
            from sargs.channels.email import EmailAdapter

            adapter = EmailAdapter(config)
        else:
            raise NotConfigured(channel)
        adapter.send(Outgoing(  # type: ignore[attr-defined]
            delivery_id=0, channel=channel, address=address, language=language, text=text,
            cap_status="Actual", level=None, expires_in_s=int(CODE_VALID.total_seconds())))

    return send


def signin_link(config: Settings) -> Callable[[str], str]:
    """Token → the absolute one-time sign-in link (an SMS, a mail or a chat is read away
    from the site, so the link carries the public address)."""
    base = config.base_url

    def link(token: str) -> str:
        return f"{base}{SIGNIN_LINK_PATH}{token}"

    return link
