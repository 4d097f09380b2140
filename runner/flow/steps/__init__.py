"""Steps: what a flow does, one YAML mapping each, its kind named by its one kind key.

```yaml
- execute: {app: bridge, arg: "user/$1@${domain_name}", wait: complete, timeout: 30s}
- hangup: NORMAL_CLEARING
```

Every step keeps its place in the YAML (`step.pos`) and its flow's name, so the engine
can say `flows/x.yaml:12:7: flow 'support-line' step execute: ...` (`step.where`).
The `render_*` helpers apply the right wire guard for each field (see `Guard`), so an
engine cannot forget the `${` or CR/LF check.

One module per family: `base` (StepBase), `sendmsg` (execute, hangup, unicast, nomedia,
xferext), `commands` (sendevent, api, bgapi), `variables` (set), `waiting` (wait,
sleep), `control` (if, switch, repeat, goto, call, log, stop), `connection` (linger,
myevents, divert_events, resume) and `kinds` (the `Step` union and its parsing). This
package re-exports them, so `from runner.flow.steps import ExecuteStep` keeps working.
"""

from runner.flow.steps.base import StepBase, StepPath
from runner.flow.steps.commands import (
    RESERVED_EVENT_HEADERS,
    ApiArgs,
    ApiStep,
    BgapiArgs,
    BgapiStep,
    SendeventArgs,
    SendeventStep,
)
from runner.flow.steps.connection import DivertEventsStep, LingerStep, MyeventsStep, ResumeStep
from runner.flow.steps.control import (
    MAX_REPEAT,
    CallStep,
    GotoStep,
    IfStep,
    LogArgs,
    LogStep,
    RepeatStep,
    StopStep,
    SwitchStep,
    Target,
)
from runner.flow.steps.kinds import (
    BARE_STEPS,
    CONNECTION_STEPS,
    STEP_KINDS,
    Step,
    step_kind,
    step_kind_error,
)
from runner.flow.steps.sendmsg import (
    DIAL_STRING_APPS,
    ExecuteArgs,
    ExecuteStep,
    HangupArgs,
    HangupStep,
    IpAddress,
    NomediaArgs,
    NomediaStep,
    UnicastArgs,
    UnicastStep,
    XferApp,
    XferextStep,
)
from runner.flow.steps.variables import SetStep, SetValue
from runner.flow.steps.waiting import SleepStep, WaitArgs, WaitStep

__all__ = [
    "BARE_STEPS",
    "CONNECTION_STEPS",
    "DIAL_STRING_APPS",
    "MAX_REPEAT",
    "RESERVED_EVENT_HEADERS",
    "STEP_KINDS",
    "ApiArgs",
    "ApiStep",
    "BgapiArgs",
    "BgapiStep",
    "CallStep",
    "DivertEventsStep",
    "ExecuteArgs",
    "ExecuteStep",
    "GotoStep",
    "HangupArgs",
    "HangupStep",
    "IfStep",
    "IpAddress",
    "LingerStep",
    "LogArgs",
    "LogStep",
    "MyeventsStep",
    "NomediaArgs",
    "NomediaStep",
    "RepeatStep",
    "ResumeStep",
    "SendeventArgs",
    "SendeventStep",
    "SetStep",
    "SetValue",
    "SleepStep",
    "Step",
    "StepBase",
    "StepPath",
    "StopStep",
    "SwitchStep",
    "Target",
    "UnicastArgs",
    "UnicastStep",
    "WaitArgs",
    "WaitStep",
    "XferApp",
    "XferextStep",
    "step_kind",
    "step_kind_error",
]
