"""eslflow: declarative, dialplan-like call flows for FreeSWITCH over the Event Socket."""

__version__ = "0.1.0"
