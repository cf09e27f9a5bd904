"""Decide who handles a report: the first matching rule wins; otherwise the street's grid
centre takes it (属地兜底). A report is never dropped.

`decide()` returns a `Decision` that carries its own explanation: the rule, the conditions that
matched, the unit and the rule set's hash, so a dispatcher can see why a case went where it went.
"""
from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from gridroute.grids.codes import CodeScheme
from gridroute.reference.models import Component, Unit, Urgency
from gridroute.rules.model import Rule, RuleSet, pattern_matches
from gridroute.sla.clock import Limit

NearestComponent = Callable[[str, float], "Component | None"]


@dataclass(frozen=True)
class RoutingContext:
    """What the rules may look at for one report."""

    category_code: str
    urgency: str = Urgency.NORMAL
    channel: str = ""
    district_code: str | None = None
    street_code: str | None = None
    community_code: str | None = None
    cell_code: str | None = None
    cell_tags: frozenset[str] = frozenset()
    at: datetime | None = None
    is_working_time: bool = True
    description: str = ""
    nearest_component: NearestComponent | None = None

    @classmethod
    def for_cell(cls, category_code: str, cell_code: str | None, *,
                 scheme: CodeScheme | None = None, **fields) -> "RoutingContext":
        """Build a context whose district/street/community codes are the prefixes of
        `cell_code` in `scheme` (default: 6, 9 and 12 digits)."""
        scheme = scheme or CodeScheme()
        district, street, community = (
            (scheme.district(cell_code), scheme.street(cell_code), scheme.community(cell_code))
            if cell_code else (None, None, None))
        return cls(category_code=category_code, district_code=district, street_code=street,
                   community_code=community, cell_code=cell_code, **fields)


@dataclass(frozen=True)
class RuleMatch:
    """The evaluation of one rule: `met` lists the conditions that held, `failed` the first that
    did not (None when the rule matched)."""

    rule: Rule
    matched: bool
    met: list[str]
    failed: str | None = None
    component: Component | None = None


@dataclass(frozen=True)
class Decision:
    unit_code: str | None
    urgency: str
    standard_id: str | None
    limit: Limit | None
    auto_file: bool
    rule_id: str | None
    matched: list[str]
    ruleset_hash: str
    fallback: bool
    explanation: str
    component_id: str | None = None  # the component found by near_component_m


def _first(patterns, value) -> str | None:
    return next((p for p in patterns if pattern_matches(p, value)), None)


def match_rule(rule: Rule, ctx: RoutingContext) -> RuleMatch:
    """Evaluate one rule against a report, condition by condition."""
    met: list[str] = []
    component = None

    def fail(reason: str) -> RuleMatch:
        return RuleMatch(rule, False, met, reason, None)

    for key, wanted in rule.when.items():
        if key == "category":
            hit = _first(wanted, ctx.category_code)
            if hit is None:
                return fail(f"category {ctx.category_code} is not in {', '.join(wanted)}")
            met.append(f"category {ctx.category_code} matches {hit}")
        elif key in ("urgency", "channel"):
            value = getattr(ctx, key)
            if value not in wanted:
                return fail(f"{key} {value or '(none)'} is not in {', '.join(wanted)}")
            met.append(f"{key} {value}")
        elif key in ("district", "street", "community", "cell"):
            value = getattr(ctx, f"{key}_code")
            hit = _first(wanted, value)
            if hit is None:
                return fail(f"{key} {value or '(none)'} is not in {', '.join(wanted)}")
            met.append(f"{key} {value} matches {hit}")
        elif key == "cell_tags":
            hits = sorted(wanted & ctx.cell_tags)
            if not hits:
                return fail(f"cell tags ({', '.join(sorted(ctx.cell_tags)) or 'none'}) include "
                            f"none of {', '.join(sorted(wanted))}")
            met.append(f"cell tagged {', '.join(hits)}")
        elif key == "working_time":
            if ctx.is_working_time != wanted:
                return fail("outside working time" if wanted else "during working time")
            met.append("during working time" if wanted else "outside working time")
        elif key == "keywords":
            text = ctx.description.casefold()
            hits = [k for k in wanted if k.casefold() in text]
            if not hits:
                return fail(f"description contains none of {', '.join(wanted)}")
            met.append("description contains " + ", ".join(f"'{k}'" for k in hits))
        elif key == "near_component_m":
            found = (ctx.nearest_component(ctx.category_code, wanted)
                     if ctx.nearest_component is not None else None)
            if found is None:
                return fail(f"no {ctx.category_code} component within {wanted:g} m")
            component = found
            met.append(f"component {found.object_id} ({found.category_code}) within "
                       f"{wanted:g} m, owner {found.owner_unit_code}")
    return RuleMatch(rule, True, met, None, component)


def trace(ruleset: RuleSet, ctx: RoutingContext) -> list[RuleMatch]:
    """Evaluate rules in order up to and including the first match (for explain views)."""
    result = []
    for rule in ruleset.rules:
        outcome = match_rule(rule, ctx)
        result.append(outcome)
        if outcome.matched:
            break
    return result


