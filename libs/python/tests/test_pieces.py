"""The pure parts: answers, buttons and menus, backoff, errors, the version."""

from __future__ import annotations

import json
import pathlib
import re

import httpx
import pytest

import mattermost_socket_mode as sm
from mattermost_socket_mode import answers, messages, rest
from mattermost_socket_mode.backoff import Backoff
from mattermost_socket_mode.once import Seen

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("kind,given,want", [
    ("action", None, None),
    ("action", "Done.", {"ephemeral_text": "Done."}),
    ("action", {"update": {"message": "x"}}, {"update": {"message": "x"}}),
    ("command", "Usage: /x", {"response_type": "ephemeral", "text": "Usage: /x"}),
    ("dialog_lookup", ["a", {"text": "B", "value": "b"}], {"items": [{"text": "a", "value": "a"}, {"text": "B", "value": "b"}]}),
    ("dialog_lookup", {"items": []}, {"items": []}),
    ("dialog_submission", {}, {}),
    ("dialog_submission", {"errors": {"reason": "no"}}, {"errors": {"reason": "no"}}),
    ("dialog_submission", {"title": "Step 2", "elements": []}, {"type": "form", "form": {"title": "Step 2", "elements": []}}),
    ("dialog_refresh", {"type": "form", "form": {"elements": []}}, {"type": "form", "form": {"elements": []}}),
])
def test_answers(kind, given, want):
    assert answers.normalize(kind, given) == want


@pytest.mark.parametrize("kind,given", [("dialog_submission", "text"), ("action", 3), ("dialog_lookup", [3])])
def test_answers_refused(kind, given):
    with pytest.raises(answers.AnswerError):
        answers.normalize(kind, given)


def test_buttons_and_menus_point_at_the_plugin_for_the_posting_bot():
    b = sm.button("approve", "Approve", style="primary", context={"release": "1.4.2"})
    m = sm.menu("region", "Region", [("Europe", "eu"), {"text": "Americas", "value": "us"}, "asia"])
    users = sm.menu("who", "Who", data_source="users")
    foreign = {"id": "web", "name": "Web", "integration": {"url": "https://example.com/hook", "context": {"a": 1}}}
    raw = {"id": "reject", "name": "Reject", "integration": {"context": {"action": "reject"}}}
    props = messages.props_of([b, m, users, foreign, raw], [{"text": "first"}], {"card": "x"})
    out = messages.fill(props, sm.PLUGIN_ID, "bot1bot1bot1bot1bot1bot1b1")
    handler = f"/plugins/{sm.PLUGIN_ID}/api/v1/handler"
    assert out["card"] == "x" and out["attachments"][0] == {"text": "first"}
    acts = out["attachments"][1]["actions"]
    assert acts[0] == {"id": "approve", "name": "Approve", "type": "button", "style": "primary", "integration": {
        "url": handler, "context": {"release": "1.4.2", "action_id": "approve", "user_id": "bot1bot1bot1bot1bot1bot1b1"}}}
    assert acts[1]["options"] == [{"text": "Europe", "value": "eu"}, {"text": "Americas", "value": "us"}, {"text": "asia", "value": "asia"}]
    assert acts[1]["type"] == "select" and acts[2]["data_source"] == "users"
    assert acts[3] == foreign  # an HTTP integration's action is left alone
    assert acts[4]["integration"] == {"url": handler, "context": {"action": "reject", "user_id": "bot1bot1bot1bot1bot1bot1b1", "action_id": "reject"}}
    assert "user_id" not in b["integration"]["context"]  # fill copies


@pytest.mark.parametrize("bad", ["approve_1", "", "a b", "é"])
def test_action_ids_are_letters_and_digits(bad):
    with pytest.raises(ValueError):
        sm.button(bad, "x")


def test_backoff_doubles_with_jitter_up_to_the_cap_and_resets():
    draws = iter([0.0, 1.0] * 20)
    b = Backoff(base=1, cap=8, rand=lambda: next(draws))
    delays = [b.next() for _ in range(10)]
    assert delays[:6] == [0.5, 2.0, 2.0, 8.0, 4.0, 8.0]  # ceilings 1, 2, 4, 8, 8, 8; half fixed, half drawn
    assert all(4 <= d <= 8 for d in delays[4:])
    b.reset()
    assert b.next() == 0.5
    r = Backoff()
    assert all(0 < r.next() <= 30 for _ in range(50))
    with pytest.raises(ValueError):
        Backoff(base=0)


def test_the_memory_of_event_ids_is_bounded_oldest_first():
    seen = Seen(2)
    seen.add("a").finish({"x": 1})
    seen.add("b")
    seen.add("c")
    assert seen.get("a") is None and len(seen) == 2
    assert seen.get("b").done is False


def test_errors_carry_the_plugins_code_or_mattermosts_id():
    e = rest.error_of(httpx.Response(410, json={"error": {"code": "trigger_expired", "message": "late"}, "ephemeral_text": "x"}))
    assert (e.status, e.code, e.message) == (410, "trigger_expired", "late")
    e = rest.error_of(httpx.Response(401, json={"id": "api.context.session_expired.app_error", "message": "Invalid"}))
    assert (e.code, e.message) == ("api.context.session_expired.app_error", "Invalid")
    e = rest.error_of(httpx.Response(502, text="Bad Gateway"))
    assert (e.code, e.message) == ("http_502", "Bad Gateway")


def test_the_version_is_the_plugins():
    plugin = json.loads((ROOT / "plugin.json").read_text())["version"]
    pyproject = re.search(r'^version = "([^"]+)"', (ROOT / "libs/python/pyproject.toml").read_text(), re.M).group(1)
    assert pyproject == plugin, "libs/python/pyproject.toml's version must be /plugin.json's"
    assert sm.__version__ == plugin, "reinstall the library: pip install ./libs/python"
