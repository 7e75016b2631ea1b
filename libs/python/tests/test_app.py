"""The App against a fake server: subscribing, handlers, acks, repeats, REST fallback, reconnect,
clean shutdown."""

from __future__ import annotations

import asyncio
import json
import re
import threading

from fake import BOT_ID, P, FakeMattermost, click, event_id, run, with_proxy
from mattermost_socket_mode import App, Backoff, button
from mattermost_socket_mode.protocol import PLUGIN_ID

EXPAND = {"acting_user": "summary", "locale": True}


async def started(mm: FakeMattermost, app: App) -> None:
    await app.start()
    _, sub = await mm.next("subscribe")
    assert sub["data"]["protocol"] == 1


def test_subscribes_on_hello_and_on_resubscribe_with_expansions():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app(expand=EXPAND)
            await app.start()
            _, sub = await mm.next("subscribe")
            assert sub["data"] == {"protocol": 1, "expand": EXPAND}
            assert sub["seq"] >= 1
            assert mm.headers[0].get("Authorization") == "Bearer the-bots-token"
            await mm.send(P + "resubscribe", {"reason": "the plugin started"})
            _, again = await mm.next("subscribe")
            assert again["data"] == {"protocol": 1, "expand": EXPAND}
            assert again["seq"] > sub["seq"]
            await app.stop()

    run(scenario())


def test_start_registers_commands_and_runs_on_ready_once_and_reconnects_with_a_new_subscription():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()
            ready = []

            @app.command("/Release", description="Release status", hint="[status]")
            def release(event):
                return "ok"

            @app.on_ready
            def hello():
                ready.append(app.bot_id)

            await app.start()
            assert ready == [BOT_ID]  # start() returns after the hooks
            posted = [r for r in mm.rest if r[1].endswith("/commands")]
            assert posted == [("POST", f"/plugins/{PLUGIN_ID}/api/v1/commands",
                               {"trigger": "release", "autocomplete": True, "description": "Release status", "hint": "[status]"})]
            assert app.commands["release"].registered["trigger"] == "release"
            await mm.next("subscribe")
            # The server drops the connection: the app connects again and subscribes again,
            # without registering again or running on_ready again.
            await mm.conns[0].close()
            index, _ = await mm.next("subscribe")
            assert index == 1
            await asyncio.sleep(0.1)
            assert ready == [BOT_ID]
            assert len([r for r in mm.rest if r[1].endswith("/commands")]) == 1
            await app.stop()

    run(scenario())


def test_a_refused_command_is_recorded_and_the_bot_runs_on():
    async def scenario():
        async with FakeMattermost() as mm:
            import httpx

            mm.rest_answers[("POST", f"/plugins/{PLUGIN_ID}/api/v1/commands")] = lambda b: httpx.Response(
                409, json={"error": {"code": "command_taken", "message": "another bot has /echo"}})
            app = mm.app()
            app.command("echo")(lambda e: None)
            await app.start()
            err = app.commands["echo"].error
            assert err.code == "command_taken" and err.status == 409
            assert app.commands["echo"].registered is None
            await app.stop()

    run(scenario())


def test_a_click_is_answered_in_its_ack_by_action_id_and_by_context():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()

            @app.action("approve")
            def approve(event):
                return {"update": {"message": f"Approved by @{event.user_name}"}}

            @app.action(context={"action": "reject"})
            async def reject(event):
                return "You rejected it."  # a str: the clicker's ephemeral text

            await started(mm, app)
            await mm.deliver("action", click(1, "approve"))
            _, ack = await mm.next("ack")
            assert ack["data"] == {"event_id": event_id(1), "answer": {"update": {"message": "Approved by @alice"}}}
            await mm.deliver("action", click(2, action_id="", action="reject"))
            _, ack = await mm.next("ack")
            assert ack["data"] == {"event_id": event_id(2), "answer": {"ephemeral_text": "You rejected it."}}
            await app.stop()

    run(scenario())


