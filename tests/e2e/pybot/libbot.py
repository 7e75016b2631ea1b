#!/usr/bin/env python3
"""A bot on the Python Socket Mode library (libs/python), for lib_python_test.go.

Prints one JSON line per thing that happened on stdout: {"ready": ..., "post_id": ...} once
subscribed, {"event": <kind>, "data": <the event>, "replica": ...} for every event the library
hands a handler (the test validates each against docs/schemas), {"dialog": <session id>} when
a dialog opened. Both kinds of handlers run: def ones (in the library's thread pool) and async
def ones (on its event loop).

Environment: MM_URL, MM_BOT_TOKEN, MM_CHANNEL_ID, MM_COMMAND, REPLICA (a name for the output),
POST ("1": post the message with the buttons once subscribed).
"""

import json
import logging
import os
import sys
import threading

from mattermost_socket_mode import App, button, menu

REPLICA = os.environ.get("REPLICA", "a")
app = App(os.environ["MM_URL"], os.environ["MM_BOT_TOKEN"], expand={"acting_user": "summary"}, stop_timeout=5)


_print = threading.Lock()


def out(**line):
    # One line at a time: handlers print from several threads at once.
    with _print:
        print(json.dumps(line), flush=True)


def seen(event):
    out(event=event.name, data=event, replica=REPLICA)


def who(event):
    return event.expanded["acting_user"]["username"]


@app.on_ready
def ready():
    post_id, lint = None, None
    if os.environ.get("POST") == "1":
        actions = [button("answer", "Answer"), menu("pick", "Pick", ["a", "b"]),
                   button("form", "Form"), button("count", "Count")]
        # What the plugin finds wrong with the buttons (nothing), and one it refuses.
        lint = {"ok": app.lint(actions=actions)["findings"],
                "bad": app.lint(props={"attachments": [{"actions": [{"id": "a_b", "name": "A"}]}]})["findings"]}
        post_id = app.post(os.environ["MM_CHANNEL_ID"], "Library test", actions=actions)["id"]
    command = app.commands[os.environ["MM_COMMAND"]]
    out(ready=REPLICA, post_id=post_id, lint=lint, command=command.error.code if command.error else "registered")


@app.action("answer")
def answer(event):
    seen(event)
    return {"update": {"message": f"Answered by @{who(event)}"}, "ephemeral_text": "Answered."}


@app.menu("pick")
async def pick(event):
    seen(event)
    return {"update": {"message": f"Picked: {event.selected_option}"},
            "ephemeral_text": f"You picked {event.selected_option}."}


@app.action("form")
async def form(event):
    seen(event)
    opened = await app.aopen_dialog(event, {
        "callback_id": "form", "title": "Form", "state": event.post_id,
        "elements": [{"display_name": "Name", "name": "name", "type": "text", "min_length": 2, "max_length": 50},
                     {"display_name": "Who", "name": "who", "type": "select", "data_source": "dynamic",
                      "optional": True}]})
    out(dialog=opened["session_id"])


@app.lookup("form", field="who")
def who_lookup(event):
    seen(event)
    return [n for n in ("alice", "bob", "carol") if n.startswith(event.query)]


@app.dialog("form")
def submitted(event):
    seen(event)
    if event.submission["name"] == "bad":
        return {"errors": {"name": "Not that name."}}
    return {}


@app.action("count")
def count(event):
    seen(event)
    return f"counted by {REPLICA}"


@app.command(os.environ["MM_COMMAND"], description="library test")
async def command(event):
    seen(event)
    return f"echo: {event.text}"


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    logging.getLogger("mattermost_socket_mode").setLevel(logging.DEBUG)
    app.run()
