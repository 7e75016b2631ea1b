"""The App: handlers by what happened, and the plugin's protocol done for the bot."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional, TypeVar

import httpx
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from . import answers, messages, protocol, rest
from .backoff import Backoff
from .connection import Connection
from .events import Event
from .once import Record, Seen
from .rest import ApiError, Request
from .routes import Name, Route, Router, is_async

log = logging.getLogger("mattermost_socket_mode")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Command:
    """A slash command the app registers with the plugin when it starts."""

    trigger: str
    description: str = ""
    hint: str = ""
    display_name: str = ""
    autocomplete: bool = True
    #: The plugin's record once registered (``{"trigger", ...}``), else None.
    registered: Optional[dict] = None
    #: Why registering failed (``command_taken``, ...), else None.
    error: Optional[ApiError] = None

    def body(self) -> dict:
        """What ``POST /api/v1/commands`` takes."""
        b: dict[str, Any] = {"trigger": self.trigger, "autocomplete": self.autocomplete}
        for key in ("description", "hint", "display_name"):
            if getattr(self, key):
                b[key] = getattr(self, key)
        return b


def _trigger(trigger: str) -> str:
    # As Mattermost matches it: "/Release" is "release".
    return trigger.strip().lstrip("/").lower()


def _event_data(event: Any) -> dict:
    # An Event, its raw data, or an object that carries it as `body` (mmpy_bot's ActionEvent).
    body = getattr(event, "body", event)
    if not isinstance(body, dict):
        raise TypeError("give the event a handler received")
    return body


class App:
    """A Socket Mode bot.

    ``url``: the Mattermost server (``https://chat.example.com``); ``token``: the bot's access
    token. ``expand``: what every event should carry besides its own fields
    (``{"acting_user": "summary", "post": "all", "locale": True}``; README "Expanded context").

    Options, all with defaults that suit most bots: ``workers`` (threads for ``def`` handlers),
    ``remember`` (event ids kept to drop repeats), ``quick_ack`` (the Nagle remedy),
    ``stop_timeout`` (seconds :meth:`stop` waits for running handlers), ``timeout`` (REST calls),
    ``verify`` (TLS verification, as httpx takes it), ``plugin_id``.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        expand: Optional[dict] = None,
        workers: Optional[int] = None,
        remember: int = 10_000,
        quick_ack: bool = True,
        stop_timeout: float = 10.0,
        timeout: float = 30.0,
        verify: Any = True,
        plugin_id: str = protocol.PLUGIN_ID,
        backoff: Optional[Backoff] = None,
    ):
        self.url = url.rstrip("/")
        self.token = token
        self.expand = expand
        self.plugin_id = plugin_id
        self.quick_ack = quick_ack
        self.stop_timeout = stop_timeout
        self.backoff = backoff or Backoff()
        self._verify = verify
        self._client_options = rest.client_options(self.url, token, timeout, verify)
        #: The sync REST client (httpx), authenticated as the bot: any Mattermost API call,
        #: e.g. ``app.http.put(f"/api/v4/posts/{id}/patch", json={...})``.
        self.http = httpx.Client(**self._client_options)
        self._ahttp: Optional[httpx.AsyncClient] = None
        self._router = Router()
        #: The slash commands :meth:`command` registered, by trigger.
        self.commands: dict[str, Command] = {}
        self._ready_hooks: list[Callable[[], Any]] = []
        self._seen = Seen(remember)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="socketmode")
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._conn: Optional[Connection] = None
        self._tasks: set[asyncio.Task] = set()
        self._main: Optional[asyncio.Task] = None
        self._ready: Optional[asyncio.Future] = None
        self._subscribed_once = False
        self._stopping = False
        #: The bot's own user (``GET /api/v4/users/me``) and id, once started (or first needed).
        self.bot: Optional[dict] = None
        self.bot_id: Optional[str] = None

    # ------------------------------------------------------------------------------------
    # Handlers

    def action(self, action_id: Optional[Name] = None, *, context: Optional[dict] = None) -> Callable[[F], F]:
        """A click on a button or a menu choice: by ``action_id`` (``context.action_id``, as
        :func:`button`/:func:`menu` set it), and/or by equal ``context`` keys
        (``context={"action": "approve"}`` for buttons posted by hand)."""
        return self._add(lambda h: Route("action", h, name=action_id, context=context))

    def menu(self, action_id: Optional[Name] = None, *, context: Optional[dict] = None) -> Callable[[F], F]:
        """A menu choice (``event.selected_option`` is the chosen value); like :meth:`action`."""
        return self._add(lambda h: Route("action", h, name=action_id, context=context, menu=True))

    def dialog(self, callback_id: Optional[Name] = None) -> Callable[[F], F]:
        """A dialog submission, or its cancellation (``event.cancelled``), by ``callback_id``.
        Answer ``{"errors": {field: text}}``, ``{"error": text}``, a next form, or None (closes)."""
        return self._add(lambda h: Route("dialog_submission", h, name=callback_id))

    def lookup(self, callback_id: Optional[Name] = None, field: Optional[Name] = None) -> Callable[[F], F]:
        """A dynamic select's lookup (``event.query``, ``event.selected_field``); answer the
        items: ``[{"text", "value"}, ...]``, plain strings, or ``{"items": [...]}``."""
        return self._add(lambda h: Route("dialog_lookup", h, name=callback_id, field=field))

    def refresh(self, callback_id: Optional[Name] = None) -> Callable[[F], F]:
        """A dialog field marked ``refresh`` changed; answer the new form (a dialog definition),
        or None to leave it."""
        return self._add(lambda h: Route("dialog_refresh", h, name=callback_id))

    def command(
        self,
        trigger: str,
        *,
        description: str = "",
        hint: str = "",
        display_name: str = "",
        autocomplete: bool = True,
    ) -> Callable[[F], F]:
        """A slash command, registered with the plugin when the app starts (``/trigger text``:
        ``event.text``). Answer a ``str`` (shown to the person alone), or a command response
        (``{"response_type": "in_channel", "text": ...}``: posted as the bot)."""
        t = _trigger(trigger)
        self.commands[t] = Command(t, description, hint, display_name, autocomplete)
        return self._add(lambda h: Route("command", h, name=t))

    def fallback(self, handler: F) -> F:
        """Every plugin event no other handler took (its answer is the ack's)."""
        self._router.fallback = handler
        return handler

    def event(self, name: str = "") -> Callable[[F], F]:
        """Mattermost's own websocket events (``posted``, ``user_added``...) and the plugin's
        notices (``custom_<id>_subscribed``...), by name; every one without a name. Their
        return value is ignored (nothing is acknowledged)."""

        def register(handler: F) -> F:
            self._router.listeners.append((name, handler))
            return handler

        return register

    def on_ready(self, handler: F) -> F:
        """Runs once, after the first subscription is taken and the commands registered: post
        your first message here (clicks on it will reach the bot)."""
        self._ready_hooks.append(handler)
        return handler

    def _add(self, make: Callable[[Callable], Route]) -> Callable[[F], F]:
        def register(handler: F) -> F:
            self._router.add(make(handler))
            return handler

        return register

    # ------------------------------------------------------------------------------------
    # Running

    def run(self) -> None:
        """Runs the bot until SIGINT or SIGTERM (Ctrl-C), then stops it cleanly."""
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError, ValueError):  # Windows, not the main thread
                pass
        stopping = loop.create_task(stop.wait())
        starting = loop.create_task(self.start())
        try:
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()  # a bad token: raise
                assert self._main is not None
                await asyncio.wait({self._main, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            starting.cancel()
            stopping.cancel()
            await self.stop()

    async def start(self) -> None:
        """Connects, subscribes, registers the commands and runs the ``on_ready`` hooks; returns
        then (the bot keeps running in the background until :meth:`stop`). Raises
        :class:`ApiError` when the token is refused."""
        if self._main is not None:
            raise RuntimeError("the app is running already")
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        while True:  # the token is checked first: a refused one raises, an unreachable server is retried
            try:
                await self._whoami()
                break
            except httpx.TransportError as e:
                delay = self.backoff.next()
                log.warning("Mattermost unreachable (%s): trying again in %.1f s", e, delay)
                await asyncio.sleep(delay)
        self._ready = self._loop.create_future()
        self._main = self._loop.create_task(self._connect_forever())
        await asyncio.wait({self._ready, self._main}, return_when=asyncio.FIRST_COMPLETED)
        if not self._ready.done():
            self._main.result()  # the connection loop ended: raise why
            raise RuntimeError("the app stopped before it subscribed")

    async def stop(self) -> None:
        """Stops cleanly: takes no more events (the plugin keeps them for the next
        subscription), finishes the running handlers and their acks (up to ``stop_timeout``
        seconds), then closes the connection."""
        self._stopping = True
        conn = self._conn
        if conn is not None and conn.is_open:
            try:  # new events go to another replica, or are kept, right away
                await conn.send("unsubscribe", {})
            except (ConnectionClosed, OSError):
                pass
        # Running handlers, and the acks they spawn (an early ack() is a task of its own).
        deadline = asyncio.get_running_loop().time() + self.stop_timeout
        while self._tasks:
            left = deadline - asyncio.get_running_loop().time()
            _, late = await asyncio.wait(set(self._tasks), timeout=max(left, 0))
            if late and left <= 0:
                log.warning("%d handlers still running at stop: their events will be sent again", len(late))
                for t in late:
                    t.cancel()
                break
        conn = self._conn or conn
        if self._main is not None:
            self._main.cancel()
            try:
                await self._main
            except (asyncio.CancelledError, Exception):
                pass
            self._main = None
        if conn is not None:
            await conn.close()
        self._conn = None
        if self._ahttp is not None:
            await self._ahttp.aclose()
            self._ahttp = None
        self._executor.shutdown(wait=False)
        self._executor = ThreadPoolExecutor(thread_name_prefix="socketmode")

    async def __aenter__(self) -> "App":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    async def _connect_forever(self) -> None:
        while not self._stopping:
            try:
                conn = await Connection.open(
                    self.url, self.token, self.plugin_id, quick_ack=self.quick_ack, ssl=self._ssl()
                )
            except InvalidStatus as e:
                status = e.response.status_code
                if status in (401, 403):
                    log.error("Mattermost refused the bot's token on the websocket (HTTP %d)", status)
                else:
                    log.warning("websocket refused (HTTP %d)", status)
            except (OSError, asyncio.TimeoutError, WebSocketException) as e:
                log.warning("websocket connection failed: %s", e)
            else:
                self._conn = conn
                try:
                    await self._read(conn)
                    if not self._stopping:
                        log.warning("websocket closed by the server")
                except ConnectionClosed as e:
                    log.warning("websocket connection lost: %s", e)
                except (OSError, asyncio.TimeoutError) as e:
                    log.warning("websocket connection lost: %s", e)
                finally:
                    self._conn = None
            if self._stopping:
                return
            delay = self.backoff.next()
            log.info("reconnecting in %.1f s", delay)
            await asyncio.sleep(delay)

    def _ssl(self) -> Any:
        # httpx's `verify` may be False, a path or an SSLContext; websockets takes a context.
        if self._verify is True:
            return None
        import ssl

        if self._verify is False:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        if isinstance(self._verify, ssl.SSLContext):
            return self._verify
        return ssl.create_default_context(cafile=self._verify)

    async def _read(self, conn: Connection) -> None:
        p = protocol.prefix(self.plugin_id)
        async for raw in conn.frames():
            name, data = protocol.parse(raw)
            if not name:
                continue
            log.debug("received %s", name)
            kind = name[len(p):] if name.startswith(p) else None
            if name == "hello" or kind == "resubscribe":
                # Every new connection, and every plugin (re)start, needs a subscription.
                await conn.send("subscribe", protocol.subscribe_data(self.expand))
            elif kind == "subscribed":
                self.backoff.reset()
                log.info("subscribed (connection %s, %s kept events)", data.get("connection_id"), data.get("kept"))
                if not self._subscribed_once:
                    self._subscribed_once = True
                    self._spawn(self._first_subscription())
            elif kind == "error":
                err = data.get("error") or {}
                log.error("the plugin refused %s (event %s): %s: %s", data.get("action"),
                          data.get("event_id", "-"), err.get("code"), err.get("message"))
            if kind in protocol.DELIVERED:
                self._deliver(kind, data if isinstance(data, dict) else {})
            else:
                for handler in self._router.listeners_for(name):
                    self._spawn(self._listen(handler, Event(name, data if isinstance(data, dict) else {"data": data})))

    async def _first_subscription(self) -> None:
        try:
            for cmd in list(self.commands.values()):
                await self._register(cmd)
            for hook in self._ready_hooks:
                try:
                    await self._call(hook)
                except Exception:
                    log.exception("on_ready hook %s failed", getattr(hook, "__name__", hook))
        finally:
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(None)

    async def _register(self, cmd: Command) -> None:
        try:
            answer = await self._acall(Request("POST", protocol.api_path(self.plugin_id, "commands"), cmd.body()))
            cmd.registered, cmd.error = (answer or {}).get("command", answer), None
            log.info("command /%s registered", cmd.trigger)
        except ApiError as e:
            cmd.error = e
            log.error("command /%s not registered: %s", cmd.trigger, e)
        except httpx.HTTPError as e:
            cmd.error = ApiError(0, "unreachable", str(e))
            log.error("command /%s not registered: %s", cmd.trigger, e)

    # ------------------------------------------------------------------------------------
    # Delivery: once per event id, acknowledged every time

    def _deliver(self, kind: str, data: dict) -> None:
        proxy = data.get("proxy") if isinstance(data.get("proxy"), dict) else {}
        event_id = proxy.get("event_id")
        if not isinstance(event_id, str):
            log.warning("a %s event without proxy.event_id: ignored", kind)
            return
        must_ack = isinstance(proxy.get("delivery"), dict)
        if self._stopping:
            log.debug("%s %s not taken: stopping", kind, event_id)
            return  # not taken: unacknowledged, the plugin sends it again later
        rec = self._seen.get(event_id)
        if rec is not None:
            log.debug("%s %s again (%s)", kind, event_id, "answered" if rec.done else "running")
            # A repeat: acknowledged again with the first answer; while the first is still
            # running, its own ack will answer this attempt too.
            if rec.done and must_ack:
                self._spawn(self._send_ack(event_id, rec.answer))
            return
        rec = self._seen.add(event_id)
        self._spawn(self._handle(Event(kind, data), rec, must_ack))

    async def _handle(self, event: Event, rec: Record, must_ack: bool) -> None:
        loop = asyncio.get_running_loop()
        event_id = event.proxy.event_id
        if must_ack:
            def early(answer: Any) -> None:  # Event.ack(), from any thread
                norm = self._normalize(event, answer)
                rec.finish(norm)
                loop.call_soon_threadsafe(lambda: self._spawn(self._send_ack(event_id, norm)))

            event._ack = early
        handler = self._router.find(event)
        log.debug("handling %s %s", event.name, _describe(event))
        result: Any = None
        try:
            if handler is None:
                log.info("no handler for %s %s: acknowledged without an answer", event.name, _describe(event))
            else:
                result = await self._call(handler, event)
        except Exception:
            log.exception("the %s handler for %s failed: acknowledged without an answer", event.name, _describe(event))
            result = None
        with event._lock:
            acked_early = event._acked
            event._acked = True  # a later ack() is a mistake, logged
        if acked_early:
            if result is not None:
                log.warning("the %s handler called ack() and returned an answer: the answer is ignored", event.name)
            return
        answer = self._normalize(event, result)
        rec.finish(answer)
        if must_ack:
            await self._send_ack(event_id, answer)

    def _normalize(self, event: Event, answer: Any) -> Any:
        try:
            return answers.normalize(event.name, answer)
        except answers.AnswerError as e:
            log.error("%s: acknowledged without an answer", e)
            return None

    async def _send_ack(self, event_id: str, answer: Any) -> None:
        data = protocol.ack_data(event_id, answer)
        log.debug("acknowledging %s", event_id)
        conn = self._conn
        if conn is not None and conn.is_open:
            try:
                await conn.send("ack", data)
                return
            except (ConnectionClosed, OSError):
                pass
        # The socket is down: the same ack over REST, so the person is not kept waiting.
        try:
            await self._acall(Request("POST", protocol.api_path(self.plugin_id, "ack"), data))
        except ApiError as e:
            log.error("ack of %s refused: %s", event_id, e)
        except httpx.HTTPError as e:
            log.warning("ack of %s not sent (%s): the plugin will send the event again", event_id, e)

    async def _listen(self, handler: Callable, event: Event) -> None:
        try:
            await self._call(handler, event)
        except Exception:
            log.exception("the handler of %s failed", event.name)

    async def _call(self, fn: Callable, *args: Any) -> Any:
        # async def on the loop; def in the thread pool, so a slow one blocks nobody.
        if is_async(fn):
            return await fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: fn(*args))

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------------------------
    # What a bot does next: each helper in a sync form (def handlers, scripts) and an
    # async one, prefixed a (async def handlers), built from one description of the call.

    def _client(self) -> httpx.Client:
        if self._loop is not None and self._loop.is_running() and _on_thread_of(self._loop):
            _warn_blocking()
        return self.http

    def _acall(self, req: Request) -> Awaitable[Any]:
        if self._ahttp is None:
            self._ahttp = httpx.AsyncClient(**self._client_options)
        return rest.acall(self._ahttp, req)

    def _whoami_sync(self) -> str:
        if self.bot_id is None:
            self._set_bot(rest.call(self._client(), Request("GET", "/api/v4/users/me")))
        assert self.bot_id is not None
        return self.bot_id

    async def _whoami(self) -> str:
        if self.bot_id is None:
            self._set_bot(await self._acall(Request("GET", "/api/v4/users/me")))
        assert self.bot_id is not None
        return self.bot_id

    def _set_bot(self, me: Any) -> None:
        if not isinstance(me, dict) or not isinstance(me.get("id"), str):
            raise ApiError(0, "bad_answer", f"GET /api/v4/users/me answered {me!r}")
        self.bot, self.bot_id = me, me["id"]

    def _open_dialog(self, event: Any, dialog: dict) -> Request:
        data = _event_data(event)
        trigger_id = data.get("trigger_id")
        if not trigger_id:
            raise ValueError("this event has no trigger_id (only clicks and commands open dialogs)")
        body: dict[str, Any] = {"trigger_id": trigger_id, "dialog": dialog}
        proxy = data.get("proxy")
        if isinstance(proxy, dict) and proxy.get("trigger_token"):
            body["trigger_token"] = proxy["trigger_token"]  # opens it on any cluster node
        return Request("POST", protocol.api_path(self.plugin_id, "dialogs/open"), body)

    def open_dialog(self, event: Any, dialog: dict) -> dict:
        """Opens ``dialog`` (Mattermost's dialog definition, no ``url``) for the person who
        clicked or typed the command; its submission, lookups and refreshes come to this bot.
        Returns ``{"session_id", "expires_at"}``. Do it at once: the trigger expires in seconds."""
        return rest.call(self._client(), self._open_dialog(event, dialog))

    async def aopen_dialog(self, event: Any, dialog: dict) -> dict:
        """:meth:`open_dialog` for ``async def`` handlers."""
        return await self._acall(self._open_dialog(event, dialog))

    def _ephemeral(self, bot_id: str, user_id: str, channel_id: str, message: str,
                   props: Optional[dict], root_id: Optional[str]) -> Request:
        body: dict[str, Any] = {"user_id": user_id, "channel_id": channel_id, "message": message}
        if props:
            body["props"] = messages.fill(props, self.plugin_id, bot_id)
        if root_id:
            body["root_id"] = root_id
        return Request("POST", protocol.api_path(self.plugin_id, "ephemeral"), body)

    def send_ephemeral(self, user_id: str, channel_id: str, message: str, *, props: Optional[dict] = None,
                       actions: Optional[list] = None, root_id: Optional[str] = None) -> dict:
        """Shows ``message`` to one person in a channel, with buttons whose clicks the plugin
        verifies (``actions``, or ``props`` with attachments). Returns ``{"post_id"}``."""
        p = messages.props_of(actions, None, props)
        return rest.call(self._client(), self._ephemeral(self._whoami_sync(), user_id, channel_id, message, p, root_id))

    async def asend_ephemeral(self, user_id: str, channel_id: str, message: str, *, props: Optional[dict] = None,
                              actions: Optional[list] = None, root_id: Optional[str] = None) -> dict:
        """:meth:`send_ephemeral` for ``async def`` handlers."""
        p = messages.props_of(actions, None, props)
        return await self._acall(self._ephemeral(await self._whoami(), user_id, channel_id, message, p, root_id))

    def _post(self, bot_id: str, channel_id: str, message: str, props: dict, root_id: Optional[str]) -> Request:
        body: dict[str, Any] = {"channel_id": channel_id, "message": message,
                                "props": messages.fill(props, self.plugin_id, bot_id)}
        if root_id:
            body["root_id"] = root_id
        return Request("POST", "/api/v4/posts", body)

    def post(self, channel_id: str, message: str, *, actions: Optional[list] = None,
             attachments: Optional[list] = None, props: Optional[dict] = None,
             root_id: Optional[str] = None) -> dict:
        """Posts ``message`` as the bot, every action pointed at the plugin for this bot
        (``actions`` become one attachment; or give ``attachments`` / ``props``). Returns the
        post (``["id"]``)."""
        p = messages.props_of(actions, attachments, props)
        return rest.call(self._client(), self._post(self._whoami_sync(), channel_id, message, p, root_id))

    async def apost(self, channel_id: str, message: str, *, actions: Optional[list] = None,
                    attachments: Optional[list] = None, props: Optional[dict] = None,
                    root_id: Optional[str] = None) -> dict:
        """:meth:`post` for ``async def`` handlers."""
        p = messages.props_of(actions, attachments, props)
        return await self._acall(self._post(await self._whoami(), channel_id, message, p, root_id))

    def _lint(self, bot_id: str, props: dict) -> Request:
        body = {"props": messages.fill(props, self.plugin_id, bot_id), "bot_user_id": bot_id}
        return Request("POST", protocol.api_path(self.plugin_id, "lint"), body)

    def lint(self, *, actions: Optional[list] = None, attachments: Optional[list] = None,
             props: Optional[dict] = None) -> dict:
        """What the plugin finds wrong with a message's buttons, posted as :meth:`post` would
        post them: ``{"findings": [{"path", "severity", "code", ...}], "previews": [...]}``."""
        p = messages.props_of(actions, attachments, props)
        return rest.call(self._client(), self._lint(self._whoami_sync(), p))

    async def alint(self, *, actions: Optional[list] = None, attachments: Optional[list] = None,
                    props: Optional[dict] = None) -> dict:
        """:meth:`lint` for ``async def`` handlers."""
        p = messages.props_of(actions, attachments, props)
        return await self._acall(self._lint(await self._whoami(), p))

    def _remove(self, trigger: str) -> Request:
        t = _trigger(trigger)
        self.commands.pop(t, None)
        return Request("DELETE", protocol.api_path(self.plugin_id, f"commands/{t}"))

    def remove_command(self, trigger: str) -> None:
        """Unregisters a slash command of this bot (and stops registering it on start)."""
        rest.call(self._client(), self._remove(trigger))

    async def aremove_command(self, trigger: str) -> None:
        """:meth:`remove_command` for ``async def`` handlers."""
        await self._acall(self._remove(trigger))

    def status(self) -> dict:
        """The plugin's view of this bot: its subscriptions and kept events."""
        return rest.call(self._client(), Request("GET", protocol.api_path(self.plugin_id, "status")))

    async def astatus(self) -> dict:
        """:meth:`status` for ``async def`` handlers."""
        return await self._acall(Request("GET", protocol.api_path(self.plugin_id, "status")))


def _describe(event: Event) -> str:
    for key in ("action_id", "callback_id", "trigger"):
        value = getattr(event, key)
        if value:
            return f"{value!r} ({event.event_id})"
    return str(event.event_id)


def _on_thread_of(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


_warned = threading.Event()


def _warn_blocking() -> None:
    if not _warned.is_set():
        _warned.set()
        log.warning("a sync helper was called on the event loop (an async def handler): it blocks "
                    "every other event while it waits; use its a-prefixed form (await app.apost(...))")
