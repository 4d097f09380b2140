"""`host:port` parsing for listen addresses, inbound nodes and the run flags."""

import pytest

from runner.engine.address import check_host, format_address, parse_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8021", ("127.0.0.1", 8021)),
        ("pbx1.example.net:8021", ("pbx1.example.net", 8021)),
        ("localhost:1", ("localhost", 1)),
        ("[::1]:8084", ("::1", 8084)),
        ("[fe80::1%eth0]:8084", ("fe80::1%eth0", 8084)),
        ("0.0.0.0:65535", ("0.0.0.0", 65535)),
    ],
)
def test_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text, example="127.0.0.1:8021") == expected
    assert format_address(*expected) == text


SHAPE = "expected host:port like 127.0.0.1:8021 (IPv6 in brackets: [::1]:8021), got "


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "8021",
            SHAPE + "'8021'",
        ),
        (
            ":8021",
            SHAPE + "':8021'",
        ),
        (
            "[::1]",
            SHAPE + "'[::1]'",
        ),
        (
            "[::1:8021",
            SHAPE + "'[::1:8021'",
        ),
        (
            "::1:8021",
            SHAPE + "'::1:8021'",
        ),
        ("host:", "port must be a number, got ''"),
        ("host:+80", "port must be a number, got '+80'"),
        ("host:٨٠", "port must be a number, got '٨٠'"),
        ("host:0", "port must be from 1 to 65535, got 0"),
        ("-pbx:8021", "'-pbx' is not a host name or IP address"),
        ("256.1.1.1:8021", "'256.1.1.1' is not a host name or IP address"),
        ("[pbx]:8021", "'[pbx]' is not an IPv6 address"),
    ],
)
def test_bad_addresses(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_address(text, example="127.0.0.1:8021")
    assert str(caught.value) == message


def test_listeners_may_ask_for_a_free_port() -> None:
    assert parse_address("127.0.0.1:0", example="127.0.0.1:8084", lowest_port=0) == (
        "127.0.0.1",
        0,
    )


def test_hosts() -> None:
    assert check_host("[::1]") == "::1"
    assert check_host("pbx1.example.net.") == "pbx1.example.net."
    for bad in ("", "a b", "a_b.example", "x" * 64, "[pbx]"):
        with pytest.raises(ValueError):
            check_host(bad)