def test_menus_dialogs_lookups_refreshes_and_commands_reach_their_handlers():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()
            seen = []

            @app.menu("region")
            def region(event):
                seen.append(("menu", event.selected_option))
                return {"update": {"message": f"Region: {event.selected_option}"}}

            @app.action("region")
            def region_button(event):  # the same id without a choice: a button
                seen.append(("button", None))

            @app.dialog("approve")
            def submitted(event):
                seen.append(("dialog", event.submission.get("reason"), event.cancelled))
                return {"errors": {"reason": "No releases on Fridays."}}

            @app.lookup("approve", field="approver")
            async def approvers(event):
                seen.append(("lookup", event.query))
                return ["carol", {"text": "Dave", "value": "dave"}]

            @app.lookup(re.compile("^appr"))
            def other_field(event):
                seen.append(("other lookup", event.selected_field))
                return {"items": []}

            @app.refresh("approve")
            def refresh(event):
                return {"title": "Approve", "elements": [{"name": "reason", "type": "text"}]}

            @app.command("release")
            def release(event):
                seen.append(("command", event.text))
                return {"response_type": "in_channel", "text": f"@{event.user_name} asked for {event.text}."}

            await started(mm, app)
            dialog = {"callback_id": "approve", "state": "s", "submission": {"reason": "friday"},
                      "user_id": "u" * 26, "user_name": "alice", "channel_id": "c" * 26, "team_id": "t" * 26,
                      "cancelled": False}
            lookup = {"callback_id": "approve", "state": "s", "selected_field": "approver", "query": "ca",
                      "submission": {}, "user_id": "u" * 26, "channel_id": "c" * 26, "team_id": "t" * 26}
            command = {"command": "/release 1.4.3", "trigger": "release", "text": "1.4.3", "user_id": "u" * 26,
                       "user_name": "alice", "channel_id": "c" * 26, "team_id": "t" * 26, "root_id": "",
                       "trigger_id": "trig"}
            cases = [
                ("action", click(1, "region", selected_option="eu"), {"update": {"message": "Region: eu"}}),
                ("action", click(2, "region"), None),
                ("dialog_submission", with_proxy(3, dialog), {"errors": {"reason": "No releases on Fridays."}}),
                ("dialog_lookup", with_proxy(4, lookup),
                 {"items": [{"text": "carol", "value": "carol"}, {"text": "Dave", "value": "dave"}]}),
                ("dialog_lookup", with_proxy(5, {**lookup, "selected_field": "other"}), {"items": []}),
                ("dialog_refresh", with_proxy(6, dialog),
                 {"type": "form", "form": {"title": "Approve", "elements": [{"name": "reason", "type": "text"}]}}),
                ("command", with_proxy(7, command), {"response_type": "in_channel", "text": "@alice asked for 1.4.3."}),
            ]
            for n, (kind, data, want) in enumerate(cases, 1):
                await mm.deliver(kind, data)
                _, ack = await mm.next("ack")
                expected = {"event_id": event_id(n)}
                if want is not None:
                    expected["answer"] = want
                assert ack["data"] == expected, kind
            assert seen == [("menu", "eu"), ("button", None), ("dialog", "friday", False), ("lookup", "ca"),
                            ("other lookup", "other"), ("command", "1.4.3")]
            await app.stop()

    run(scenario())


def test_each_event_is_handled_once_and_every_repeat_is_acknowledged_with_the_first_answer():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()
            calls = []
            release = threading.Event()

            @app.action("approve")
            def approve(event):
                calls.append(event.proxy.delivery.attempt)
                release.wait(5)
                return {"ephemeral_text": f"answer {len(calls)}"}

            await started(mm, app)
            await mm.deliver("action", click(1))
            await mm.deliver("action", click(1, attempt=2))  # while the first runs: no second run
            await mm.nothing("ack", 0.3)
            release.set()
            _, first = await mm.next("ack")
            assert first["data"] == {"event_id": event_id(1), "answer": {"ephemeral_text": "answer 1"}}
            await mm.nothing("ack", 0.2)  # the running handler's ack answered both attempts
            await mm.deliver("action", click(1, attempt=3))  # after: acked again, same answer
            _, again = await mm.next("ack")
            assert again["data"] == first["data"]
            assert calls == [1]
            await app.stop()

    run(scenario())


