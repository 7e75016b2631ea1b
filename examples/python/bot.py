#!/usr/bin/env python3
"""Socket Mode for Mattermost: a websocket-only bot in Python.

The bot posts a message with two buttons and a menu, then hears every click on
its websocket -- it has no HTTP endpoint of its own. It subscribes to the
plugin's delivery protocol, so that no click is lost while it restarts, and it
answers "Reject" and a region choice the way an HTTP integration would: the
answer updates the message and shows the clicker a line of text. "Approve"
opens a dialog through the plugin; the dialog's approver menu (a dynamic
select), and the submitted dialog, also arrive on the websocket, and the bot
answers them (the menu's items; the submission's errors, or {} to close it).
It registers a slash command (/release) and answers it too.

    pip install -r requirements.txt
    MM_URL=http://127.0.0.1:8065 MM_BOT_TOKEN=... MM_CHANNEL_ID=... python bot.py

stdout gets one line per thing that happened (``posted <post_id>``,
``command registered <trigger>``, ``command error <code>``,
``click <action> <user> <option or ->``, ``dialog opened <session_id>``,
``dialog error <code>``, ``lookup <field> <query or ->``,
``submitted <user> <reason>``, ``refused <user> <reason>``, ``cancelled <user>``,
``command <user> <text>``); diagnostics go to stderr.
"""

import collections
import json
import os
import sys
import traceback
from urllib.parse import urlparse

import requests
from mattermostdriver import Driver
from mattermostdriver.websocket import Websocket

PLUGIN_ID = "mattermost-plugin-interactive-message-actions-to-websocket-proxy"
# Every action of the message points here: Mattermost calls the plugin, and the
# plugin hands the click to the bot as a websocket event.
HANDLER_URL = f"/plugins/{PLUGIN_ID}/api/v1/handler"
ACTION_EVENT = f"custom_{PLUGIN_ID}_action"
DIALOG_EVENT = f"custom_{PLUGIN_ID}_dialog_submission"
PREFIX = f"custom_{PLUGIN_ID}_"
# The plugin's events that the bot answers in their acknowledgement.
ANSWERED_EVENTS = ("action", "command", "dialog_submission", "dialog_lookup")
# What every event carries besides its own fields (SPEC §13): the person who acted, the
# clicked post and their language, as the REST API would show them to the bot -- so the
# bot needs no GET /users/{id} or GET /posts/{id} before it answers.
EXPAND = {"acting_user": "summary", "post": "summary", "locale": True}
# The approver menu's choices: (value, text).
APPROVERS = [(name, name.capitalize()) for name in ("alice", "bob", "carol", "dave")]

MM_URL = os.environ["MM_URL"].rstrip("/")  # e.g. http://127.0.0.1:8065
BOT_TOKEN = os.environ["MM_BOT_TOKEN"]     # the bot's personal access token
CHANNEL_ID = os.environ["MM_CHANNEL_ID"]   # a channel the bot is a member of
COMMAND = os.environ.get("MM_COMMAND", "release")  # the slash command's trigger


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
        # Reconnect when the connection drops (SocketMode subscribes again).
        "keepalive": True,
        "keepalive_delay": 1,
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


def release_of(message):
    """The release a message like "Release 1.4.2 is ready." is about."""
    words = message.split()
    return words[1] if len(words) > 1 and words[0] == "Release" else "1.4.2"


def set_message(driver, post_id, message):
    """Changes the post's text. A patch leaves the other fields, buttons included, as they are."""
    driver.posts.patch_post(post_id, {"message": message})


def plugin_post(path, body):
    """POSTs body to the plugin's API with the bot's token; returns (answer, error).

    error is None on success, else {"code": ..., "message": ...}.
    """
    r = requests.post(f"{MM_URL}/plugins/{PLUGIN_ID}/api/v1/{path}",
                      headers={"Authorization": f"Bearer {BOT_TOKEN}"}, json=body, timeout=30)
    if r.status_code == 200:
        return r.json(), None
    try:
        return None, r.json()["error"]  # {"code": "trigger_expired", "message": "..."}
    except (ValueError, KeyError, TypeError):  # not the plugin speaking (e.g. plugin disabled)
        return None, {"code": f"http_{r.status_code}", "message": r.text}


