"""How fast an alert fans out: the ledger for N residents, the dispatcher's
throughput against the provider simulators, a rate-limited run against its
theoretical bound, and the same Telegram messages sent by Apprise.

Prints figures, asserts nothing. Usage (from the repository root):

    .venv/bin/python -P bench/fanout.py                          # 50 000 residents, SQLite
    .venv/bin/python -P bench/fanout.py --recipients 2000 --json
    .venv/bin/python -P bench/fanout.py --database-url postgresql+psycopg://postgres@127.0.0.1/sargs_bench

The simulators run in a child process (the real protocols over 127.0.0.1), so
the dispatcher's process is measured alone. "Lost" and "duplicates" compare
what the simulators recorded with the ledger: ledger rows whose address got
nothing, and addresses that got a message more than once.

Apprise's Telegram plugin has Telegram's address built in; the bench points
``NotifyTelegram.notify_url`` at the simulator (and says so in its output).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, insert, select

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:  # run as a script with -P: find the tests' peers too
    sys.path.insert(0, str(REPOSITORY))

from sargs import clock  # noqa: E402
from sargs.app import create_app  # noqa: E402
from sargs.channels import alerts, rates  # noqa: E402
from sargs.channels.dispatcher import Dispatcher  # noqa: E402
from sargs.channels.models import Contact, ContactAddress, Delivery  # noqa: E402
from sargs.channels.simulators import telegram as telegram_sim  # noqa: E402
from sargs.channels.simulators import twilio as twilio_sim  # noqa: E402
from sargs.settings import load_settings  # noqa: E402

UNLIMITED = 1e9  # "limits off": a budget no batch can spend
AREA = "LV022"
FROM = "+37166000000"
CHAT_BASE = 500_000_000  # residents' Telegram chats
APPRISE_CHAT_BASE = 900_000_000  # Apprise's chats, apart from the dispatcher's
TEXTS = {"lv": "Oranžais brīdinājums: stiprs vējš Jelgavā. Sekojiet norādēm.",
         "en": "Orange warning: strong wind in Jelgava. Follow the instructions."}


# --- the simulators, in a process of their own ---------------------------------


def _simulators(pipe: Any) -> None:
    """Serve the Telegram and Twilio simulators; answer the bench's questions over ``pipe``."""
    import logging

    logging.disable(logging.WARNING)
    telegram = telegram_sim.TelegramSimulator(mode="test").start()
    # Twilio's queue lets 10 segments a second leave the sender: the status callbacks
    # trickle (to nowhere); what is measured is the API's acceptance.
    twilio = twilio_sim.TwilioSimulator(mode="test").start()
    pipe.send({"telegram": telegram.url, "twilio": twilio.url})
    while True:
        command = pipe.recv()
        if command == "telegram":
            pipe.send(Counter(a for a, e in telegram.sends.all() if e["method"] == "sendMessage"))
        elif command == "sms":
            pipe.send(Counter(m["to"] for m in twilio.messages()))
        elif command == "cpu":  # seconds of CPU this process has used so far
            pipe.send(time.process_time())
        elif command == "max_in_1s":
            pipe.send(telegram.max_sends(1.0))
        elif command == "clear":
            telegram.sends.clear()
            telegram.chats.clear()
            telegram.requests.clear()
            pipe.send(True)
        elif command == "stop":
            telegram.stop()
            twilio.stop()
            pipe.send(True)
            return
        else:
            pipe.send(None)


class Simulators:
    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")  # before any thread or connection exists
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_simulators, args=(child,), daemon=True)
        self.process.start()
        self.urls = self.pipe.recv()

    def ask(self, command: str) -> Any:
        self.pipe.send(command)
        return self.pipe.recv()

    def stop(self) -> None:
        self.ask("stop")
        self.process.join(timeout=10)


# --- the database ----------------------------------------------------------------


