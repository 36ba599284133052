"""python-telegram-bot's HTTP layer on aiohttp, for sending alerts in bulk.

PTB's default layer (httpx) spends about a millisecond of CPU per request,
which caps one worker near 700 messages a second; aiohttp (already installed
as twilio's async client) needs a fraction of that. PTB supports such a
replacement through :class:`telegram.request.BaseRequest`: the bot, its
errors (RetryAfter, Forbidden, …) and its parsing of answers stay PTB's.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0


def _given(value: Any, default: float) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class AiohttpRequest(BaseRequest):
    """Up to ``connections`` kept-alive connections to the Bot API."""

    def __init__(self, connections: int, read_timeout: float = READ_TIMEOUT_S) -> None:
        self.connections = connections
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE,
                         write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        await self.initialize()
        assert self._session is not None
        data: Any = None
        if request_data is not None:
            data = request_data.json_parameters
            if request_data.contains_files:
                form = aiohttp.FormData()
                for name, value in data.items():
                    form.add_field(name, value)
                for name, part in (request_data.multipart_data or {}).items():
                    filename, content, mimetype = part[0], part[1], part[2]
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                data = form
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_given(pool_timeout, CONNECT_TIMEOUT_S),  # waiting for a free connection
            sock_connect=_given(connect_timeout, CONNECT_TIMEOUT_S),
            sock_read=_given(read_timeout, self._read_timeout),
        )
        try:
            async with self._session.request(method, url, data=data or None,
                                             timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
