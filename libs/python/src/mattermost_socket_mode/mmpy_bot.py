"""mmpy_bot support: clicks and dialog submissions reach an mmpy_bot bot's own
``@listen_webhook`` handlers, and ``self.driver.respond_to_web(event, response)`` becomes the
answer — with no webhook server and no ``AllowedUntrustedInternalConnections``.

    from mmpy_bot import Bot, Settings
    from mattermost_socket_mode.mmpy_bot import SocketModePlugin

    socket_mode = SocketModePlugin()
    bot = Bot(settings=Settings(...), plugins=[socket_mode, MyPlugin()])

Which handlers an event goes to (``@listen_webhook(regexp)`` matches this "webhook id" as
mmpy_bot matches ``/hooks/<webhook id>``):

- a click: its context's ``webhook_id``, else ``action_id`` (what :func:`button` and
  :func:`menu` put there), else ``action``;
- a dialog submission (or cancellation): the dialog's ``callback_id``.

The handler gets what mmpy_bot's own webhook server would give it: an ``ActionEvent`` for a
click (the body has a ``trigger_id``), a ``WebHookEvent`` for a dialog submission; ``event.body``
is the plugin's event (:class:`~mattermost_socket_mode.Event`). Handlers run where mmpy_bot runs
them (``async def`` on its event loop, ``def`` in its thread pool). The plugin's other events
(slash commands, lookups, refreshes) have no mmpy_bot handler: register them on
``socket_mode.app`` (``@socket_mode.app.command("deploy")``...) before ``Bot.run()``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from typing import Any, Optional

try:
    from mmpy_bot.plugins.base import Plugin
    from mmpy_bot.webhook_server import NoResponse
    from mmpy_bot.wrappers import ActionEvent, WebHookEvent
except ImportError as e:  # pragma: no cover - the extra is not installed
    raise ImportError(
        "mmpy_bot is not installed: pip install mmpy_bot, or from a clone of the plugin's "
        "repository: pip install './libs/python[mmpy-bot]'"
    ) from e

from .app import App
from .events import Event

log = logging.getLogger("mattermost_socket_mode.mmpy_bot")


def webhook_id(event: Event) -> str:
    """The webhook id an event is delivered to (see the module's doc)."""
    if event.name == "dialog_submission":
        return event.callback_id or ""
    ctx = event.context
    for key in ("webhook_id", "action_id", "action"):
        if isinstance(ctx.get(key), str):
            return ctx[key]
    return ""


class SocketModePlugin(Plugin):
    """An mmpy_bot plugin that receives the Socket Mode plugin's events for the bot.

    It connects its own websocket (the bot's token and server from mmpy_bot's ``Settings``),
    subscribes, and hands each click and dialog submission to the matching
    ``@listen_webhook`` handlers of every plugin of the bot. ``app_options`` go to
    :class:`~mattermost_socket_mode.App` (``expand=...``, ``stop_timeout=...``); the App is
    ``self.app``, for its helpers (``app.post``, ``app.open_dialog``...) and for handlers
    mmpy_bot has no form for.
    """

    def __init__(self, **app_options: Any):
        super().__init__()
        self._app_options = app_options
        self.app: Optional[App] = None
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._main_loop: Optional[asyncio.AbstractEventLoop] = None
        self._app_loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None

    def initialize(self, driver: Any, plugin_manager: Any, settings: Any) -> "SocketModePlugin":
        super().initialize(driver, plugin_manager, settings)
        url = f"{settings.SCHEME}://{settings.MATTERMOST_URL}:{settings.MATTERMOST_PORT}{settings.MATTERMOST_API_PATH}"
        options = {"verify": settings.SSL_VERIFY, **self._app_options}
        self.app = App(url, settings.BOT_TOKEN, **options)
        # Everything the app's own handlers do not take goes to mmpy_bot's.
        self.app.fallback(self._dispatch)
        return self

    def on_start(self) -> "SocketModePlugin":
        # mmpy_bot runs its handlers on the loop of the thread that calls Bot.run() (its
        # websocket's, from asyncio.get_event_loop()); ours go there too, as its webhook
        # server's do.
        self._main_loop = _current_loop()
        # respond_to_web() puts (request_id, response) on driver.response_queue: take ours,
        # pass the rest on to the webhook server's queue, if the bot runs one too.
        self.driver.response_queue = _Responses(self, self.driver.response_queue)
        self._thread = threading.Thread(target=self._serve, name="socketmode-mmpy", daemon=True)
        self._thread.start()
        return super().on_start()

    def on_stop(self) -> "SocketModePlugin":
        loop, stop = self._app_loop, self._stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            assert self.app is not None
            self._thread.join(self.app.stop_timeout + 10)
        return super().on_stop()

    def _serve(self) -> None:
        assert self.app is not None
        app = self.app

        async def main() -> None:
            self._app_loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                await app.start()
                await self._stop.wait()
            except Exception:
                log.exception("the Socket Mode connection stopped")
            finally:
                await app.stop()

        asyncio.run(main())

    async def _dispatch(self, event: Event) -> Any:
        if event.name not in ("action", "dialog_submission"):
            log.info("no handler for the %s event %s (register one on socket_mode.app)", event.name, event.event_id)
            return None
        hook = webhook_id(event)
        functions = [
            f
            for matcher, fs in self.plugin_manager.webhook_listeners.items()
            if matcher.search(hook)
            for f in fs
        ]
        if not functions:
            log.info("no @listen_webhook handler matches %r (event %s)", hook, event.event_id)
            return None
        request_id = f"socketmode-{event.event_id}"
        cls = ActionEvent if "trigger_id" in event else WebHookEvent
        wrapped = cls(event, request_id=request_id, webhook_id=hook)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future = loop.create_future()
        with self._lock:
            self._pending[request_id] = (loop, answer)
        try:
            assert self._main_loop is not None
            asyncio.run_coroutine_threadsafe(_call_all(functions, wrapped), self._main_loop)
            response = await answer
        finally:
            with self._lock:
                self._pending.pop(request_id, None)
        return None if response is NoResponse else response

    def _resolve(self, request_id: Any, response: Any) -> bool:
        """Takes a response to one of our events; False for anybody else's."""
        with self._lock:
            waiting = self._pending.get(request_id)
        if waiting is None:
            return False
        loop, answer = waiting
        loop.call_soon_threadsafe(lambda: answer.done() or answer.set_result(response))
        return True


async def _call_all(functions: list, event: Any) -> None:
    # What mmpy_bot's EventHandler._handle_webhook does with a webhook's listeners.
    await asyncio.gather(*(f.plugin.call_function(f, event) for f in functions), return_exceptions=True)


class _Responses:
    """Stands in for ``driver.response_queue``: responses to our events answer them; the
    others go on to the queue that was there (a webhook server's), if any."""

    def __init__(self, plugin: SocketModePlugin, inner: Any):
        self._plugin = plugin
        self._inner = inner

    def put(self, item: Any, *args: Any, **kwargs: Any) -> None:
        request_id, response = item
        if self._plugin._resolve(request_id, response):
            return
        if self._inner is not None:
            self._inner.put(item, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if self._inner is None:
            raise AttributeError(name)
        return getattr(self._inner, name)


def _current_loop() -> asyncio.AbstractEventLoop:
    # The loop mmpy_bot's Driver.init_websocket will run (asyncio.get_event_loop() in this
    # thread); made and set here when there is none yet (Python 3.14 no longer makes one).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return asyncio.get_event_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            return loop
