"""Small value types of test files: one-line text, DTMF keys, instants with an offset.

Shared by the inputs, stubs and the document: a key that is not DTMF, or a time whose
meaning would depend on where the test runs (no UTC offset), is refused where written.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import PlainValidator, WithJsonSchema

from runner.flow.fields import describe_input, invalid, scalar_text


def _text(value: object) -> str:
    return scalar_text(value, "text")


Text = Annotated[
    str,
    PlainValidator(_text),
    WithJsonSchema({"type": ["string", "number"]}),
]


def _line(value: object) -> str:
    text = _text(value)
    if "\n" in text or "\r" in text or not text.strip():
        raise invalid("expected one line of text")
    return text


Line = Annotated[str, PlainValidator(_line), WithJsonSchema({"type": "string", "minLength": 1})]


def dtmf_value(value: object) -> str:
    """The keys as written, or an error at the first one that is not 0-9, *, # or A-D."""
    text = scalar_text(value, "DTMF digits")
    found = re.search(r"[^0-9*#A-Da-d]", text)
    if found is not None or not text:
        offset = found.start() if found is not None else None
        raise invalid(f"'{text}' is not DTMF: use the keys 0-9, *, # and A-D", offset=offset)
    return text


Digits = Annotated[
    str,
    PlainValidator(dtmf_value),
    WithJsonSchema(
        {"type": ["string", "number"], "pattern": "^[0-9*#A-Da-d]+$", "examples": ["1", "1234#"]}
    ),
]


def _instant(value: object) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise invalid(
                f"'{value}' is not a date and time: write it as ISO 8601 with a UTC offset, "
                "like 2026-03-02T10:00:00+01:00"
            ) from None
    else:
        raise invalid(
            f"expected a date and time like 2026-03-02T10:00:00+01:00, got {describe_input(value)}"
        )
    if moment.tzinfo is None:
        raise invalid(
            f"'{value}' has no UTC offset: add one (+01:00, or Z for UTC), so the time does "
            "not depend on where the test runs"
        )
    return moment


Instant = Annotated[
    datetime,
    PlainValidator(_instant),
    WithJsonSchema(
        {
            "type": "string",
            "description": "ISO 8601 with a UTC offset.",
            "examples": ["2026-03-02T10:00:00+01:00", "2026-12-24T18:30:00Z"],
        }
    ),
]
