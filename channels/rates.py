"""How fast each channel can reach people: the one place for send rates and
the budgets that enforce them.

``RATES`` feeds the "time to reach everyone" estimate on the alert form and
the dispatcher's budgets. A budget is a token bucket: ``rate`` tokens a
second, bursts up to ``capacity``. With ``SARGS_REDIS_URL`` set the buckets
live in Redis so every worker draws from one budget (an atomic Lua script);
without it each process keeps its own. Either way time is the injected clock's
(``sargs.clock``), passed to Redis as an argument rather than read from the
Redis server, so tests on a frozen clock see budgets refill exactly when they
advance it; workers on different machines rely on NTP, and a clock behind the
bucket's last update simply refills nothing.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from sargs import clock

log = logging.getLogger(__name__)

# Messages (SMS: segments) per second on one sender / bot / line.
RATES: dict[str, float] = {
    "telegram": 30.0,  # Bot API: about 30 messages a second to different chats
    "sms": 10.0,  # Twilio: 10 segments a second per long-code sender
    "voice": 1.0,  # Twilio: one outbound call a second per number
    "email": 10.0,
    "pbx": 1.0,  # one paging originate a second
    "sip": 1.0,
}

# Messages per second into one address, where the provider limits that too.
PER_ADDRESS: dict[str, float] = {
    "telegram": 1.0,  # Bot API: about one message a second inside one chat
}

# Twilio's limits hold per sending number; with several numbers each has its own.
PER_SENDER = ("sms", "voice")

KEY_PREFIX = "sargs:rate"
_redis_down = threading.Event()  # one warning when Redis goes away, one when it is back
# Per-address buckets kept before the full (idle) ones are forgotten: a full bucket
# and no bucket grant the same.
LOCAL_ADDRESS_LIMIT = 10_000


def seconds_to_reach(channel: str, units: int, senders: int = 1,
                     rate: float | None = None) -> int:
    """Whole seconds to hand ``units`` messages (SMS: segments) to ``channel``
    (at ``rate``, else the provider's default times ``senders``)."""
    if units <= 0:
        return 0
    return math.ceil(units / (rate or RATES[channel] * max(senders, 1)))


def configured_rate(channel: str, settings: Any, default: float | None = None) -> float:
    """``channel``'s sends a second here: SARGS_CHANNEL_RATES, else the default rate
    (``default`` or RATES) times the Twilio numbers where the limit is per number."""
    overrides: Mapping[str, float] = getattr(settings, "channel_rates", None) or {}
    if channel in overrides:
        return float(overrides[channel])
    rate = float(default if default is not None else RATES[channel])
    if channel in PER_SENDER:
        rate *= max(len(twilio_senders(settings)), 1)
    return rate


def parse_rates(text: str) -> dict[str, float]:
    """``"telegram=100,sms=20"`` → ``{"telegram": 100.0, "sms": 20.0}`` (SARGS_CHANNEL_RATES)."""
    rates: dict[str, float] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        channel, sep, value = item.partition("=")
        channel = channel.strip()
        if not sep or channel not in RATES:
            raise ValueError(f"expected channel=rate with a channel of {', '.join(RATES)}; "
                             f"got {item.strip()!r}")
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"the rate of {channel} must be a number; got {value.strip()!r}") \
                from None
        if not 0 < rate <= 100_000:
            raise ValueError(f"the rate of {channel} must be above 0 and at most 100000")
        rates[channel] = rate
    return rates


def twilio_senders(settings: Any) -> list[str]:
    """The numbers in TWILIO_FROM_NUMBER (one, or several separated by commas)."""
    return [n.strip() for n in (settings.twilio_from_number or "").split(",") if n.strip()]


def pick_sender(address: str, senders: list[str]) -> str:
    """The number that sends to ``address``: always the same one for one recipient (so
    a reply such as STOP reaches the number that wrote), spread evenly over ``senders``."""
    if len(senders) == 1:
        return senders[0]
    digest = hashlib.sha256(address.encode()).digest()
    return senders[int.from_bytes(digest[:8], "big") % len(senders)]


@functools.lru_cache(maxsize=64)
def _segments(text: str) -> int:
    from sargs.channels.texts import sms_segments

    return sms_segments(text)[0]


def _now() -> float:
    return clock.now().timestamp()


