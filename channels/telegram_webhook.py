"""Telegram's webhook: with ``SARGS_TELEGRAM_BOT_MODE=webhook`` Telegram posts each
update of the residents' bot here.

Every post must carry ``X-Telegram-Bot-Api-Secret-Token`` equal to the secret
given to ``setWebhook`` (``SARGS_TELEGRAM_WEBHOOK_SECRET``, or one derived from
the app's secret key); a forged post gets 403 and changes nothing. A genuine
update is handed to this process's bot (started on the first post) and answered
before the post returns, so Telegram retries it if the process fails.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Blueprint, abort, current_app, request

from sargs.auth.access import public
from sargs.context import settings
from sargs.extensions import csrf, limiter
from sargs.settings import Settings

bp = Blueprint("telegram_webhook", __name__, url_prefix="/channels/telegram")
csrf.exempt(bp)
PATH = "/channels/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_secret(config: Settings, app_secret: str) -> str:
    """The secret token Telegram must send: the setting, or an HMAC of the app secret."""
    if config.telegram_webhook_secret is not None:
        return config.telegram_webhook_secret.get_secret_value()
    return hmac.new(app_secret.encode(), b"telegram-webhook", hashlib.sha256).hexdigest()


def webhook_url(config: Settings) -> str:
    return config.base_url + PATH


@bp.route("/webhook", methods=["POST"])
@public
@limiter.limit("6000 per minute")
def webhook() -> Any:
    cfg = settings()
    if cfg.telegram_bot_token is None:
        abort(404)
    expected = webhook_secret(cfg, str(current_app.config["SECRET_KEY"]))
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        abort(403)
    update = request.get_json(silent=True)
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        abort(400)
    from sargs.channels import telegram_bot_runner

    telegram_bot_runner.webhook_runner(current_app._get_current_object()).feed(update)  # type: ignore[attr-defined]
    return "", 200
