#!/usr/bin/env python3
"""An mmpy_bot bot (the real mmpy_bot from PyPI) that receives the plugin's clicks and dialog
submissions through its own @listen_webhook handlers and respond_to_web, with the library's
SocketModePlugin and no webhook server; for lib_python_test.go.

Prints one JSON line per thing that happened: {"posted": id} after "!release" in a channel
(mmpy_bot's own @listen_to), {"webhook": id, "class": ..., "data": ...} in each webhook
handler, {"dialog": session id}.

Environment: MM_URL (http://host:port), MM_BOT_TOKEN.
"""

import json
import os
import threading
from urllib.parse import urlparse

from mmpy_bot import ActionEvent, Bot, Message, Plugin, Settings, WebHookEvent, listen_to, listen_webhook

from mattermost_socket_mode import button
from mattermost_socket_mode.mmpy_bot import SocketModePlugin


_print = threading.Lock()


def out(**line):
    # One line at a time: handlers print from several threads at once.
    with _print:
        print(json.dumps(line), flush=True)


def seen(event: WebHookEvent):
    out(webhook=event.webhook_id, **{"class": type(event).__name__}, data=event.body)


class Release(Plugin):
    def __init__(self, socket_mode: SocketModePlugin):
        super().__init__()
        self.socket_mode = socket_mode

    @listen_to("^!release$")
    async def release(self, message: Message):
        # Buttons that point at the plugin, posted as the bot (app.post fills in the rest).
        post = self.socket_mode.app.post(message.channel_id, "Release 2.0 is ready.", actions=[
            button("approve", "Approve"), button("ask", "Ask why")])
        out(posted=post["id"])

    @listen_webhook("approve")
    async def approve(self, event: ActionEvent):
        seen(event)
        self.driver.respond_to_web(event, {"update": {"message": f"Approved by @{event.user_name}"},
                                           "ephemeral_text": "Approved."})

    @listen_webhook("ask")
    def ask(self, event: ActionEvent):  # a def: mmpy_bot runs it in its thread pool
        seen(event)
        opened = self.socket_mode.app.open_dialog(event, {
            "callback_id": "reason", "title": "Why?",
            "elements": [{"display_name": "Reason", "name": "reason", "type": "text"}]})
        out(dialog=opened["session_id"])

    @listen_webhook("^reason$")
    def reason(self, event: WebHookEvent):
        seen(event)
        if event.body["submission"]["reason"] == "friday":
            self.driver.respond_to_web(event, {"errors": {"reason": "Not on a Friday."}})
        else:
            self.driver.respond_to_web(event, {})


if __name__ == "__main__":
    url = urlparse(os.environ["MM_URL"])
    socket_mode = SocketModePlugin()
    Bot(settings=Settings(MATTERMOST_URL=f"{url.scheme}://{url.hostname}", MATTERMOST_PORT=url.port,
                          BOT_TOKEN=os.environ["MM_BOT_TOKEN"], SSL_VERIFY=False),
        plugins=[socket_mode, Release(socket_mode)]).run()