class Bucket(Protocol):
    rate: float
    capacity: float

    def acquire(self, wanted: int) -> int:
        """Take up to ``wanted`` tokens now; the number granted (0 when spent)."""
        ...

    def give_back(self, count: int) -> None:
        """Return tokens taken but not used (fewer rows were waiting than granted)."""
        ...

    def seconds_to_token(self) -> float:
        """How long until one token is there (0: now)."""
        ...

    def charge(self, count: int) -> None:
        """Take ``count`` more tokens even below zero: a debt later sends wait out."""
        ...


class LocalBucket:
    """A bucket in this process only."""

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(rate, 1.0)
        self.tokens = self.capacity
        self.updated = _now()

    def _refill(self) -> None:
        now = _now()
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def acquire(self, wanted: int) -> int:
        self._refill()
        granted = max(0, min(wanted, math.floor(self.tokens)))
        self.tokens -= granted
        return granted

    def give_back(self, count: int) -> None:
        self.tokens = min(self.capacity, self.tokens + max(count, 0))

    def idle(self) -> bool:
        """Full again: nothing would change if it were forgotten."""
        self._refill()
        return self.tokens >= self.capacity

    def available(self) -> int:
        self._refill()
        return math.floor(self.tokens)

    def take(self, count: int) -> None:
        self.tokens -= count

    def charge(self, count: int) -> None:
        self._refill()
        self.tokens -= count

    def seconds_to_token(self) -> float:
        """How long until one token is there (0: now)."""
        self._refill()
        return max(0.0, (1 - self.tokens) / self.rate)


TokenBucket = LocalBucket  # the dispatcher's earlier name


# KEYS[1] the bucket; ARGV rate, capacity, now (seconds), wanted (negative: give back),
# and "1" to take ``wanted`` whatever is left (a debt).
# Tokens refill by the elapsed time, never past capacity; the key lapses once the
# bucket would be full again anyway.
_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local wanted = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or capacity
local updated = tonumber(state[2]) or now
if now > updated then
  tokens = math.min(capacity, tokens + (now - updated) * rate)
  updated = now
end
local granted = 0
if ARGV[5] == '1' then
  tokens = tokens - wanted
  granted = wanted
elseif wanted < 0 then
  tokens = math.min(capacity, tokens - wanted)
else
  granted = math.max(0, math.min(wanted, math.floor(tokens)))
  tokens = tokens - granted
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
           'updated', string.format('%.6f', updated))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity / rate + 1) * 1000))