def register_command():
    """Registers the slash command /COMMAND for this bot (again: an update).

    Mattermost then sends it to the plugin, and the plugin to this bot as a
    websocket event; the bot's answer is the command's response.
    """
    answer, error = plugin_post("commands", {
        "trigger": COMMAND,
        "display_name": "Release",
        "description": "Release 1.4.2: status or approve",
        "hint": "[status|<version>]",
    })
    if error:  # {"code": "command_taken", ...}: another bot, or Mattermost, has it
        print(f"command not registered: {error.get('message')}", file=sys.stderr)
        say(f"command error {error.get('code')}")
    else:
        say(f"command registered {answer['command']['trigger']}")


def open_dialog(trigger_id, post_id):
    """Opens the approval dialog through the plugin (not /api/v4/actions/dialogs/open).

    The plugin gives the dialog a submission URL of its own, checks the fields
    (here: the reason's length) inside the dialog, and sends a valid submission
    to this bot as a websocket event. A dynamic select without a
    data_source_url (the approver) gets the plugin's too: what the person types
    in it comes to the bot as a dialog_lookup event. The trigger id expires
    within seconds of the click: open the dialog right away.
    """
    answer, error = plugin_post("dialogs/open", {"trigger_id": trigger_id, "dialog": {
        "callback_id": "approve",
        "title": "Approve release",
        "notify_on_cancel": True,  # also tell the bot when the person cancels
        "state": post_id,          # comes back in the submission event
        "elements": [
            {"display_name": "Reason", "name": "reason", "type": "textarea",
             "min_length": 3, "max_length": 200},
            {"display_name": "Approver", "name": "approver", "type": "select",
             "data_source": "dynamic", "optional": True},
        ],
    }})
    if error:  # {"code": "trigger_expired", ...}
        print(f"dialog not opened: {error.get('message')}", file=sys.stderr)
        say(f"dialog error {error.get('code')}")
    else:
        say(f"dialog opened {answer['session_id']}")


class SocketMode:
    """The plugin's delivery protocol for a mattermostdriver bot: copy this class.

    - Subscribes each connection: on every ``hello`` (so again after a
      reconnect) and when the plugin asks (``resubscribe``, after it restarted).
      From then on each event comes to one connection of the bot, and events
      made while the bot was away are kept and sent again when it is back.
    - Hands each event to ``handler(event, data)`` once: an event sent again
      (same ``proxy.event_id``, e.g. it was being handled when the bot stopped)
      is acknowledged again but not handled twice.
    - Acknowledges each event with what the handler returned. For a click that
      is an answer as an HTTP integration gives one (``update``,
      ``ephemeral_text``); for a command, a command response (``response_type``,
      ``text``); for a dialog submission, the dialog's response (``{}``,
      ``errors``, ``error``); for a lookup, ``items``. Within the answer window
      (2.5 s by default) it is what the person gets. ``None`` acknowledges
      without an answer.

    Pass ``websocket_class`` to ``Driver.init_websocket`` as ``websocket_cls``:
    mattermostdriver's ``Websocket`` only receives, and the protocol sends.
    """

    def __init__(self, handler, on_subscribed=None, remember=1000):
        self.handler = handler
        self.on_subscribed = on_subscribed
        self.seen = collections.OrderedDict()  # event ids, oldest first
        self.remember = remember
        self.socket = None
        self.seq = 0
        owner = self

        class SendingWebsocket(Websocket):
            async def _authenticate_websocket(self, websocket, event_handler):
                owner.socket = websocket  # each new connection, before its hello
                return await super()._authenticate_websocket(websocket, event_handler)

        self.websocket_class = SendingWebsocket

    async def send(self, action, data):
        self.seq += 1
        await self.socket.send(json.dumps({"seq": self.seq, "action": PREFIX + action, "data": data}))

    async def on_message(self, raw):
        message = json.loads(raw)
        event = message.get("event", "")
        if event == "hello" or event == PREFIX + "resubscribe":
            await self.send("subscribe", {"protocol": 1, "expand": EXPAND})
            return
        name = event[len(PREFIX):] if event.startswith(PREFIX) else None
        if name == "subscribed" and self.on_subscribed:
            self.on_subscribed(message["data"])  # {connection_id, answer_window_ms, kept}
        if name == "error":
            print(f"the plugin refused a message: {message['data']}", file=sys.stderr)
        if name not in ANSWERED_EVENTS:
            return  # subscribed, ack_result, posted, typing, ...
        data = message["data"]
        event_id = data["proxy"]["event_id"]
        answer = None
        if event_id not in self.seen:
            self.seen[event_id] = True
            if len(self.seen) > self.remember:
                self.seen.popitem(last=False)
            answer = self.handler(name, data)
        # No delivery: the event came before the subscription was taken (or from
        # an older plugin); nobody waits for an answer, and there is nothing to ack.
        if "delivery" in data["proxy"]:
            ack = {"event_id": event_id}
            if answer is not None:
                ack["answer"] = answer
            await self.send("ack", ack)


