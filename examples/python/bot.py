#!/usr/bin/env python3
"""Socket Mode for Mattermost: a websocket-only bot in Python.

The bot posts a message with two buttons and a menu, then hears every click on
its websocket -- it has no HTTP endpoint of its own. "Reject" and a region
choice edit the message; "Approve" opens a dialog through the plugin, and the
submitted dialog also arrives on the websocket.

    pip install -r requirements.txt
    MM_URL=http://127.0.0.1:8065 MM_BOT_TOKEN=... MM_CHANNEL_ID=... python bot.py

stdout gets one line per thing that happened (``posted <post_id>``,
``click <action> <user> <option or ->``, ``dialog opened <session_id>``,
``dialog error <code>``, ``submitted <user> <reason>``, ``cancelled <user>``);
diagnostics go to stderr.
"""

import collections
import json
import os
import sys
import traceback
from urllib.parse import urlparse

import requests
from mattermostdriver import Driver

PLUGIN_ID = "mattermost-plugin-interactive-message-actions-to-websocket-proxy"
# Every action of the message points here: Mattermost calls the plugin, and the
# plugin hands the click to the bot as a websocket event.
HANDLER_URL = f"/plugins/{PLUGIN_ID}/api/v1/handler"
ACTION_EVENT = f"custom_{PLUGIN_ID}_action"
DIALOG_EVENT = f"custom_{PLUGIN_ID}_dialog_submission"

MM_URL = os.environ["MM_URL"].rstrip("/")  # e.g. http://127.0.0.1:8065
BOT_TOKEN = os.environ["MM_BOT_TOKEN"]     # the bot's personal access token
CHANNEL_ID = os.environ["MM_CHANNEL_ID"]   # a channel the bot is a member of


def say(line):
    """One result line on stdout, flushed at once (someone may be reading the pipe)."""
    print(line, flush=True)


def connect():
    """A mattermostdriver Driver authenticated with the bot's token."""
    url = urlparse(MM_URL)
    driver = Driver({
        "url": url.hostname,
        "scheme": url.scheme,
        "port": url.port or (443 if url.scheme == "https" else 80),
        "token": BOT_TOKEN,
    })
    driver.login()  # GET /api/v4/users/me: checks the token
    return driver


def post_message(driver, bot_id):
    """Posts the message with its actions, as the bot, and returns its id.

    The plugin delivers a click only if the message was posted by the bot named
    in ``integration.context.user_id``: post with the bot's own token.
    """
    def integration(action):
        # The context is yours, except `user_id`: the bot that receives the click.
        return {"url": HANDLER_URL, "context": {"user_id": bot_id, "action": action}}

    post = driver.posts.create_post({
        "channel_id": CHANNEL_ID,
        "message": "Release 1.4.2 is ready.",
        "props": {"attachments": [{
            "text": "Deploy it to production?",
            # Action ids: letters and digits only (Mattermost's click route refuses others).
            "actions": [
                {"id": "approve", "name": "Approve", "type": "button", "style": "primary",
                 "integration": integration("approve")},
                {"id": "reject", "name": "Reject", "type": "button", "style": "danger",
                 "integration": integration("reject")},
                {"id": "region", "name": "Region", "type": "select",
                 "options": [{"text": "Europe", "value": "eu"},
                             {"text": "Americas", "value": "us"}],
                 "integration": integration("region")},
            ],
        }]},
    })
    return post["id"]


def set_message(driver, post_id, message):
    """Changes the post's text. A patch leaves the other fields, buttons included, as they are."""
    driver.posts.patch_post(post_id, {"message": message})


def open_dialog(trigger_id, post_id):
    """Opens the approval dialog through the plugin (not /api/v4/actions/dialogs/open).

    The plugin gives the dialog a submission URL of its own, checks the fields
    (here: the reason's length) inside the dialog, and sends a valid submission
    to this bot as a websocket event. The trigger id expires within seconds of
    the click: open the dialog right away.
    """
    r = requests.post(
        f"{MM_URL}/plugins/{PLUGIN_ID}/api/v1/dialogs/open",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        json={"trigger_id": trigger_id, "dialog": {
            "callback_id": "approve",
            "title": "Approve release",
            "notify_on_cancel": True,  # also tell the bot when the person cancels
            "state": post_id,          # comes back in the submission event
            "elements": [{"display_name": "Reason", "name": "reason", "type": "textarea",
                          "min_length": 3, "max_length": 200}],
        }},
        timeout=30,
    )
    if r.status_code == 200:
        say(f"dialog opened {r.json()['session_id']}")
        return
    try:
        error = r.json()["error"]  # {"code": "trigger_expired", "message": "..."}
    except (ValueError, KeyError, TypeError):  # not the plugin speaking (e.g. plugin disabled)
        error = {"code": f"http_{r.status_code}", "message": r.text}
    print(f"dialog not opened: {error.get('message')}", file=sys.stderr)
    say(f"dialog error {error.get('code')}")


class Seen:
    """Remembers the last event ids, to drop an event delivered twice.

    The same event reaches every websocket connection of the bot; a bot running
    several connections (or replicas sharing a store) handles it once.
    """

    def __init__(self, size=1000):
        self.ids = collections.OrderedDict()
        self.size = size

    def first_time(self, event_id):
        if event_id in self.ids:
            return False
        self.ids[event_id] = True
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)
        return True


def main():
    driver = connect()
    bot_id = driver.client.userid  # set by login(): what goes in context.user_id
    seen = Seen()
    posted = False

    async def on_message(raw):
        nonlocal posted
        message = json.loads(raw)
        if message.get("event") == "hello" and not posted:
            # The websocket is connected and authenticated: post now, so that
            # no click can come before the bot listens.
            posted = True
            try:
                post_id = post_message(driver, bot_id)
            except Exception as e:  # pylint: disable=broad-except
                sys.exit(f"cannot post the message: {e}")
            say(f"posted {post_id}")
            return
        try:
            handle(message)
        except Exception:  # pylint: disable=broad-except
            # One event going wrong (a network error...) must not stop the bot.
            traceback.print_exc()

    def handle(message):
        event = message.get("event")
        if event not in (ACTION_EVENT, DIALOG_EVENT):
            return  # posted, typing, ...: not ours
        data = message["data"]
        if not seen.first_time(data["proxy"]["event_id"]):
            return

        # These calls block the event loop for a moment: fine for a small bot.
        if event == ACTION_EVENT:
            # A click: `context` is the action's integration.context as posted,
            # plus `selected_option` for a menu.
            context = data["context"]
            action, user = context["action"], data["user_name"]
            option = context.get("selected_option")
            say(f"click {action} {user} {option or '-'}")
            if action == "reject":
                set_message(driver, data["post_id"], f"Rejected by @{user}")
            elif action == "region":
                set_message(driver, data["post_id"], f"Region: {option}")
            elif action == "approve":
                open_dialog(data["trigger_id"], data["post_id"])
        else:
            # A dialog submission, already checked by the plugin against the
            # definition; `state` is what the bot put in the dialog.
            user = data["user_name"]
            if data["cancelled"]:
                say(f"cancelled {user}")
            else:
                reason = data["submission"]["reason"]
                say(f"submitted {user} {reason}")
                set_message(driver, data["state"], f"Approved by @{user}: {reason}")

    # Runs until the connection closes (pass "keepalive": True to Driver to reconnect).
    driver.init_websocket(on_message)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
