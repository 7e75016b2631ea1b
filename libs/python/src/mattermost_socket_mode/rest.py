"""REST calls to Mattermost and the plugin: one description of each call, run by the sync
client (``def`` handlers, scripts) or the async one (``async def`` handlers, the library's own
REST acks), so both behave the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import httpx

from ._version import __version__


class ApiError(Exception):
    """Mattermost or the plugin refused a call.

    ``code`` is the plugin's stable error code (``trigger_expired``, ``command_taken``,
    ``bad_ephemeral``...) or Mattermost's error id; ``status`` the HTTP status.
    """

    def __init__(self, status: int, code: str, message: str, body: Any = None):
        super().__init__(f"{code} (HTTP {status}): {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body


@dataclass(frozen=True)
class Request:
    """One call: method, path under the server's URL, JSON body."""

    method: str
    path: str
    json: Any = None


def client_options(url: str, token: str, timeout: float, verify: Any) -> dict:
    """What both clients are made with: the server, the bot's token, limits."""
    return {
        "base_url": url,
        "headers": {
            "Authorization": f"Bearer {token}",
            "User-Agent": f"mattermost-socket-mode-python/{__version__}",
        },
        "timeout": timeout,
        "verify": verify,
    }


def result(response: httpx.Response) -> Any:
    """The JSON answer of a call that worked (None when empty), or ApiError."""
    if 200 <= response.status_code < 300:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text
    raise error_of(response)


def error_of(response: httpx.Response) -> ApiError:
    """The error a refused call carries: the plugin's ``{"error": {"code", "message"}}``, or
    Mattermost's ``{"id", "message"}``, or the status alone (a proxy, a disabled plugin)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    code: Optional[str] = None
    message = ""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            code, message = err.get("code"), err.get("message", "")
        elif isinstance(body.get("id"), str):
            code, message = body["id"], body.get("message", "")
    if not code:
        code = f"http_{response.status_code}"
        message = message or (body if isinstance(body, str) else "")
    return ApiError(response.status_code, code, str(message), body)


def call(client: httpx.Client, req: Request) -> Any:
    """Runs ``req`` on the sync client."""
    return result(client.request(req.method, req.path, json=req.json))


async def acall(client: httpx.AsyncClient, req: Request) -> Any:
    """Runs ``req`` on the async client."""
    return result(await client.request(req.method, req.path, json=req.json))
