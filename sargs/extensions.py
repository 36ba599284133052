"""Flask extensions, created once and bound to the app in the factory."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
# Counters live in memory for one process, in Redis when SARGS_REDIS_URL is set.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
