"""The survey conversation as pure logic: state machine, answer parsing, locales, catalogs.

Nothing in this package does network, database or clock I/O; callers pass the time in events
and carry out the returned actions.
"""

from flows.events import (
    Action,
    Button,
    Event,
    Finish,
    OptOut,
    RecordComment,
    RecordConsent,
    RecordEffort,
    RecordScore,
    Reply,
    Send,
    SetLocale,
    Tick,
)
from flows.machine import MAX_REASKS, start, step
from flows.scoring import Category, Scale, categorize
from flows.state import ConversationState, Outcome, StateError, Step, SurveySpec

__all__ = [
    "MAX_REASKS",
    "Action",
    "Button",
    "Category",
    "ConversationState",
    "Event",
    "Finish",
    "OptOut",
    "Outcome",
    "RecordComment",
    "RecordConsent",
    "RecordEffort",
    "RecordScore",
    "Reply",
    "Scale",
    "Send",
    "SetLocale",
    "StateError",
    "Step",
    "SurveySpec",
    "Tick",
    "categorize",
    "start",
    "step",
]
