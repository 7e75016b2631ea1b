"""Event attributes against docs/schemas: every field of every delivered event has an
attribute, and every attribute names a field (or is one of the few documented shortcuts)."""

from __future__ import annotations

import json
import pathlib

from mattermost_socket_mode import Delivery, Event, Proxy

SCHEMAS = pathlib.Path(__file__).resolve().parents[3] / "docs" / "schemas"
EVENTS = ["action-event", "command-event", "dialog-lookup-event", "dialog-submission-event"]
# Shortcuts, not fields: proxy.event_id and proxy.expanded at the top, context's keys, ack().
SHORTCUTS = {"event_id", "expanded", "action_id", "selected_option", "ack", "acked"}
# Fields a plugin is about to add, read when it sends them (none at the moment).
COMING = set()


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def attributes(cls: type, base: type) -> set:
    return {n for n in vars(cls) if not n.startswith("_")} - set(vars(base))


def test_every_event_field_is_an_attribute_and_every_attribute_a_field():
    fields = set()
    for name in EVENTS:
        fields |= set(schema(name)["properties"]) - {"proxy"}
    attrs = attributes(Event, dict) - {"proxy", "name"}
    assert fields - attrs == set(), "schema fields without an Event attribute"
    assert attrs - fields - SHORTCUTS == set(), "Event attributes no schema has"


def test_every_proxy_field_is_an_attribute():
    proxy = schema("action-event")["properties"]["proxy"]
    assert set(proxy["properties"]) - attributes(Proxy, dict) == set()
    assert attributes(Proxy, dict) - set(proxy["properties"]) - COMING == set()
    delivery = proxy["properties"]["delivery"]["properties"]
    assert set(delivery) - attributes(Delivery, dict) == set()
    assert attributes(Delivery, dict) - set(delivery) - COMING == set()
    for name in EVENTS:  # every event kind has the same proxy
        doc = schema(name)
        p = doc["properties"]["proxy"]
        if "$ref" in p:
            p = doc["$defs"][p["$ref"].rsplit("/", 1)[1]]
        assert p["properties"].keys() == proxy["properties"].keys(), name


def test_the_schemas_examples_read_through_the_attributes():
    for name, kind in zip(EVENTS, ["action", "command", "dialog_lookup", "dialog_submission"]):
        for example in schema(name).get("examples", []):
            ev = Event(kind, example)
            assert ev.event_id == example["proxy"]["event_id"]
            for field, value in example.items():
                if field != "proxy":
                    got = getattr(ev, field)
                    assert got == value or (value in (None, {}) and got in (None, {})), (name, field)
    ev = Event("action", schema("action-event")["examples"][0])
    assert ev.selected_option == "eu" and ev.proxy.verified and ev.proxy.delivery is None
    assert ev.expanded == {} and ev.submission == {} and ev.callback_id is None