def seed_residents(sessions: Any, count: int) -> list[int]:
    """``count`` public subscribers in Jelgava: Telegram first, SMS second."""
    now = clock.now()
    with sessions() as session:
        start = (session.scalar(select(func.max(Contact.id))) or 0) + 1
        ids = list(range(start, start + count))
        session.execute(insert(Contact.__table__), [
            {"id": cid, "kind": "person", "name": f"Iedzīvotājs {cid}",
             "language": "lv" if cid % 4 else "en", "areas": [AREA], "levels": ["orange", "red"],
             "is_public_subscriber": True, "owner": "channels", "consent_version": "bench",
             "consent_at": now, "active": True, "created_at": now}
            for cid in ids
        ])
        session.execute(insert(ContactAddress.__table__), [
            {"contact_id": cid, "channel": channel, "address": address, "preference": preference,
             "verified_at": now, "active": True}
            for cid in ids
            for channel, address, preference in (("telegram", str(CHAT_BASE + cid), 0),
                                                 ("sms", f"+3712{cid:07d}", 1))
        ])
        session.commit()
    return ids


def start_alert(sessions: Any, channels: list[str], audience: dict[str, Any]) -> tuple[int, int]:
    """An Actual alert from a warning (no second person needed), moved to sending:
    its id and its ledger rows."""
    with sessions() as session:
        draft = alerts.AlertDraft(source="warning", cap_status="Actual", level="orange",
                                  texts=dict(TEXTS), audience=audience, channels=channels)
        alert = alerts.create_alert(session, draft, None)
        alerts.submit(session, alert, None)
        rows = alerts.start_sending(session, alert, set(channels))
        session.commit()
        return alert.id, rows


def ledger_addresses(sessions: Any, alert_id: int) -> dict[str, str]:
    """address → state of the alert's rows."""
    with sessions() as session:
        rows = session.execute(select(Delivery.address, Delivery.state)
                               .where(Delivery.alert_id == alert_id)).all()
        session.rollback()
    return dict(rows)


def faults(ledger: dict[str, str], received: Counter[str]) -> tuple[int, int]:
    """(rows whose address got nothing, addresses that got more than one message)."""
    lost = sum(1 for address in ledger if received.get(address, 0) == 0)
    duplicates = sum(1 for address in ledger if received.get(address, 0) > 1)
    return lost, duplicates


# --- runs ------------------------------------------------------------------------


def dispatch(dispatcher: Dispatcher, sessions: Any, alert_id: int) -> float:
    """Seconds until every row of the alert has left ``pending``/``claimed``."""
    def open_rows() -> int:
        with sessions() as session:
            count = session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.alert_id == alert_id, Delivery.state.in_(("pending", "claimed"))))
            session.rollback()
            return count or 0

    start = time.perf_counter()
    while True:
        if not dispatcher.run_once():
            if not open_rows():
                return time.perf_counter() - start
            time.sleep(dispatcher.idle_wait(1.0))


def apprise_run(telegram_url: str, chats: list[int]) -> tuple[float, int]:
    """Seconds for Apprise to send one message to each of ``chats``, and how many failed.

    Each chat is its own URL, so Apprise's thread pool sends them side by side
    (targets inside one URL go one after another, slower)."""
    import apprise
    from apprise.plugins.telegram import NotifyTelegram

    NotifyTelegram.notify_url = f"{telegram_url}/bot"  # Apprise's Telegram address is fixed
    # No per-service deadline: with thousands queued, Apprise's default 60 s would give
    # up on the last ones unsent.
    asset = apprise.AppriseAsset(async_mode=True, service_timeout=0)
    sender = apprise.Apprise(asset=asset)
    for chat in chats:
        sender.add(f"tgram://{telegram_sim.TOKEN}/{chat}/?detect=no")
    start = time.perf_counter()
    outcome = sender.notify(body=TEXTS["lv"], title="")
    elapsed = time.perf_counter() - start
    return elapsed, 0 if outcome else -1


