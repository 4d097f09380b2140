"""Fuzzing the loader: whatever a flow file holds, `load_flows` returns flows or raises
FlowValidationError, never anything else (`eslflow run` and its reloads rely on it)."""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.flow import FlowSet, FlowValidationError, load_flows

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [path.read_bytes() for path in sorted((ROOT / "flows").glob("*.yaml"))]

# Bytes that mean something to YAML, to the flow language or to a decoder.
PIECES = [
    b"[",
    b"]",
    b"{",
    b"}",
    b":",
    b": ",
    b",",
    b"- ",
    b"\n",
    b"\n  ",
    b"\t",
    b"&a ",
    b"*a",
    b"<<: ",
    b"!tag ",
    b"!!str ",
    b"'",
    b'"',
    b"|",
    b">",
    b"#",
    b"%YAML 1.1\n",
    b"---\n",
    b"...\n",
    b"\x00",
    b"\x07",
    b"\xff",
    b"\xc3",
    b"\xe2\x80\xa8",
    b"\xef\xbb\xbf",
    b"\r",
    b"${{ ",
    b" }}",
    b"${",
    b"$1",
    b"$9",
    b"(",
    b")",
    b"(?<n>",
    b"\\",
    b"9" * 400,
    b"1e400",
    b"-",
    b"0x",
    b"not ",
    b"+1",
    b"[" * 600,
    b"(" * 600,
    b"not " * 600,
    b"expression: ",
    b"steps:",
    b"when:",
    b"if:",
    b"then:",
    b"goto: ",
    b"call: ",
    b"repeat: ",
    b"timeout: ",
    b"sleep: ",
    b"field: ",
    b"equals: ",
    b"any:",
    b"not:",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(EXAMPLES)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "repeat", "random"]))
        if action == "insert":
            data[at:at] = draw(st.sampled_from(PIECES))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "replace":
            data[at : at + 1] = draw(st.sampled_from(PIECES))
        elif action == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 60))] * draw(st.integers(2, 50))
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_the_loader_raises_only_flow_validation_errors(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.yaml"
        path.write_bytes(content)
        try:
            flows = load_flows([path])
        except FlowValidationError as exc:
            assert exc.errors
            for error in exc.errors:
                assert error.path == str(path)
                assert (error.line is None) == (error.column is None)
                assert error.line is None or (error.line >= 1 and error.column >= 1)
                assert error.display()
        else:
            assert isinstance(flows, FlowSet)
