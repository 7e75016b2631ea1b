#!/usr/bin/env python3
"""Socket Mode for Mattermost: a websocket-only bot in Python, on the library (libs/python).

The bot posts a message with two buttons and a menu and hears every click on its websocket --
it has no HTTP endpoint of its own. "Reject" and a region choice are answered the way an HTTP
integration answers them (the message changes, the clicker reads a line); "Approve" opens a
dialog whose approver menu and submission come back to the bot too; /release is its slash
command. The library subscribes, acknowledges each event with the handler's answer, drops
repeats and reconnects.

    pip install -r requirements.txt
    MM_URL=http://127.0.0.1:8065 MM_BOT_TOKEN=... MM_CHANNEL_ID=... python bot.py

stdout gets one line per thing that happened (``posted <post_id>``, ``command registered
<trigger>``, ``command error <code>``, ``click <action> <user> <option or ->``, ``dialog opened
<session_id>``, ``dialog error <code>``, ``lookup <field> <query or ->``, ``submitted <user>
<reason>``, ``refused <user> <reason>``, ``cancelled <user>``, ``command <user> <text>``);
diagnostics go to stderr.
"""

import logging
import os
import threading

from mattermost_socket_mode import ApiError, App, button, menu

COMMAND = os.environ.get("MM_COMMAND", "release")  # the slash command's trigger
APPROVERS = [(name, name.capitalize()) for name in ("alice", "bob", "carol", "dave")]

# Every event also carries the person who acted, the clicked post and their language, as the
# REST API would show them to the bot: no GET /users/{id} or GET /posts/{id} before answering.
app = App(os.environ["MM_URL"], os.environ["MM_BOT_TOKEN"],
          expand={"acting_user": "summary", "post": "summary", "locale": True})


_stdout = threading.Lock()


def say(line):
    """One result line on stdout, flushed at once (someone may be reading the pipe); one at a
    time, since def handlers run in threads."""
    with _stdout:
        print(line, flush=True)


def who(event):
    # The verified username, from the expansions (user_name is passed through as received).
    return event.expanded.get("acting_user", {}).get("username") or event.user_name


@app.on_ready
def post_message():
    # Subscribed (and the command registered): clicks on this message will reach the bot.
    post = app.post(os.environ["MM_CHANNEL_ID"], "Release 1.4.2 is ready.", attachments=[{
        "text": "Deploy it to production?",
        "actions": [button("approve", "Approve", style="primary"),
                    button("reject", "Reject", style="danger"),
                    menu("region", "Region", [("Europe", "eu"), ("Americas", "us")])],
    }])
    say(f"posted {post['id']}")
    command = app.commands[COMMAND]
    say(f"command registered {COMMAND}" if command.error is None else f"command error {command.error.code}")


@app.action("reject")
def reject(event):
    say(f"click reject {who(event)} -")
    # Which release, from the clicked post; in the clicker's language.
    words = event.expanded.get("post", {}).get("message", "").split()
    release = words[1] if len(words) > 1 and words[0] == "Release" else "1.4.2"
    text = (f"Du hast Release {release} abgelehnt." if event.expanded.get("locale", "").startswith("de")
            else f"You rejected release {release}.")
    return {"update": {"message": f"Rejected by @{who(event)}"}, "ephemeral_text": text}


@app.menu("region")
def region(event):
    say(f"click region {who(event)} {event.selected_option}")
    return {"update": {"message": f"Region: {event.selected_option}"},
            "ephemeral_text": f"Deploying to {event.selected_option}."}


@app.action("approve")
def approve(event):
    say(f"click approve {who(event)} -")
    try:  # at once: the trigger expires within seconds
        opened = app.open_dialog(event, {
            "callback_id": "approve", "title": "Approve release", "notify_on_cancel": True,
            "state": event.post_id,  # comes back in the submission
            "elements": [
                {"display_name": "Reason", "name": "reason", "type": "textarea", "min_length": 3, "max_length": 200},
                # A dynamic select without a URL: what the person types comes to lookup() below.
                {"display_name": "Approver", "name": "approver", "type": "select",
                 "data_source": "dynamic", "optional": True},
            ]})
        say(f"dialog opened {opened['session_id']}")
    except ApiError as e:
        logging.error("dialog not opened: %s", e)
        say(f"dialog error {e.code}")


@app.lookup("approve", field="approver")
def approvers(event):
    say(f"lookup {event.selected_field} {event.query or '-'}")
    return [{"text": text, "value": value} for value, text in APPROVERS if value.startswith(event.query.lower())]


@app.dialog("approve")
def submitted(event):
    # Already checked by the plugin against the definition (a reason under 3 characters never comes).
    if event.cancelled:
        say(f"cancelled {who(event)}")
        return None
    reason = event.submission["reason"]
    if "friday" in reason.lower():  # the bot's own rule: the dialog stays open, the text beside the field
        say(f"refused {who(event)} {reason}")
        return {"errors": {"reason": "No releases on Fridays."}}
    say(f"submitted {who(event)} {reason}")
    message = f"Approved by @{who(event)}: {reason}"
    if event.submission.get("approver"):  # optional: absent, or null
        message += f" (approver: {event.submission['approver']})"
    # A patch changes only the message: the buttons stay.
    app.http.put(f"/api/v4/posts/{event.state}/patch", json={"message": message}).raise_for_status()
    return {}  # closes the dialog


@app.command(COMMAND, display_name="Release", description="Release 1.4.2: status or approve",
             hint="[status|<version>]")
def release_command(event):
    say(f"command {who(event)} {event.text}")
    if event.text == "status":  # a str: shown to the person who typed it only
        return "Release 1.4.2 is waiting for approval."
    if not event.text:
        return f"Usage: /{event.trigger} status | /{event.trigger} <version>"
    return {"response_type": "in_channel", "text": f"@{who(event)} asked to release {event.text}."}  # posted as the bot


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app.run()
