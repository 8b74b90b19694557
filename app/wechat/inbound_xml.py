"""Hardened XML -> dict parsing for inbound callbacks, driving pyexpat directly.

Builds a flat dict of the root's children (nested dicts/lists only for the few structured
events) instead of a full tree, because it sits on the webhook's hot path. Any DTD, entity
declaration or unknown entity reference is refused before anything expands.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from xml.parsers import expat

Fields = dict[str, Any]

# WeChat payloads nest at most four levels (xml > SendPicsInfo > PicList > item > PicMd5Sum).
MAX_DEPTH = 8


class InboundMessageError(ValueError):
    """The body is not a well-formed, safe WeChat callback XML document."""


def _refuse_dtd(*_: object) -> None:
    raise InboundMessageError("DTDs and entity declarations are not accepted")


def _refuse_external_entity(*_: object) -> int:
    raise InboundMessageError("external entities are not accepted")


def _store_repeated(parent: Fields, name: str, value: Any, top_level: bool) -> None:
    if top_level:
        # Two FromUserName elements would make the sender ambiguous.
        raise InboundMessageError(f"duplicate element <{name}>")
    previous = parent[name]
    if isinstance(previous, list):
        previous.append(value)
    else:
        parent[name] = [previous, value]


def parse_fields(body: bytes) -> Fields:
    """The root `<xml>` element's children as a dict (text values, nested dicts/lists)."""
    if not isinstance(body, bytes | bytearray):
        raise TypeError("the callback body must be bytes")
    # Forcing UTF-8 ignores any declared encoding; invalid UTF-8 is an expat error.
    parser = expat.ParserCreate("utf-8")
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    # A DOCTYPE is the only place entities can be declared: refusing its start means nothing
    # is ever declared or expanded, and any other `&name;` is an "undefined entity" error.
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_external_entity

    root: Fields = {}
    stack: list[Fields] = []
    text: list[str] = []
    clear_text = text.clear

    def start(name: str, _attrs: object) -> None:
        if stack:
            if len(stack) >= MAX_DEPTH:
                raise InboundMessageError("XML nested too deeply")
            stack.append({})
        elif name == "xml":
            stack.append(root)
        else:
            raise InboundMessageError("the root element must be <xml>")
        clear_text()

    def end(name: str) -> None:
        children = stack.pop()
        if stack:
            parent = stack[-1]
            value = children or "".join(text)
            if name in parent:
                _store_repeated(parent, name, value, len(stack) == 1)
            else:
                parent[name] = value
        clear_text()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise InboundMessageError(f"malformed XML: {exc}") from exc
    except UnicodeError as exc:
        raise InboundMessageError("invalid text encoding") from exc
    return root


def get_text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise InboundMessageError(f"<{name}> must hold text")
    return value


def required_text(fields: Mapping[str, Any], name: str) -> str:
    value = get_text(fields, name)
    if not value:
        raise InboundMessageError(f"<{name}> is missing or empty")
    return value


def optional_text(fields: Mapping[str, Any], name: str) -> str | None:
    return get_text(fields, name) if name in fields else None


def optional_int(fields: Mapping[str, Any], name: str) -> int | None:
    value = get_text(fields, name).strip()
    if not value:
        return None
    # isascii+isdigit: only 0-9 (str.isdigit alone admits "²"); 20 digits hold any uint64.
    if not (value.isascii() and value.isdigit() and len(value) <= 20):
        raise InboundMessageError(f"<{name}> must be a non-negative integer")
    return int(value)


def required_int(fields: Mapping[str, Any], name: str) -> int:
    value = optional_int(fields, name)
    if value is None:
        raise InboundMessageError(f"<{name}> is missing")
    return value


def optional_float(fields: Mapping[str, Any], name: str) -> float | None:
    value = get_text(fields, name).strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise InboundMessageError(f"<{name}> must be a number") from exc
    if not math.isfinite(number):
        raise InboundMessageError(f"<{name}> must be a finite number")
    return number


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def get_nested(fields: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = fields.get(name)
    if is_blank(value):
        return {}
    if not isinstance(value, dict):
        raise InboundMessageError(f"<{name}> must hold elements")
    return value


def get_items(value: Any, name: str) -> tuple[Mapping[str, Any], ...]:
    """One element or several repeated ones, as a tuple of element dicts."""
    if is_blank(value):
        return ()
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, dict) for v in values):
        raise InboundMessageError(f"<{name}> items must hold elements")
    return tuple(values)