def test_a_failing_handler_is_acknowledged_without_an_answer_and_the_loop_goes_on():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()

            @app.action("boom")
            async def boom(event):
                raise RuntimeError("the handler broke")

            @app.action("fine")
            def fine(event):
                return 42  # no answer: logged, acknowledged without one

            @app.action("ok")
            def ok(event):
                return "fine"

            await started(mm, app)
            for n, action in enumerate(("boom", "fine", "ok"), 1):
                await mm.deliver("action", click(n, action))
            acks = {}
            for _ in range(3):
                _, ack = await mm.next("ack")
                acks[ack["data"]["event_id"]] = ack["data"]
            assert acks[event_id(1)] == {"event_id": event_id(1)}
            assert acks[event_id(2)] == {"event_id": event_id(2)}
            assert acks[event_id(3)] == {"event_id": event_id(3), "answer": {"ephemeral_text": "fine"}}
            await app.stop()

    run(scenario())


def test_sync_handlers_run_in_threads_async_ones_on_the_loop():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()
            where = {}

            @app.action("sync")
            def sync(event):
                where["sync"] = threading.current_thread().name

            @app.action("async")
            async def aio(event):
                where["async"] = threading.current_thread().name

            await started(mm, app)
            await mm.deliver("action", click(1, "sync"))
            await mm.deliver("action", click(2, "async"))
            await mm.next("ack")
            await mm.next("ack")
            assert where["sync"].startswith("socketmode")
            assert where["async"] == threading.main_thread().name
            await app.stop()

    run(scenario())


def test_ack_early_answers_at_once_and_the_return_value_is_ignored():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()
            go_on = threading.Event()

            @app.action("slow")
            def slow(event):
                event.ack("Working on it.")
                go_on.wait(5)  # the slow part, after the person has their answer
                event.ack("twice")  # ignored, logged
                return {"ephemeral_text": "ignored"}

            await started(mm, app)
            await mm.deliver("action", click(1, "slow"))
            _, ack = await mm.next("ack")  # while the handler still runs
            assert ack["data"] == {"event_id": event_id(1), "answer": {"ephemeral_text": "Working on it."}}
            go_on.set()
            await mm.nothing("ack", 0.3)
            await mm.deliver("action", click(1, "slow", attempt=2))
            _, again = await mm.next("ack")
            assert again["data"] == ack["data"]
            await app.stop()

    run(scenario())


def test_events_without_delivery_are_handled_but_not_acknowledged():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()
            got = []
            app.action("approve")(lambda e: got.append(e.event_id) or "x")
            await started(mm, app)
            await mm.deliver("action", click(1, delivery=False))
            await mm.nothing("ack", 0.3)
            assert got == [event_id(1)]
            await app.stop()

    run(scenario())


def test_unmatched_events_go_to_the_fallback_or_are_acknowledged_without_an_answer():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()
            await started(mm, app)
            await mm.deliver("action", click(1, "nobody"))
            _, ack = await mm.next("ack")
            assert ack["data"] == {"event_id": event_id(1)}
            app.fallback(lambda e: f"fallback {e.action_id}")
            await mm.deliver("action", click(2, "nobody"))
            _, ack = await mm.next("ack")
            assert ack["data"]["answer"] == {"ephemeral_text": "fallback nobody"}
            await app.stop()

    run(scenario())


