"""Routing rules (派遣规则): TOML rule files (`parse`), shadowed-rule analysis (`shadows`), the
reloading holder (`holder`), and `decide()` with its explanation (`engine`)."""
from gridroute.rules.engine import (
    Decision, RoutingContext, RuleMatch, decide, match_rule, territorial_unit, trace,
)
from gridroute.rules.holder import ReferenceCodes, RulesHolder, RulesStatus
from gridroute.rules.model import Actions, Conditions, Rule, RuleSet, pattern_matches
from gridroute.rules.parse import (
    RulesError, check_ruleset, load_ruleset, parse_ruleset, read_rules_file,
)
from gridroute.rules.shadows import shadow_warnings, shadows

__all__ = [
    "Actions", "Conditions", "Decision", "ReferenceCodes", "RoutingContext", "Rule",
    "RuleMatch", "RuleSet", "RulesError", "RulesHolder", "RulesStatus", "check_ruleset",
    "decide", "load_ruleset", "match_rule", "parse_ruleset", "pattern_matches",
    "read_rules_file", "shadow_warnings", "shadows", "territorial_unit", "trace",
]
