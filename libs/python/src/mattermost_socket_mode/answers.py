"""What a handler's return value becomes in the acknowledgement. No I/O here.

A handler returns the answer as the plugin takes it (``docs/schemas/ack.schema.json``), or
``None`` for none. Three shorthands, each the obvious meaning for its kind:

- a click or a command may return a ``str``: the text the person reads
  (``{"ephemeral_text": s}`` for a click, ``{"response_type": "ephemeral", "text": s}`` for a
  command);
- a lookup may return a list: its items (``{"items": [...]}``), each a ``{"text", "value"}``
  dict or a plain string (text and value alike);
- a dialog submission or refresh may return a dialog definition (a dict with ``elements``):
  the next form (``{"type": "form", "form": definition}``).

The plugin checks every answer; one it refuses is logged from its ``error`` event.
"""

from __future__ import annotations

from typing import Any


class AnswerError(TypeError):
    """A handler returned something that is no answer for its event (logged, acked without)."""


def normalize(kind: str, answer: Any) -> Any:
    """The answer to send for an event of ``kind`` (None: acknowledge without an answer)."""
    if answer is None:
        return None
    if isinstance(answer, str):
        if kind == "action":
            return {"ephemeral_text": answer}
        if kind == "command":
            return {"response_type": "ephemeral", "text": answer}
        raise AnswerError(f"a {kind} handler returned a string; return a dict (see the README)")
    if kind == "dialog_lookup" and isinstance(answer, (list, tuple)):
        return {"items": [_item(i) for i in answer]}
    if isinstance(answer, dict):
        if kind in ("dialog_submission", "dialog_refresh") and _is_form(answer):
            return {"type": "form", "form": answer}
        return answer
    raise AnswerError(f"a {kind} handler returned {type(answer).__name__}; return a dict or None")


def _is_form(answer: dict) -> bool:
    # A dialog definition has elements; an answer never does.
    return "elements" in answer and "type" not in answer


def _item(item: Any) -> dict:
    if isinstance(item, str):
        return {"text": item, "value": item}
    if isinstance(item, dict):
        return item
    raise AnswerError(f"a lookup item is {type(item).__name__}; give a dict or a string")
