"""Hostile and ordinary values for the expansion and argument guards (issue 10, 11-12).

`MARK` in a hostile value stands for a marker file: if FreeSWITCH ever expands the value,
`${system(touch MARK)}` creates it. The unit tests and the real-switch tests share them.
"""

from __future__ import annotations

MARK = "MARK"

EXPANDING: dict[str, str] = {
    "dollar-brace": "${system(touch MARK)}",
    "dollar-brace-unclosed": "${system(touch MARK)",
    "global": "$${system(touch MARK)}",
    "quote-escape": "$\\'{system(touch MARK)}",
    "quote-escape-unclosed": "$\\'{system(touch MARK)",
    "double-dollar-quote-escape": "$$\\'{system(touch MARK)}",
    "dollar-escape": "\\${system(touch MARK)}",
    "backslash-pair": "\\\\${system(touch MARK)}",
    "backslash-brace": "$\\\\{system(touch MARK)}",
    "two-quote-escapes": "$\\'\\'{system(touch MARK)}",
    "nested": "${system(touch MARK)${x}}",
    "after-a-variable": "${no_such_variable}${system(touch MARK)}",
    "space-form": "${system touch MARK}",
    "url-decoded": "${system(touch MARK)}",  # arrived as %24%7Bsystem(...)%7D in an event
}
"""Values that form (now or after one or more passes) a `${` by themselves."""

SPLIT: dict[str, tuple[str, str, str]] = {
    "literal-dollar": ("x=$", "\\'{system(touch MARK)}", ""),
    "literal-brace": ("x=", "a$\\", "{system(touch MARK)}"),
    "literal-quote-brace": ("x=", "$\\", "'{system(touch MARK)}"),
    "value-dollar-literal-brace": ("x=", "$", "{system(touch MARK)}"),
    "value-before-flow-variable": ("x=", "\\", "${uuid}"),
    "after-flow-variable": ("x=${uuid}", "{system(touch MARK)}", ""),
}
"""(flow text before, value, flow text after): the sequence is built across the boundary."""

REWRITTEN: dict[str, str] = {
    "escaped-quote": "a\\'b",
    "escaped-backslash": "C:\\\\server",
    "escaped-dollar": "\\$5",
    "double-dollar": "$$5",
}
"""Values the expander would change (escapes it rewrites): refused, not sent altered."""

SHAPE: dict[str, str] = {
    "originate-app": "1000 &bridge(sofia/gateway/evil/900) &park()",
    "extra-app": "1000&park()",
    "channel-vars": "{origination_caller_id_number=666}1000",
    "leg-vars": "[origination_caller_id_number=666]1000",
    "second-leg": "1000,sofia/gateway/evil/900",
    "sequential-leg": "1000|sofia/gateway/evil/900",
    "enterprise-leg": "1000:_:sofia/gateway/evil/900",
    "extra-arg": "1000 XML evil",
    "tab-arg": "1000\tXML",
    "quote": "it's",
    "uri-param": "1000;fs_path=sip:evil",
    "delimiter": "^^:1000",
}
"""Values that add arguments, applications or legs to an api command."""

SCOPE: dict[str, str] = {
    "scope-vars": "%[api_hangup_hook=system touch MARK]x",
    "scope-vars-delim": "%,[a=b]x",
}
"""Values that would start an application argument with scope variables."""

BREAKS: dict[str, str] = {
    "lf": "Bob\napi system touch MARK",
    "cr": "Bob\rapi system touch MARK",
    "crlf": "Bob\r\n\r\napi system touch MARK",
}

BENIGN: dict[str, str] = {
    "irish": "O'Brien",
    "percent": "50% off $5",
    "backslash": "back\\slash",
    "path": "C:\\path",
    "utf8": "Zoë Ångström 王",
    "price": "$5.00",
    "braces": "{braces}",
    "dollar-space-brace": "$ {x}",
    "trailing-dollar": "pay $",
    "url-encoded": "%24%7Bsystem(touch MARK)%7D",
    "parens": "f(x)",
    "backslash-n": "a\\nb",
}
"""Ordinary values: they reach an application argument unchanged."""

ARG_SAFE: dict[str, str] = {
    "number": "1000",
    "uri": "sip:1000@example.com",
    "plus": "+4930123456",
    "utf8": "Zoë",
    "price": "$5.00",
}
"""Ordinary values that also fit an api argument (one word, no command syntax)."""


def marked(value: str, marker: str) -> str:
    return value.replace(MARK, marker)