def test_websocket_events_reach_event_listeners():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()
            got = []
            app.event("posted")(lambda e: got.append(("posted", e["post"])))

            @app.event()
            async def every(e):
                got.append(("any", e.name))

            await started(mm, app)
            await mm.send("posted", {"post": "{}"})
            for _ in range(100):
                if ("posted", "{}") in got and ("any", "posted") in got:
                    break
                await asyncio.sleep(0.02)
            assert ("posted", "{}") in got and ("any", "posted") in got
            assert ("any", "hello") in got and ("any", P + "subscribed") in got
            assert len([g for g in got if g[0] == "posted"]) == 1
            await app.stop()

    run(scenario())


def test_the_ack_goes_over_rest_when_the_socket_is_down():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app(backoff=Backoff(base=30, cap=30))  # stays down for the test
            release = threading.Event()

            @app.action("approve")
            def approve(event):
                release.wait(5)
                return "done"

            await started(mm, app)
            await mm.deliver("action", click(1))
            await asyncio.sleep(0.1)
            await mm.conns[0].close()
            await asyncio.sleep(0.1)
            release.set()
            method, path, body = await asyncio.wait_for(_rest_call(mm, "/ack"), 5)
            assert (method, path) == ("POST", f"/plugins/{PLUGIN_ID}/api/v1/ack")
            assert body == {"event_id": event_id(1), "answer": {"ephemeral_text": "done"}}
            await app.stop()

    run(scenario())


async def _rest_call(mm: FakeMattermost, suffix: str):
    while True:
        call = await mm.rest_seen.get()
        if call[1].endswith(suffix):
            return call


def test_stop_unsubscribes_finishes_running_handlers_and_their_acks_and_takes_no_new_events():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()
            started_handling = threading.Event()
            handled = []

            @app.action("approve")
            def approve(event):
                started_handling.set()
                import time

                time.sleep(0.3)
                handled.append(event.event_id)
                return "done"

            await started(mm, app)
            await mm.deliver("action", click(1))
            await asyncio.get_running_loop().run_in_executor(None, started_handling.wait, 5)
            stopping = asyncio.ensure_future(app.stop())
            _, unsub = await mm.next()
            assert unsub["action"] == P + "unsubscribe"
            await mm.deliver("action", click(2))  # after stop began: left for the plugin to keep
            _, ack = await mm.next("ack")
            assert ack["data"] == {"event_id": event_id(1), "answer": {"ephemeral_text": "done"}}
            await stopping
            assert handled == [event_id(1)]
            assert mm.received.empty()

    run(scenario())


def test_run_stops_cleanly_on_sigterm():
    import os
    import signal

    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()

            @app.on_ready
            def ready():
                os.kill(os.getpid(), signal.SIGTERM)

            await app._serve()  # what run() runs: returns once stopped
            kinds = []
            while not mm.received.empty():
                kinds.append((await mm.received.get())[1]["action"])
            assert kinds == [P + "subscribe", P + "unsubscribe"]

    run(scenario())


def test_a_refused_token_fails_start():
    async def scenario():
        async with FakeMattermost() as mm:
            import httpx

            from mattermost_socket_mode import ApiError

            mm.rest_answers[("GET", "/api/v4/users/me")] = lambda _: httpx.Response(
                401, json={"id": "api.context.session_expired.app_error", "message": "Invalid or expired session"})
            app = mm.app()
            try:
                await app.start()
            except ApiError as e:
                assert e.status == 401 and e.code == "api.context.session_expired.app_error"
            else:
                raise AssertionError("start() accepted a refused token")
            await app.stop()

    run(scenario())