def main():
    driver = connect()
    bot_id = driver.client.userid  # set by login(): what goes in context.user_id
    posted = False

    def post_once(_subscribed):
        # Subscribed for the first time: post (and register the command) now,
        # so that every click on the message, and every command, comes through
        # the subscription (and can be answered).
        nonlocal posted
        if not posted:
            posted = True
            try:
                post_id = post_message(driver, bot_id)
            except Exception as e:  # pylint: disable=broad-except
                sys.exit(f"cannot post the message: {e}")
            say(f"posted {post_id}")
            try:
                register_command()
            except requests.RequestException as e:
                print(f"registering the command: {e}", file=sys.stderr)
                say("command error unreachable")

    def handle(event, data):
        """One event, handled once; returns the answer to acknowledge it with."""
        try:
            return on_event(event, data)
        except Exception:  # pylint: disable=broad-except
            # One event going wrong (a network error...) must not stop the bot.
            traceback.print_exc()
            return None

    def on_event(event, data):
        # These calls block the event loop for a moment: fine for a small bot.
        if event == "dialog_lookup":
            # Someone types in the approver menu: answer the matching choices.
            query = data["query"].lower()
            say(f"lookup {data['selected_field']} {data['query'] or '-'}")
            return {"items": [{"text": text, "value": value}
                              for value, text in APPROVERS if value.startswith(query)]}
        # The verified username, from the expansions (user_name is passed through as
        # received; the plugin vouches for ids and expansions only).
        expanded = data["proxy"].get("expanded", {})
        user = expanded.get("acting_user", {}).get("username") or data["user_name"]
        if event == "command":
            # /release <text>: the answer is the command's response.
            text = data["text"]
            say(f"command {user} {text}")
            if text == "status":  # shown to the person who typed it only
                return {"response_type": "ephemeral", "text": "Release 1.4.2 is waiting for approval."}
            if not text:
                trigger = data["trigger"]
                return {"response_type": "ephemeral", "text": f"Usage: /{trigger} status | /{trigger} <version>"}
            # Posted in the channel, as the bot.
            return {"response_type": "in_channel", "text": f"@{user} asked to release {text}."}
        if event == "action":
            # A click: `context` is the action's integration.context as posted,
            # plus `selected_option` for a menu.
            context = data["context"]
            action = context["action"]
            option = context.get("selected_option")
            say(f"click {action} {user} {option or '-'}")
            if action == "reject":
                # The answer updates the post (its buttons stay) and tells the clicker,
                # in their language, which release it was: read from the clicked post.
                release = release_of(expanded.get("post", {}).get("message", ""))
                text = (f"Du hast Release {release} abgelehnt." if expanded.get("locale", "").startswith("de")
                        else f"You rejected release {release}.")
                return {"update": {"message": f"Rejected by @{user}"}, "ephemeral_text": text}
            if action == "region":
                return {"update": {"message": f"Region: {option}"},
                        "ephemeral_text": f"Deploying to {option}."}
            if action == "approve":
                open_dialog(data["trigger_id"], data["post_id"])
            return None
        # A dialog submission, already checked by the plugin against the
        # definition; `state` is what the bot put in the dialog.
        if data["cancelled"]:
            say(f"cancelled {user}")
            return None
        reason = data["submission"]["reason"]
        if "friday" in reason.lower():
            # The bot's own rule: the dialog stays open, the text beside the field.
            say(f"refused {user} {reason}")
            return {"errors": {"reason": "No releases on Fridays."}}
        say(f"submitted {user} {reason}")
        message = f"Approved by @{user}: {reason}"
        if approver := data["submission"].get("approver"):  # optional: absent, or null
            message += f" (approver: {approver})"
        set_message(driver, data["state"], message)
        return {}  # closes the dialog

    socket_mode = SocketMode(handle, on_subscribed=post_once)
    driver.init_websocket(socket_mode.on_message, websocket_cls=socket_mode.websocket_class)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
