"""The mmpy_bot adapter with mmpy_bot's own classes (Driver, PluginManager, ThreadPool,
@listen_webhook, respond_to_web) and the fake server. The real bot on the real server is in
tests/e2e (lib_python_test.go)."""

from __future__ import annotations

import asyncio
import queue
import threading

import httpx
import pytest

mmpy_bot = pytest.importorskip("mmpy_bot")

from mmpy_bot import ActionEvent, Plugin, Settings, WebHookEvent, listen_webhook  # noqa: E402
from mmpy_bot.driver import Driver  # noqa: E402
from mmpy_bot.plugins import PluginManager  # noqa: E402

from fake import TOKEN, FakeMattermost, click, event_id, with_proxy  # noqa: E402
from mattermost_socket_mode import Event  # noqa: E402
from mattermost_socket_mode.mmpy_bot import SocketModePlugin, webhook_id  # noqa: E402


class Release(Plugin):
    def __init__(self):
        super().__init__()
        self.seen = []

    @listen_webhook("approve")
    async def approve(self, event):
        self.seen.append(("approve", type(event), event.request_id, event.webhook_id, isinstance(event.body, Event),
                          threading.current_thread() is threading.main_thread()))
        self.driver.respond_to_web(event, {"update": {"message": f"Approved by @{event.user_name}"},
                                           "ephemeral_text": "Approved."})

    @listen_webhook("^approval$")
    def submitted(self, event):  # a def: mmpy_bot runs it in its thread pool
        self.seen.append(("approval", type(event), event.body["submission"]["reason"],
                          threading.current_thread() is threading.main_thread()))
        self.driver.respond_to_web(event, {"errors": {"reason": "No releases on Fridays."}})

    @listen_webhook("ping")
    async def silent(self, event):
        self.seen.append(("ping",))


def test_clicks_and_dialog_submissions_reach_listen_webhook_and_respond_to_web_is_the_answer():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def scenario():
        async with FakeMattermost() as mm:
            host, port = mm.url[len("http://"):].split(":")
            settings = Settings(MATTERMOST_URL=f"http://{host}", MATTERMOST_PORT=int(port), BOT_TOKEN=TOKEN)
            driver = Driver({"url": host, "port": int(port), "token": TOKEN, "scheme": "http"})
            socket_mode, release = SocketModePlugin(), Release()
            manager = PluginManager([socket_mode, release])
            manager.initialize(driver, settings)
            app = socket_mode.app
            assert app.url == mm.url
            t = mm.transport()
            app.http = httpx.Client(transport=t, base_url=mm.url)
            app._ahttp = None  # the app's thread makes its own; REST answered below
            app._client_options["transport"] = t
            webhook_server_queue = queue.Queue()
            driver.response_queue = webhook_server_queue  # as if the bot ran its webhook server too
            driver.threadpool.start()
            manager.start()
            try:
                await mm.next("subscribe")
                await mm.deliver("action", click(1, "approve"))
                _, ack = await mm.next("ack")
                assert ack["data"] == {"event_id": event_id(1), "answer": {
                    "update": {"message": "Approved by @alice"}, "ephemeral_text": "Approved."}}
                assert release.seen[0] == ("approve", ActionEvent, f"socketmode-{event_id(1)}", "approve", True, True)

                dialog = {"callback_id": "approval", "state": "", "submission": {"reason": "friday"},
                          "user_id": "u" * 26, "user_name": "alice", "channel_id": "c" * 26,
                          "team_id": "t" * 26, "cancelled": False}
                await mm.deliver("dialog_submission", with_proxy(2, dialog))
                _, ack = await mm.next("ack")
                assert ack["data"] == {"event_id": event_id(2), "answer": {"errors": {"reason": "No releases on Fridays."}}}
                assert release.seen[1] == ("approval", WebHookEvent, "friday", False)

                # A handler that does not respond: mmpy_bot's NoResponse, no answer.
                await mm.deliver("action", click(3, action_id="", webhook_id="ping"))
                _, ack = await mm.next("ack")
                assert ack["data"] == {"event_id": event_id(3)}
                # No listener at all.
                await mm.deliver("action", click(4, "nobody"))
                _, ack = await mm.next("ack")
                assert ack["data"] == {"event_id": event_id(4)}

                # The webhook server's own requests still reach its queue.
                driver.respond_to_web(WebHookEvent({}, request_id="1.5_7", webhook_id="x"), {"ok": 1})
                assert webhook_server_queue.get_nowait() == ("1.5_7", {"ok": 1})
            finally:
                await loop.run_in_executor(None, manager.stop)
                driver.threadpool.stop()
            _, unsub = await mm.next("unsubscribe")
            assert unsub

    try:
        loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_webhook_ids():
    assert webhook_id(Event("action", {"context": {"webhook_id": "a", "action_id": "b", "action": "c"}})) == "a"
    assert webhook_id(Event("action", {"context": {"action_id": "b", "action": "c"}})) == "b"
    assert webhook_id(Event("action", {"context": {"action": "c"}})) == "c"
    assert webhook_id(Event("action", {"context": {}})) == ""
    assert webhook_id(Event("dialog_submission", {"callback_id": "d", "context": {"action_id": "x"}})) == "d"
