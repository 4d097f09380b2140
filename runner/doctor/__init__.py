"""`eslflow doctor`: is this FreeSWITCH ready for eslflow? Checks, then a report."""

from runner.doctor.checks import Plan, diagnose
from runner.doctor.findings import Finding, Status, failed, render_json, render_table

__all__ = ["Finding", "Plan", "Status", "diagnose", "failed", "render_json", "render_table"]
