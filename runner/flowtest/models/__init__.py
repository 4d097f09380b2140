"""The test-case file: a simulated call (or event), the clock, and what must happen.

```yaml
test: digit 1 reaches sales
flows: [../ivr.yaml]
call:
  destination: "5000"
  caller: {number: "+4930123456", name: Alice}
  dtmf: ["1"]
at: "2026-03-02T10:00:00+01:00"
expect:
  flow: main-menu
  commands:
    - execute: answer
    - execute: {app: transfer, arg: "1000 XML default"}
  hangup_cause: NORMAL_CLEARING
```

The models validate as the flow language's do (strict types, unknown keys refused with a
suggestion) and the loader reports mistakes as `path:line:col: message`.

One module per part: `case` (TestCase, the document), `inputs` (calls, key presses,
switch events), `stubs` (the simulated switch's apps, API and media), `expect` (what
must happen) and `values` (text, DTMF and time values they share).
"""
