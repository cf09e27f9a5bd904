"""Routing rules (派遣规则): TOML rule files, checking, and `decide()` with its explanation."""
from gridroute.rules.engine import (
    Decision, RoutingContext, RuleMatch, decide, match_rule, territorial_unit, trace,
)
from gridroute.rules.loader import (
    RulesError, RulesHolder, check_ruleset, load_ruleset, parse_ruleset, shadow_warnings, shadows,
)
from gridroute.rules.model import Actions, Conditions, Rule, RuleSet, pattern_matches

__all__ = [
    "Actions", "Conditions", "Decision", "RoutingContext", "Rule", "RuleMatch", "RuleSet",
    "RulesError", "RulesHolder", "check_ruleset", "decide", "load_ruleset", "match_rule",
    "parse_ruleset", "pattern_matches", "shadow_warnings", "shadows", "territorial_unit", "trace",
]