def timed(label: str, quiet: bool, call: Callable[[], Any]) -> Any:
    if not quiet:
        print(f"… {label}", file=sys.stderr, flush=True)
    return call()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=50_000, help="residents (default 50 000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="messages in flight per channel (default SARGS_WORKER_CONCURRENCY)")
    parser.add_argument("--limited-rate", type=float, default=30.0,
                        help="Telegram's budget in the limited run, messages/s (default 30)")
    parser.add_argument("--limited-seconds", type=float, default=20.0,
                        help="length the limited run aims at: rate × this many recipients "
                             "(default 20 s)")
    args = parser.parse_args(argv)
    quiet = args.json
    count = max(args.recipients, 1)

    simulators = Simulators()  # first: the fork must not copy threads or connections
    folder = Path(tempfile.mkdtemp(prefix="sargs-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    settings = load_settings(
        mode="test", database_url=url, instance_path=folder, secret_key="bench",
        log_level="ERROR", public_url="http://127.0.0.1:9",
        telegram_api_url=simulators.urls["telegram"],
        twilio_api_url=simulators.urls["twilio"], twilio_account_sid=twilio_sim.ACCOUNT_SID,
        twilio_from_number=FROM,
    )
    settings.telegram_bot_token = SecretStr(telegram_sim.TOKEN)
    settings.twilio_auth_token = SecretStr(twilio_sim.AUTH_TOKEN)
    if args.concurrency:
        settings.worker_concurrency = args.concurrency
    app = create_app(settings)
    sessions = app.extensions["sargs"].sessionmaker
    with sessions() as session:
        if session.scalar(select(func.count()).select_from(Delivery)):
            sys.exit("the database already has deliveries: give the bench a scratch database")
        session.rollback()

    from sargs.channels.sms import SmsAdapter
    from sargs.channels.telegram import TelegramAdapter

    result: dict[str, Any] = {"recipients": count, "database": url.split(":", 1)[0],
                              "concurrency": settings.worker_concurrency}
    ids = timed(f"seeding {count} residents", quiet, lambda: seed_residents(sessions, count))
    public = {"public": {"areas": [AREA]}}

    # 1. resolve the audience and write the ledger, as the move to sending does
    start = time.perf_counter()
    telegram_alert, rows = start_alert(sessions, ["telegram", "sms"], public)
    result["ledger_write_s"] = time.perf_counter() - start
    assert rows == count, (rows, count)

    lost = duplicates = 0
    # 2. limits off: one worker, Telegram
    telegram = TelegramAdapter(settings, rate_per_second=UNLIMITED)
    sms = SmsAdapter(settings, rate_per_second=UNLIMITED)
    try:
        for name, adapter, alert_id in (("telegram", telegram, telegram_alert),
                                        ("sms", sms, None)):
            if alert_id is None:
                alert_id, _ = start_alert(sessions, [name], public)
            dispatcher = Dispatcher(sessions, {name: adapter},
                                    concurrency=settings.worker_concurrency,
                                    budgets=rates.Budgets({name: UNLIMITED}, per_address={}))
            cpu = time.process_time(), simulators.ask("cpu")
            seconds = timed(f"{name}: {count} messages, limits off", quiet,
                            lambda d=dispatcher, a=alert_id: dispatch(d, sessions, a))
            # Share of one core each process used while sending: which one is the limit.
            result[f"{name}_sender_cpu"] = (time.process_time() - cpu[0]) / seconds
            result[f"{name}_simulator_cpu"] = (simulators.ask("cpu") - cpu[1]) / seconds
            dispatcher.close()
            result[f"{name}_msgs_per_s"] = count / seconds
            missing, twice = faults(ledger_addresses(sessions, alert_id), simulators.ask(name))
            lost, duplicates = lost + missing, duplicates + twice
    finally:
        telegram.close()
        sms.close()

    # 3. limits on: Telegram at --limited-rate, with the per-chat budget as in production
    simulators.ask("clear")
    limited = max(1, min(count, int(args.limited_rate * args.limited_seconds)))
    limited_alert, _ = start_alert(sessions, ["telegram"], {"contacts": ids[:limited]})
    telegram = TelegramAdapter(settings, rate_per_second=args.limited_rate)
    dispatcher = Dispatcher(sessions, {"telegram": telegram},
                            concurrency=settings.worker_concurrency,
                            budgets=rates.Budgets({"telegram": args.limited_rate}))
    try:
        result["limited_s"] = timed(
            f"telegram: {limited} messages at {args.limited_rate:g}/s", quiet,
            lambda: dispatch(dispatcher, sessions, limited_alert))
    finally:
        dispatcher.close()
        telegram.close()
    result["bound_s"] = limited / args.limited_rate
    result["ratio_to_bound"] = result["limited_s"] / result["bound_s"]
    result["limited_recipients"] = limited
    result["limited_rate"] = args.limited_rate
    result["limited_max_in_1s"] = simulators.ask("max_in_1s")
    missing, twice = faults(ledger_addresses(sessions, limited_alert), simulators.ask("telegram"))
    lost, duplicates = lost + missing, duplicates + twice

    # 4. the same N Telegram messages through Apprise, to the same simulator
    simulators.ask("clear")
    chats = [APPRISE_CHAT_BASE + cid for cid in ids]
    cpu = time.process_time(), simulators.ask("cpu")
    seconds, _ = timed(f"apprise: {count} messages", quiet,
                       lambda: apprise_run(simulators.urls["telegram"], chats))
    result["apprise_sender_cpu"] = (time.process_time() - cpu[0]) / seconds
    result["apprise_simulator_cpu"] = (simulators.ask("cpu") - cpu[1]) / seconds
    received = simulators.ask("telegram")
    result["apprise_failed"] = sum(1 for chat in chats if received.get(str(chat), 0) == 0)
    result["apprise_msgs_per_s"] = (count - result["apprise_failed"]) / seconds
    result["vs_apprise"] = result["telegram_msgs_per_s"] / result["apprise_msgs_per_s"]
    result["lost"], result["duplicates"] = lost, duplicates

    simulators.stop()
    app.extensions["sargs"].engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)  # the SQLite file of 50 000 residents is ~50 MB
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return result


