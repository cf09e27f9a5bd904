"""Cases (案卷): the model, the workflow state machine and duplicate rules. Pure domain."""
from .duplicates import DuplicatePolicy, candidate_bbox, find_duplicates
from .model import (APPEAL_STATES, DUPLICATE_CANDIDATE_STATES, OPEN_STATES, TERMINAL_STATES,
                    Case, CaseEvent, Channel, Role, State)
from .workflow import (TRANSITIONS, IllegalTransition, InvalidField, LimitReached,
                       MissingField, ReasonRequired, RoleNotAllowed, StaleVersion, Transition,
                       UnknownAction, WorkflowError, WorkflowLimits, allowed_actions, apply,
                       describe, intake_event)

__all__ = [
    "Case", "CaseEvent", "Channel", "Role", "State",
    "OPEN_STATES", "TERMINAL_STATES", "DUPLICATE_CANDIDATE_STATES", "APPEAL_STATES",
    "TRANSITIONS", "Transition", "WorkflowLimits", "apply", "allowed_actions", "describe",
    "intake_event",
    "WorkflowError", "UnknownAction", "IllegalTransition", "RoleNotAllowed", "ReasonRequired",
    "MissingField", "InvalidField", "StaleVersion", "LimitReached",
    "DuplicatePolicy", "find_duplicates", "candidate_bbox",
]