def territorial_unit(ctx: RoutingContext, units: Mapping[str, Unit]) -> tuple[str | None, str]:
    """The 属地 unit for a report: its street's grid centre, else the district centre, else the
    city centre. Returns the unit code (None if no centre exists at all) and a description."""
    ordered = sorted(units.values(), key=lambda u: u.code)
    if ctx.street_code:
        for unit in ordered:
            if unit.unit_type == "grid_centre" and ctx.street_code in unit.streets:
                return unit.code, f"the grid centre of street {ctx.street_code}"
    centres = [u for u in ordered if u.unit_type == "district_centre"]
    if ctx.district_code:
        own = [u for u in centres if u.code.startswith(ctx.district_code)
               or any(s.startswith(ctx.district_code) for s in u.streets)]
        centres = own or centres
    lacking = (f"street {ctx.street_code} has no grid centre" if ctx.street_code
               else "the report has no street")
    if centres:
        return centres[0].code, f"the district centre ({lacking})"
    for unit in ordered:
        if unit.unit_type == "city_centre":
            return unit.code, f"the city centre ({lacking} and there is no district centre)"
    return None, f"no centre is configured ({lacking})"


def _resolve(template: str, ctx: RoutingContext, component: Component | None
             ) -> tuple[str | None, str | None]:
    """Fill an assign template; returns (unit code, None) or (None, reason)."""
    values = {"district": ctx.district_code, "street": ctx.street_code,
              "community": ctx.community_code, "cell": ctx.cell_code,
              "component_owner": component.owner_unit_code if component else None}
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(literal)
        if name is not None:
            value = values.get(name)
            if not value:
                return None, f"placeholder {{{name}}} has no value for this report"
            parts.append(value)
    return "".join(parts), None


def _unit_label(code: str | None, units: Mapping[str, Unit]) -> str:
    if code is None:
        return "nobody (left for the dispatcher)"
    unit = units.get(code)
    return f"{code} ({unit.name_zh})" if unit else code


def decide(ruleset: RuleSet, ctx: RoutingContext, *, units: Mapping[str, Unit]) -> Decision:
    """Route one report. The first matching rule decides; when none matches, or its unit cannot
    be resolved to an existing unit, the street grid centre takes the case (fallback=True,
    never filed automatically)."""
    hash_note = f"Rules sha256 {ruleset.short_hash} ({ruleset.source})."
    # Rules whose category cannot match are skipped before match_rule builds explanations
    # (intake routes every report through here).
    outcome = next((m for m in (match_rule(r, ctx)
                                for r in ruleset.candidates(ctx.category_code))
                    if m.matched), None)
    if outcome is None:
        unit_code, why = territorial_unit(ctx, units)
        explanation = (f"No rule matched ({len(ruleset.rules)} checked). 属地兜底: assigned to "
                       f"{_unit_label(unit_code, units)}, {why}. {hash_note}")
        return Decision(unit_code=unit_code, urgency=ctx.urgency, standard_id=None, limit=None,
                        auto_file=False, rule_id=None, matched=[],
                        ruleset_hash=ruleset.content_hash, fallback=True, explanation=explanation)
    rule, then = outcome.rule, outcome.rule.then
    urgency = then.urgency or ctx.urgency
    conditions = "; ".join(outcome.met) if outcome.met else "no conditions (matches every report)"
    head = f"Rule '{rule.id}' (#{rule.index}) matched: {conditions}."
    settings = [f"urgency {urgency}"]
    if then.standard:
        settings.append(f"standard {then.standard}")
    if then.limit:
        settings.append(f"limit {then.limit}")
    unit_code, problem = _resolve(then.assign, ctx, outcome.component)
    if problem is None and unit_code not in units:
        problem = f"unit '{unit_code}' does not exist"
    component_id = outcome.component.object_id if outcome.component else None
    if problem is not None:
        target, why = territorial_unit(ctx, units)
        explanation = (f"{head} Its assignment '{then.assign}' failed: {problem}. 属地兜底: "
                       f"assigned to {_unit_label(target, units)}, {why}; "
                       f"{', '.join(settings)}; not filed automatically. {hash_note}")
        return Decision(unit_code=target, urgency=urgency, standard_id=then.standard,
                        limit=then.limit, auto_file=False, rule_id=rule.id,
                        matched=list(outcome.met), ruleset_hash=ruleset.content_hash,
                        fallback=True, explanation=explanation, component_id=component_id)
    auto_file = bool(then.auto_file)
    if auto_file:
        settings.append("filed automatically")
    explanation = (f"{head} Assigned to {_unit_label(unit_code, units)}; {', '.join(settings)}. "
                   f"{hash_note}")
    return Decision(unit_code=unit_code, urgency=urgency, standard_id=then.standard,
                    limit=then.limit, auto_file=auto_file, rule_id=rule.id,
                    matched=list(outcome.met), ruleset_hash=ruleset.content_hash, fallback=False,
                    explanation=explanation, component_id=component_id)