def report(r: dict[str, Any]) -> None:
    print(f"database: {r['database']}; {r['recipients']} residents; "
          f"{r['concurrency']} messages in flight per channel")
    print(f"resolve the audience and write the ledger   {r['ledger_write_s']:8.3f} s")
    print(f"Telegram, limits off, one worker             {r['telegram_msgs_per_s']:8.0f} msgs/s"
          f"{_cpu(r, 'telegram')}")
    print(f"SMS (Twilio API), limits off, one worker     {r['sms_msgs_per_s']:8.0f} msgs/s"
          f"{_cpu(r, 'sms')}")
    print(f"Telegram at {r['limited_rate']:g}/s: {r['limited_recipients']} messages in "
          f"{r['limited_s']:.2f} s; bound N/rate {r['bound_s']:.2f} s; "
          f"ratio {r['ratio_to_bound']:.3f}; most in any second {r['limited_max_in_1s']}")
    print(f"Apprise, same messages, same simulator       {r['apprise_msgs_per_s']:8.0f} msgs/s"
          f"{_cpu(r, 'apprise')}\n    (its Telegram address pointed at the simulator; "
          f"{r['apprise_failed']} not received)")
    print(f"Sargs vs Apprise                             {r['vs_apprise']:8.1f} ×")
    print(f"lost {r['lost']}, sent twice {r['duplicates']} "
          "(simulators' records against the ledger)")


def _cpu(r: dict[str, Any], run: str) -> str:
    return (f"  (CPU: sender {r[f'{run}_sender_cpu']:.0%}, "
            f"simulator {r[f'{run}_simulator_cpu']:.0%} of a core)")


if __name__ == "__main__":
    main()
