#!/usr/bin/env python3
"""Python bot listener for the e2e tests.

Connects to a Mattermost server's websocket with a bot's access token through
mattermostdriver (the client bot developers use: it authenticates with an
``authentication_challenge`` after connecting) and prints every message the
server sends -- events and replies -- as one JSON object per line on stdout,
flushed at once, so that a Go test can read them.

    listen.py --url http://127.0.0.1:58065 --token TOKEN [--prefix custom_] [--keepalive]

The first line with ``"event": "hello"`` means the websocket is authenticated.
Diagnostics go to stderr. Exits when the connection closes (unless
--keepalive) or on SIGTERM/SIGINT.
"""

import argparse
import json
import signal
import sys
from urllib.parse import urlparse

from mattermostdriver import Driver


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="server URL, e.g. http://127.0.0.1:58065")
    ap.add_argument("--token", required=True, help="bot (or user) access token")
    ap.add_argument("--prefix", default="",
                    help="only print events whose name starts with this (hello is always printed)")
    ap.add_argument("--keepalive", action="store_true", help="reconnect when the connection drops")
    ap.add_argument("--debug", action="store_true")
    args = ap.parse_args()

    u = urlparse(args.url)
    scheme = u.scheme or "http"
    port = u.port or (443 if scheme == "https" else 80)
    driver = Driver({
        "url": u.hostname,
        "scheme": scheme,
        "port": port,
        "basepath": "/api/v4",
        "token": args.token,
        "verify": True,
        "keepalive": args.keepalive,
        "keepalive_delay": 1,
        "timeout": 30,
        "debug": args.debug,
    })
    me = driver.login()  # GET /users/me with the token
    print(f"listen.py: logged in as {me.get('username')} ({me.get('id')})", file=sys.stderr, flush=True)

    def stop(signum, _frame):
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    async def on_message(message):
        try:
            msg = json.loads(message)
        except (TypeError, ValueError):
            msg = {"raw": message if isinstance(message, str) else repr(message)}
        event = msg.get("event") if isinstance(msg, dict) else None
        if args.prefix and event not in (None, "hello") and not event.startswith(args.prefix):
            return
        sys.stdout.write(json.dumps(msg, ensure_ascii=False, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    driver.init_websocket(on_message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