return {granted, string.format('%.6f', tokens)}
"""


class RedisBucket:
    """A bucket in Redis shared by every worker using the same key.

    While Redis cannot be reached the worker keeps sending on a bucket of its
    own: alerts must not stop for a cache; the provider's 429s (honoured with
    their Retry-After) bound what several workers then overshoot.
    """

    def __init__(self, client: Any, key: str, rate: float, capacity: float | None = None) -> None:
        self.client = client
        self.key = key
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(rate, 1.0)
        self._script = client.register_script(_SCRIPT)
        self._fallback = LocalBucket(rate, self.capacity)

    def _run(self, wanted: int, debt: bool = False) -> tuple[int, float]:
        """Take ``wanted`` tokens (negative: give back; ``debt``: even below zero);
        (granted, tokens left)."""
        from redis.exceptions import RedisError

        try:
            granted, tokens = self._script(
                keys=[self.key], args=[self.rate, self.capacity, _now(), wanted, int(debt)])
        except RedisError as error:
            if not _redis_down.is_set():
                log.warning("rate budgets: Redis unavailable (%s); this worker counts alone",
                            type(error).__name__)
                _redis_down.set()
            if debt:
                self._fallback.charge(wanted)
                return wanted, self._fallback.tokens
            if wanted < 0:
                self._fallback.give_back(-wanted)
                return 0, self._fallback.tokens
            return self._fallback.acquire(wanted), self._fallback.tokens
        if _redis_down.is_set():
            _redis_down.clear()
            log.warning("rate budgets: Redis answers again; budgets are shared")
        return int(granted), float(tokens)

    def acquire(self, wanted: int) -> int:
        return self._run(max(wanted, 0))[0]

    def give_back(self, count: int) -> None:
        if count > 0:
            self._run(-count)

    def seconds_to_token(self) -> float:
        return max(0.0, (1 - self._run(0)[1]) / self.rate)

    def charge(self, count: int) -> None:
        if count > 0:
            self._run(count, debt=True)


def _address_key(address: str) -> str:
    # Keys name no phone number or chat id; a short hash tells them apart.
    return hashlib.sha256(address.encode()).hexdigest()[:20]


class Budgets:
    """Every channel's bucket, and one per address where the provider limits that.

    ``redis`` (a client, or a URL) shares them among workers; ``prefix``
    separates Sargs installations (and test runs) sharing one Redis.
    """

    def __init__(self, rates: Mapping[str, float], redis: Any = None,
                 per_address: Mapping[str, float] = PER_ADDRESS,
                 prefix: str = KEY_PREFIX, senders: list[str] | None = None) -> None:
        if isinstance(redis, str):
            import redis as redis_lib

            redis = redis_lib.Redis.from_url(redis)
        self.redis = redis
        self.prefix = prefix
        self.per_address = {c: r for c, r in per_address.items() if c in rates}
        # Several Twilio numbers: the channel's budget is theirs together, and each
        # number keeps its own (the recipient's number picks it, see pick_sender).
        self.senders = list(senders or [])
        self.per_sender = {c: rates[c] / len(self.senders) for c in PER_SENDER
                           if c in rates and len(self.senders) > 1}
        self.channels: dict[str, Bucket] = {c: self._bucket(c, r) for c, r in rates.items()}
        self._addresses: dict[tuple[str, str], Bucket] = {}

    def _bucket(self, key: str, rate: float) -> Bucket:
        if self.redis is not None:
            return RedisBucket(self.redis, f"{self.prefix}:{key}", rate)
        return LocalBucket(rate)

    def rate(self, channel: str) -> float:
        return self.channels[channel].rate

    def acquire(self, channel: str, wanted: int) -> int:
        """Up to ``wanted`` sends on ``channel`` now; how many may go."""
        return self.channels[channel].acquire(wanted)

    def give_back(self, channel: str, count: int) -> None:
        self.channels[channel].give_back(count)

    def charge_extra(self, messages: Iterable[Any]) -> None:
        """An SMS of several segments costs Twilio one unit per segment: the tokens
        beyond the one taken at the claim are charged (as a debt) once the text is
        known, on the channel's budget and its sender's."""
        for message in messages:
            if message.channel != "sms" or "sms" not in self.channels:
                continue
            extra = _segments(message.text) - 1
            if extra <= 0:
                continue
            self.channels["sms"].charge(extra)
            if "sms" in self.per_sender:
                self._sender_bucket("sms", message.address).charge(extra)

    def seconds_to_token(self, channel: str) -> float:
        """How long until ``channel`` may send again (0: now); an idle worker sleeps that long."""
        return self.channels[channel].seconds_to_token()

    def admit(self, channel: str, addresses: Iterable[str]) -> list[bool]:
        """Which of ``addresses`` (in order, repeats counted) may be sent to now.

        Only channels with a per-address limit (Telegram: one message a second
        into one chat) or several senders (Twilio numbers) refuse any; a refused
        row waits a moment, it is not failed.
        """
        if channel in self.per_address:
            rate = self.per_address[channel]
            return [self._keyed(channel, f"{channel}:to:{_address_key(a)}", rate).acquire(1) == 1
                    for a in addresses]
        if channel in self.per_sender:
            return [self._sender_bucket(channel, a).acquire(1) == 1 for a in addresses]
        return [True for _ in addresses]

    def _sender_bucket(self, channel: str, address: str) -> Bucket:
        sender = pick_sender(address, self.senders)
        return self._keyed(channel, f"{channel}:from:{sender}", self.per_sender[channel])

    def _keyed(self, channel: str, name: str, rate: float) -> Bucket:
        bucket = self._addresses.get((channel, name))
        if bucket is None:
            self._forget_idle()
            bucket = self._addresses[(channel, name)] = self._bucket(name, rate)
        return bucket

    def _forget_idle(self) -> None:
        if len(self._addresses) < LOCAL_ADDRESS_LIMIT:
            return
        for key, bucket in list(self._addresses.items()):
            if not isinstance(bucket, LocalBucket) or bucket.idle():
                del self._addresses[key]


def budgets_for(adapters: Mapping[str, Any], settings: Any) -> Budgets:
    """The budgets of these adapters, at SARGS_CHANNEL_RATES where it sets a rate,
    shared through SARGS_REDIS_URL when that is set."""
    rates = {name: configured_rate(name, settings, adapter.rate_per_second)
             for name, adapter in adapters.items()}
    return Budgets(rates, redis=settings.redis_url or None, senders=twilio_senders(settings))
