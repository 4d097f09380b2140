"""The codec's promise on hostile input: messages or `EslProtocolError`, nothing else.

Frames FreeSWITCH 1.10.12 sent (tests/data/captures), mutated (bit flips, truncation,
duplicated and deleted lines, hostile Content-Length and values, deep JSON, splices)
and fed in random chunks; every message that comes out is then read in full (headers,
lazy lookups, get_all, body, channel data), and every string must encode back to
bytes with surrogateescape. bench/chaos_codec.py runs the same at scale.
"""

from __future__ import annotations

import random

from helpers.codec_fuzz import capture_frames, mutate, outcome, parse_and_read, split
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.esl.codec import Parser

FRAMES = capture_frames()


def test_the_captures_give_hundreds_of_distinct_frames() -> None:
    assert len(FRAMES) > 400
    # Each frame parses alone to exactly one message, read in full.
    for frame in FRAMES:
        assert parse_and_read([frame], Parser()) == 1, frame[:200]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.integers(0, len(FRAMES) - 1), min_size=1, max_size=4),
    rng=st.randoms(use_true_random=False),
)
def test_mutated_captures_in_any_chunking_parse_or_raise_a_protocol_error(
    picks: list[int], rng: random.Random
) -> None:
    data = b"".join(mutate(rng, FRAMES[i], FRAMES) for i in picks)
    whole = outcome([data])
    chunked = outcome(split(rng, data))
    # Chunking changes nothing: the same error, or the same messages.
    assert chunked[1] == whole[1]
    if whole[1] is None:
        assert chunked[0] == whole[0]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.binary(max_size=300) | st.sampled_from(FRAMES[:50]).map(lambda f: f[:300]),
        max_size=8,
    ),
    st.randoms(use_true_random=False),
)
def test_arbitrary_bytes_with_default_limits_parse_or_raise_a_protocol_error(
    pieces: list[bytes], rng: random.Random
) -> None:
    data = b"".join(pieces)
    whole = outcome([data])
    assert outcome(split(rng, data))[1] == whole[1]
