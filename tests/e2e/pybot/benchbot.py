#!/usr/bin/env python3
"""A bot on the Python Socket Mode library for delivery_bench_test.go: answers every choice in
the menu "pick" as the benchmark's other bots do, in its acknowledgement on the websocket.

Prints {"ready": true} once subscribed. Environment: MM_URL, MM_BOT_TOKEN, QUICK_ACK ("0": the
library's Nagle remedy off, to measure the stall it removes).
"""

import json
import logging
import os
import sys

from mattermost_socket_mode import App

app = App(os.environ["MM_URL"], os.environ["MM_BOT_TOKEN"], quick_ack=os.environ.get("QUICK_ACK") != "0",
          stop_timeout=5)


@app.on_ready
def ready():
    print(json.dumps({"ready": True}), flush=True)


@app.menu("pick")
def pick(event):
    v = event.selected_option
    return {"update": {"message": f"Deployed {v} for @{event.user_name}"}, "ephemeral_text": f"Deploying {v}."}


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    app.run()
