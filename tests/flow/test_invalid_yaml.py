"""YAML that is not a flow gets an error at its place, never a traceback."""

import pytest

from runner.flow import FlowValidationError, load_flow_sources

# name: (the file, the errors `eslflow validate` must print for it, in order)
CASES: dict[str, tuple[str, list[str]]] = {
    "tab_indent": (
        "flow: t\nsteps:\n\t- stop\n",
        ["flows/t.yaml:3:1: tab character in indentation: YAML indents with spaces"],
    ),
    "tab_indent_two_lines": (
        "flow: t\nsteps:\n  - if: {field: a, equals: b}\n    then:\n\t  - stop\n\t  - stop\n",
        [
            "flows/t.yaml:5:1: tab character in indentation: YAML indents with spaces",
            "flows/t.yaml:6:1: tab character in indentation: YAML indents with spaces",
        ],
    ),
    "syntax_unclosed_flow_seq": (
        "flow: t\nsteps: [stop\n",
        [
            "flows/t.yaml:3:1: YAML syntax error: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence that starts at 2:8)"
        ],
    ),
    "syntax_unclosed_quote": (
        'flow: "t\nsteps: [stop]\n',
        [
            "flows/t.yaml:3:1: YAML syntax error: found unexpected end of stream (while scanning a quoted scalar that starts at 1:7)"
        ],
    ),
    "syntax_bad_indent": (
        "flow: t\n steps: [stop]\n",
        ["flows/t.yaml:2:7: YAML syntax error: mapping values are not allowed here"],
    ),
    "duplicate_key": (
        "flow: t\nsteps: [stop]\nflow: u\n",
        ["flows/t.yaml:3:1: duplicate key 'flow' (first defined on line 1)"],
    ),
    "duplicate_nested_key": (
        "flow: t\nsteps:\n  - execute: {app: a, app: b}\n",
        ["flows/t.yaml:3:23: duplicate key 'app' (first defined on line 3)"],
    ),
    "empty_file": (
        "",
        [
            "flows/t.yaml:1:1: empty file: expected a flow (a mapping with flow:, trigger: and steps:)"
        ],
    ),
    "comments_only": (
        "# nothing here\n",
        [
            "flows/t.yaml:1:1: empty file: expected a flow (a mapping with flow:, trigger: and steps:)"
        ],
    ),
    "empty_document": (
        "---\n...\n",
        [
            "flows/t.yaml:2:1: empty document: expected a flow (a mapping with flow:, trigger: and steps:)"
        ],
    ),
    "list_document": (
        "- flow: t\n- steps: []\n",
        [
            "flows/t.yaml:1:1: a flow must be a mapping of keys (flow:, trigger:, steps:), got a list"
        ],
    ),
    "scalar_document": (
        "just text\n",
        [
            "flows/t.yaml:1:1: a flow must be a mapping of keys (flow:, trigger:, steps:), got 'just text'"
        ],
    ),
    "unknown_tag": (
        "flow: !secret t\nsteps: [stop]\n",
        ["flows/t.yaml:1:7: unsupported YAML tag '!secret'"],
    ),
    "recursive_alias": (
        "flow: t\nsteps: &s [stop, *s]\n",
        ["flows/t.yaml:2:8: recursive alias: a value that contains itself"],
    ),
    "complex_key": (
        "flow: t\n? [a, b]\n: c\nsteps: [stop]\n",
        ["flows/t.yaml:2:3: a key must be a plain word, not a list or mapping"],
    ),
    "undefined_alias": (
        "flow: t\nsteps: *nowhere\n",
        ["flows/t.yaml:2:8: YAML syntax error: found undefined alias 'nowhere'"],
    ),
    "second_document_bad": (
        "flow: a\nsteps: [stop]\n---\nflow: b\nsteps: [stpo]\n",
        ["flows/t.yaml:5:9: unknown step 'stpo' — did you mean 'stop'?"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_invalid_yaml(name: str) -> None:
    text, expected = CASES[name]
    with pytest.raises(FlowValidationError) as caught:
        load_flow_sources([("flows/t.yaml", text)])
    assert [str(error) for error in caught.value.errors] == expected


def test_the_caret_points_at_the_column() -> None:
    with pytest.raises(FlowValidationError) as caught:
        load_flow_sources([("flows/t.yaml", "flow: t\nsteps:\n  - exectue: answer\n")])
    assert caught.value.display() == (
        "flows/t.yaml:3:5: unknown step 'exectue' — did you mean 'execute'?\n"
        "      - exectue: answer\n"
        "        ^"
    )


def test_yaml_1_2_text_that_libyaml_refuses_is_read() -> None:
    # libyaml (the C parser) refuses ':' inside a plain scalar of a flow mapping.
    flows = load_flow_sources(
        [
            (
                "flows/t.yaml",
                "flow: t\ntrigger: {event: CUSTOM, subclass: sofia::register}\nsteps: [stop]\n",
            )
        ]
    )
    trigger = flows["t"].trigger
    assert trigger is not None
    assert trigger.subclass == "sofia::register"