def test_helpers_send_what_the_plugin_takes():
    async def scenario():
        async with FakeMattermost() as mm:
            import httpx

            pid = PLUGIN_ID
            mm.rest_answers.update({
                ("POST", f"/plugins/{pid}/api/v1/dialogs/open"): lambda b: httpx.Response(200, json={"session_id": "s1", "expires_at": 1}),
                ("POST", f"/plugins/{pid}/api/v1/ephemeral"): lambda b: httpx.Response(200, json={"post_id": "e1"}),
                ("POST", "/api/v4/posts"): lambda b: httpx.Response(201, json={"id": "p1", **b}),
                ("POST", f"/plugins/{pid}/api/v1/lint"): lambda b: httpx.Response(200, json={"findings": []}),
                ("DELETE", f"/plugins/{pid}/api/v1/commands/release"): lambda b: httpx.Response(200, json={}),
            })
            app = mm.app()
            ev = click(1)
            assert app.open_dialog(ev, {"callback_id": "x", "title": "T", "elements": []}) == {"session_id": "s1", "expires_at": 1}
            assert mm.rest[-1][2] == {"trigger_id": "trig", "dialog": {"callback_id": "x", "title": "T", "elements": []}}
            ev["proxy"]["trigger_token"] = "tok"
            assert (await app.aopen_dialog(ev, {"title": "T"}))["session_id"] == "s1"
            assert mm.rest[-1][2]["trigger_token"] == "tok"

            post = app.post("c" * 26, "Release?", actions=[button("approve", "Approve", style="primary")])
            assert post["id"] == "p1"
            action = mm.rest[-1][2]["props"]["attachments"][0]["actions"][0]
            assert action["integration"] == {"url": f"/plugins/{pid}/api/v1/handler",
                                             "context": {"action_id": "approve", "user_id": BOT_ID}}
            await app.asend_ephemeral("u" * 26, "c" * 26, "Sure?", actions=[button("yes", "Yes")], root_id="r" * 26)
            body = mm.rest[-1][2]
            assert body["root_id"] == "r" * 26 and body["props"]["attachments"][0]["actions"][0]["integration"]["context"]["user_id"] == BOT_ID
            assert app.lint(actions=[button("approve", "Approve")]) == {"findings": []}
            assert mm.rest[-1][2]["bot_user_id"] == BOT_ID
            app.commands["release"] = None
            app.remove_command("/release")
            assert mm.rest[-1][:2] == ("DELETE", f"/plugins/{pid}/api/v1/commands/release")
            assert "release" not in app.commands
            try:
                app.open_dialog({"proxy": {}}, {})
            except ValueError:
                pass
            else:
                raise AssertionError("a dialog opened without a trigger")

    run(scenario())


def test_malformed_frames_and_events_are_skipped_and_the_loop_goes_on():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()
            got = []
            app.action("approve")(lambda e: got.append(e.event_id) or "ok")
            await started(mm, app)
            ws = mm.conns[0]
            for frame in ["not json", "[1, 2]", '{"event": 3}', '{"status": "OK", "seq_reply": 1}',
                          json.dumps({"event": P + "action", "data": None}),
                          json.dumps({"event": P + "action", "data": {"proxy": "x"}}),
                          json.dumps({"event": P + "action", "data": {"proxy": {"event_id": 5}}}),
                          json.dumps({"event": P + "action", "data": {**click(1), "context": "not an object"}})]:
                await ws.send(frame)
            await mm.deliver("action", click(2))
            acks = [(await mm.next("ack"))[1]["data"] for _ in range(2)]
            # The click with a broken context matched no handler: acknowledged without an answer.
            assert acks == [{"event_id": event_id(1)}, {"event_id": event_id(2), "answer": {"ephemeral_text": "ok"}}]
            assert got == [event_id(2)]
            await app.stop()

    run(scenario())


def test_a_handler_still_running_at_stop_timeout_is_left_unacknowledged_for_the_replay():
    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app(stop_timeout=0.2)
            began = asyncio.Event()

            @app.action("slow")
            async def slow(event):
                began.set()
                await asyncio.sleep(30)
                return "too late"

            await started(mm, app)
            await mm.deliver("action", click(1, "slow"))
            await asyncio.wait_for(began.wait(), 5)
            await app.stop()  # returns after stop_timeout
            await mm.next("unsubscribe")
            await mm.nothing("ack", 0.3)  # the plugin keeps the event and sends it again later

    run(scenario())
