"""How fast each channel can reach people: the one place for send rates.

Used for the "time to reach everyone" estimate on the alert form; the
dispatcher's rate limits should read the same numbers.
"""

from __future__ import annotations

import math

# Messages (SMS: segments) per second on one sender / bot / line.
RATES: dict[str, float] = {
    "telegram": 30.0,  # Bot API: about 30 messages a second to different chats
    "sms": 10.0,  # Twilio: 10 segments a second per long-code sender
    "voice": 1.0,  # Twilio: one outbound call a second per number
    "email": 10.0,
    "pbx": 1.0,  # one paging originate a second
    "sip": 1.0,
}


def seconds_to_reach(channel: str, units: int, senders: int = 1) -> int:
    """Whole seconds to hand ``units`` messages (SMS: segments) to ``channel``."""
    if units <= 0:
        return 0
    return math.ceil(units / (RATES[channel] * max(senders, 1)))
