"""Routing rules: loading and its error messages, shadow warnings, decide() and reloading."""
from __future__ import annotations

import hashlib
import os
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gridroute.reference import Component, Unit, load_reference
from gridroute.rules import (
    RoutingContext, RulesError, RulesHolder, check_ruleset, decide, load_ruleset, shadows,
    trace,
)
from gridroute.rules.model import Conditions
from gridroute.sla.clock import Limit

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "reference" / "huangpu"
CATEGORIES = {"C0101", "C0102", "C0110", "C0201", "E0101", "E0102", "E0104", "E0401", "E0501"}
STREETS = ("310101001", "310101002")


def make_units() -> dict[str, Unit]:
    units = [Unit("city-centre", "市中心", "City centre", "city_centre"),
             Unit("310101-centre", "黄浦区中心", "Huangpu centre", "district_centre",
                  "city-centre", STREETS),
             Unit("water-supply", "供水公司", "Water supply", "water", "310101-centre"),
             Unit("drainage", "排水公司", "Drainage", "water", "310101-centre"),
             Unit("greening", "绿化市容所", "Greening", "greening", "310101-centre")]
    for street in STREETS:
        units.append(Unit(f"{street}-gridcentre", f"{street}网格中心", "Grid centre", "grid_centre",
                          "310101-centre", (street,)))
        units.append(Unit(f"{street}-enforcement", f"{street}执法中队", "Enforcement",
                          "enforcement_squad", f"{street}-gridcentre", (street,)))
    return {u.code: u for u in units}


UNITS = make_units()
KNOWN = {"known_units": set(UNITS), "known_categories": CATEGORIES}


def write_rules(tmp_path: Path, body: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return path


def load(tmp_path: Path, body: str, **extra):
    return load_ruleset(write_rules(tmp_path, body), **{**KNOWN, **extra})


def load_errors(tmp_path: Path, body: str, **extra) -> list[str]:
    path = write_rules(tmp_path, body)
    with pytest.raises(RulesError) as info:
        load_ruleset(path, **{**KNOWN, **extra})
    return [e.replace(str(path), "F") for e in info.value.errors]


def ctx(category="E0102", cell="310101001002003", **fields) -> RoutingContext:
    fields.setdefault("at", datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc))
    return RoutingContext.for_cell(category, cell, **fields)


COMPONENT = Component("3101010101000007", "C0101", 121.48, 31.22, "water-supply", "water-supply")


# --------------------------------------------------------------------------- loading

def test_load_builds_rules_with_hash_and_lines(tmp_path):
    body = """
        version = 1
        description = "样例"

        [[rules]]
        id = "manhole-owner"
        description = "井盖问题交权属单位"
        when = { category = ["C01*"], near_component_m = 30 }
        then = { assign = "{component_owner}", urgency = "urgent" }

        [[rules]]
        id = "refuse"
        [rules.when]
        category = "E0102"
        street = ["310101001", "3101010*"]
        [rules.then]
        assign = "greening"
        limit = "4 working_hours"
        auto_file = true
    """
    path = write_rules(tmp_path, body)
    ruleset = load_ruleset(path, **KNOWN)
    assert ruleset.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ruleset.source == str(path) and ruleset.description == "样例"
    first, second = ruleset.rules
    assert (first.id, first.index, first.line, first.description) == (
        "manhole-owner", 1, 4, "井盖问题交权属单位")
    assert first.when == Conditions(category=("C01*",), near_component_m=30.0)
    assert (first.then.assign, first.then.urgency) == ("{component_owner}", "urgent")
    assert (second.line, second.when.category, second.when.street) == (
        10, ("E0102",), ("310101001", "3101010*"))
    assert (second.then.limit, second.then.auto_file) == (Limit(4, "working_hours"), True)


def test_toml_syntax_error_has_line(tmp_path):
    errors = load_errors(tmp_path, """
        version = 1
        [[rules]]
        id = "a"
        then = { assign = "greening" 
        """)
    assert errors == ["F:4: Unclosed inline table (column 30)"]


def test_toml_syntax_error_exact_message(tmp_path):
    errors = load_errors(tmp_path, """
        version = 1
        [[rules]]
        id "a"
        """)
    assert errors == ["F:3: Expected '=' after a key in a key/value pair (column 4)"]


def test_semantic_errors_name_rule_field_and_line(tmp_path):
    errors = load_errors(tmp_path, """
        version = 1
        colour = "blue"

        [[rules]]
        id = "one"
        when = { category = ["C99*", "E0999", "X1"], urgency = "soon", street = ["31010100"] }
        then = { assign = "nobody", urgency = 3 }

        [[rules]]
        id = "two"
        priority = 2
        when = { weather = "rain", working_time = "yes", near_component_m = -1, cell_tags = [] }
        then = { assign = "{street}-{unit}", colour = "red", auto_file = "yes" }

        [[rules]]
        id = "three"
        [rules.when]
        keywords = [""]
        category = "C0101"
        channel = "app"
        [rules.then]
        assign = "{component_owner}"
        standard = "C0101-1"
        limit = "4 working_hours"

        [[rules]]
        id = "one"
        when = { category = "E0102" }

        [[rules]]
        id = "bad id!"
        then = { assign = "{street}-enforcment", limit = "三天" }

        [[rules]]
        id = "five"
        then = { assign = "{street:>9}" }
    """)
    assert errors == [
        "F:2: colour: unknown key (known: version, description, rules)",
        "F:6: rules[1] 'one': when.category: prefix 'C99*' matches no known category",
        "F:6: rules[1] 'one': when.category: unknown category 'E0999'",
        "F:6: rules[1] 'one': when.category: 'X1' is not a category code or prefix "
        "(e.g. 'C0101', 'C01*', 'E*')",
        "F:6: rules[1] 'one': when.urgency: must be 'normal' or 'urgent', got 'soon'",
        "F:6: rules[1] 'one': when.street: '31010100' is not a 9-digit street code or a prefix "
        "ending in '*'",
        "F:7: rules[1] 'one': then.assign: unknown unit 'nobody'",
        "F:7: rules[1] 'one': then.urgency: must be 'normal' or 'urgent', got 3",
        "F:11: rules[2] 'two': priority: unknown key (known: id, description, when, then)",
        "F:12: rules[2] 'two': when.weather: unknown condition (known: category, urgency, "
        "channel, district, street, community, cell, cell_tags, working_time, keywords, "
        "near_component_m)",
        "F:12: rules[2] 'two': when.working_time: must be true or false, got 'yes'",
        "F:12: rules[2] 'two': when.near_component_m: must be a positive number of metres, "
        "got -1",
        "F:12: rules[2] 'two': when.cell_tags: must be a non-empty string or list of strings, "
        "got []",
        "F:13: rules[2] 'two': then.colour: unknown action (known: assign, urgency, standard, "
        "limit, auto_file)",
        "F:13: rules[2] 'two': then.assign: unknown placeholder '{unit}' (known: {street}, "
        "{district}, {community}, {cell}, {component_owner})",
        "F:13: rules[2] 'two': then.auto_file: must be true or false, got 'yes'",
        "F:18: rules[3] 'three': when.keywords: must be a non-empty string or list of strings, "
        "got ['']",
        "F:20: rules[3] 'three': when.channel: unknown channel 'app' (known: inspector, public, "
        "hotline, import)",
        "F:22: rules[3] 'three': then.assign: '{component_owner}' needs when.near_component_m",
        "F:24: rules[3] 'three': then.limit: give either standard or limit, not both",
        "F:27: rules[4] 'one': id: duplicate of rules[1]",
        "F:26: rules[4] 'one': then: required (at least then.assign)",
        "F:31: rules[5] 'bad id!': id: must be letters, digits, '-', '_' or '.', got 'bad id!'",
        "F:32: rules[5] 'bad id!': then.assign: template '{street}-enforcment' matches no "
        "known unit",
        "F:32: rules[5] 'bad id!': then.limit: cannot read '三天' (e.g. '4 working_hours')",
        "F:36: rules[6] 'five': then.assign: bad template '{street:>9}': placeholder '{street}' "
        "may not carry a format or conversion",
    ]


def test_version_and_structure_errors(tmp_path):
    assert load_errors(tmp_path, 'rules = 3\n') == [
        "F: version: required (version = 1)",
        "F:1: rules: must be an array of tables ([[rules]])",
    ]
    assert load_errors(tmp_path, 'version = 2\n') == [
        "F:1: version: unsupported version 2 (this program reads 1)"]
    assert load_errors(tmp_path, '''
        version = 1
        rules = [{ id = "a", then = { assign = "nobody" } }, 5]
        ''') == ["F: rules[1] 'a': then.assign: unknown unit 'nobody'",
                 "F: rules[2]: must be a table"]
    assert load_errors(tmp_path, '''
        version = 1
        [[rules]]
        id = "a"
        when = "always"
        then = { assign = "greening" }
        ''') == ["F:4: rules[1] 'a': when: must be a table, got 'always'"]


def test_standard_checks(tmp_path):
    body = """
        version = 1
        [[rules]]
        id = "cover"
        when = { category = ["C01*"] }
        then = { assign = "water-supply", standard = "C0101-1" }
        [[rules]]
        id = "any"
        then = { assign = "greening", standard = "C0101-9" }
        [[rules]]
        id = "ok"
        when = { category = "C0101" }
        then = { assign = "water-supply", standard = "C0101-1" }
    """
    assert load_errors(tmp_path, body, known_standards={"C0101-1"}) == [
        "F:5: rules[1] 'cover': then.standard: 'C0101-1' is a C0101 standard but when.category "
        "also matches C0102, C0110",
        "F:8: rules[2] 'any': then.standard: unknown standard 'C0101-9'",
    ]


def test_errors_file_unreadable_and_not_utf8(tmp_path):
    missing = tmp_path / "missing.toml"
    with pytest.raises(RulesError) as info:
        load_ruleset(missing, **KNOWN)
    assert info.value.errors == [f"{missing}: cannot read (No such file or directory)"]
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"version = 1\n# \xb9\xab\n")
    with pytest.raises(RulesError) as info:
        load_ruleset(latin, **KNOWN)
    assert info.value.errors == [f"{latin}:2: not valid UTF-8"]


# --------------------------------------------------------------------------- shadowing

def warnings_for(tmp_path, body) -> list[str]:
    path = write_rules(tmp_path, body)
    errors, warnings = check_ruleset(path, **KNOWN)
    assert errors == []
    return [w.replace(str(path), "F") for w in warnings]


def test_shadow_warning_for_broader_earlier_rule(tmp_path):
    assert warnings_for(tmp_path, """
        version = 1
        [[rules]]
        id = "all-events"
        when = { category = "E*" }
        then = { assign = "greening" }

        [[rules]]
        id = "refuse-in-market"
        when = { category = ["E01*"], cell_tags = ["market"], street = "310101001" }
        then = { assign = "{street}-gridcentre" }

        [[rules]]
        id = "components"
        when = { category = "C*" }
        then = { assign = "water-supply" }
    """) == ["F:7: rules[2] 'refuse-in-market': never matches: earlier rule rules[1] "
             "'all-events', line 2 catches every report it would"]


def test_catch_all_shadows_everything_after(tmp_path):
    assert warnings_for(tmp_path, """
        version = 1
        [[rules]]
        id = "everything"
        then = { assign = "greening" }
        [[rules]]
        id = "later"
        when = { channel = "inspector" }
        then = { assign = "drainage" }
    """) == ["F:5: rules[2] 'later': never matches: earlier rule rules[1] 'everything', line 2 "
             "catches every report it would"]


def test_no_warning_when_earlier_rule_is_narrower(tmp_path):
    assert warnings_for(tmp_path, """
        version = 1
        [[rules]]
        id = "market"
        when = { category = "E0102", cell_tags = "market" }
        then = { assign = "{street}-gridcentre" }
        [[rules]]
        id = "refuse"
        when = { category = "E0102" }
        then = { assign = "greening" }
    """) == []


@pytest.mark.parametrize("earlier, later, expected", [
    (Conditions(category=("E*",)), Conditions(category=("E0102", "E01*")), True),
    (Conditions(category=("E01*",)), Conditions(category=("E*",)), False),
    # expanded against the known categories: C01* here is exactly C0101, C0102 and C0110
    (Conditions(category=("C0101", "C0102", "C0110")), Conditions(category=("C01*",)), True),
    (Conditions(category=("C0101",)), Conditions(), False),
    (Conditions(category=("*",)), Conditions(), True),
    (Conditions(urgency=("normal", "urgent")), Conditions(urgency=("urgent",)), True),
    (Conditions(urgency=("urgent",)), Conditions(urgency=("normal", "urgent")), False),
    (Conditions(channel=("inspector",)), Conditions(), False),
    (Conditions(district=("310101",)), Conditions(street=("310101001",)), True),
    (Conditions(district=("310101",)), Conditions(cell=("3101010010*",)), True),
    (Conditions(district=("310101",)), Conditions(cell=("3101*",)), False),
    (Conditions(street=("310101001",)), Conditions(district=("310101",)), False),
    (Conditions(street=("3101010*",)), Conditions(community=("310101001002", "310101002*")), True),
    (Conditions(cell_tags=frozenset({"market", "road"})),
     Conditions(cell_tags=frozenset({"market"})), True),
    (Conditions(cell_tags=frozenset({"market"})),
     Conditions(cell_tags=frozenset({"market", "road"})), False),
    (Conditions(working_time=False), Conditions(working_time=False), True),
    (Conditions(working_time=False), Conditions(), False),
    (Conditions(keywords=("塌陷",)), Conditions(keywords=("路面塌陷", "塌陷了")), True),
    (Conditions(keywords=("路面塌陷",)), Conditions(keywords=("塌陷",)), False),
    (Conditions(keywords=("leak",)), Conditions(keywords=("Water LEAK",)), True),
    (Conditions(near_component_m=30.0), Conditions(near_component_m=20.0), True),
    (Conditions(near_component_m=20.0), Conditions(near_component_m=30.0), False),
])
def test_shadow_per_condition(earlier, later, expected):
    assert shadows(earlier, later, CATEGORIES) is expected


# --------------------------------------------------------------------------- decide

ORDER_RULES = """
    version = 1
    [[rules]]
    id = "first"
    when = { category = "E0102", keywords = ["垃圾"] }
    then = { assign = "greening", urgency = "urgent" }

    [[rules]]
    id = "second"
    when = { category = "E01*" }
    then = { assign = "{street}-enforcement" }
"""


def test_first_matching_rule_wins(tmp_path):
    ruleset = load(tmp_path, ORDER_RULES)
    decision = decide(ruleset, ctx(description="路边有一堆垃圾"), units=UNITS)
    assert (decision.rule_id, decision.unit_code, decision.urgency, decision.fallback) == (
        "first", "greening", "urgent", False)
    decision = decide(ruleset, ctx(description="路面脏"), units=UNITS)
    assert (decision.rule_id, decision.unit_code, decision.urgency) == (
        "second", "310101001-enforcement", "normal")
    assert [m.rule.id for m in trace(ruleset, ctx(description="路面脏"))] == ["first", "second"]
    assert trace(ruleset, ctx(description="路面脏"))[0].failed == (
        "description contains none of 垃圾")


def test_explanation_contents(tmp_path):
    ruleset = load(tmp_path, ORDER_RULES)
    decision = decide(ruleset, ctx(description="有暴露垃圾"), units=UNITS)
    assert decision.matched == ["category E0102 matches E0102", "description contains '垃圾'"]
    assert decision.ruleset_hash == ruleset.content_hash
    assert decision.explanation == (
        "Rule 'first' (#1) matched: category E0102 matches E0102; description contains '垃圾'. "
        "Assigned to greening (绿化市容所); urgency urgent. "
        f"Rules sha256 {ruleset.content_hash[:12]} ({ruleset.source}).")


@pytest.mark.parametrize("condition, good, bad, matched", [
    ('category = ["E01*"]', {}, {"category": "C0101"}, "category E0102 matches E01*"),
    ('urgency = "urgent"', {"urgency": "urgent"}, {}, "urgency urgent"),
    ('channel = ["inspector", "public"]', {"channel": "public"}, {"channel": "hotline"},
     "channel public"),
    ('district = "310101"', {}, {"cell": "310104001001001"}, "district 310101 matches 310101"),
    ('street = ["310101002", "31010100*"]', {}, {"cell": "310101013001001"},
     "street 310101001 matches 31010100*"),
    ('community = "310101001*"', {}, {"cell": "310101002002003"},
     "community 310101001002 matches 310101001*"),
    ('cell = "310101001002003"', {}, {"cell": "310101001002004"},
     "cell 310101001002003 matches 310101001002003"),
    ('cell_tags = ["market", "waterfront"]', {"cell_tags": frozenset({"road", "market"})},
     {"cell_tags": frozenset({"road"})}, "cell tagged market"),
    ("working_time = false", {"is_working_time": False}, {"is_working_time": True},
     "outside working time"),
    ("working_time = true", {"is_working_time": True}, {"is_working_time": False},
     "during working time"),
    ('keywords = ["塌陷", "leak"]', {"description": "Water LEAKING, 路面塌陷"},
     {"description": "路面破损"}, "description contains '塌陷', 'leak'"),
])
def test_each_condition(tmp_path, condition, good, bad, matched):
    ruleset = load(tmp_path, f"""
        version = 1
        [[rules]]
        id = "r"
        when = {{ {condition} }}
        then = {{ assign = "greening" }}
    """)
    decision = decide(ruleset, ctx(**good), units=UNITS)
    assert (decision.rule_id, decision.matched) == ("r", [matched])
    fields = dict(bad)
    cell = fields.pop("cell", "310101001002003")
    category = fields.pop("category", "E0102")
    assert decide(ruleset, ctx(category, cell, **fields), units=UNITS).rule_id is None


def test_near_component_and_owner_template(tmp_path):
    ruleset = load(tmp_path, """
        version = 1
        [[rules]]
        id = "owner"
        when = { category = "C01*", near_component_m = 30 }
        then = { assign = "{component_owner}" }
    """)
    calls = []

    def nearest(category, radius):
        calls.append((category, radius))
        return COMPONENT if radius >= 30 else None

    decision = decide(ruleset, ctx("C0101", nearest_component=nearest), units=UNITS)
    assert calls == [("C0101", 30.0)]
    assert (decision.unit_code, decision.component_id, decision.fallback) == (
        "water-supply", "3101010101000007", False)
    assert decision.matched == [
        "category C0101 matches C01*",
        "component 3101010101000007 (C0101) within 30 m, owner water-supply"]
    # no component nearby, or no look-up available: the rule does not match
    assert decide(ruleset, ctx("C0101", nearest_component=lambda c, r: None),
                  units=UNITS).rule_id is None
    assert decide(ruleset, ctx("C0101"), units=UNITS).rule_id is None


@pytest.mark.parametrize("template, unit", [
    ("{street}-enforcement", "310101002-enforcement"),
    ("{street}-gridcentre", "310101002-gridcentre"),
    ("{district}-centre", "310101-centre"),
])
def test_templates(tmp_path, template, unit):
    ruleset = load(tmp_path, f"""
        version = 1
        [[rules]]
        id = "t"
        then = {{ assign = "{template}" }}
    """)
    decision = decide(ruleset, ctx(cell="310101002001001"), units=UNITS)
    assert (decision.unit_code, decision.fallback) == (unit, False)


def test_community_and_cell_templates(tmp_path):
    units = {**UNITS, "u-310101002001": Unit("u-310101002001", "居委", "Community", "property"),
             "u-310101002001009": Unit("u-310101002001009", "物业", "Property", "property")}
    known = {**KNOWN, "known_units": set(units)}
    ruleset = load(tmp_path, """
        version = 1
        [[rules]]
        id = "cell"
        when = { category = "E0101" }
        then = { assign = "u-{cell}" }
        [[rules]]
        id = "community"
        then = { assign = "u-{community}" }
    """, **known)
    assert decide(ruleset, ctx("E0101", "310101002001009"), units=units).unit_code == (
        "u-310101002001009")
    assert decide(ruleset, ctx("E0102", "310101002001009"), units=units).unit_code == (
        "u-310101002001")


def test_fallback_when_no_rule_matches(tmp_path):
    ruleset = load(tmp_path, ORDER_RULES)
    decision = decide(ruleset, ctx("C0201", "310101002003004", urgency="urgent"), units=UNITS)
    assert (decision.unit_code, decision.fallback, decision.rule_id, decision.urgency,
            decision.auto_file, decision.matched) == (
        "310101002-gridcentre", True, None, "urgent", False, [])
    assert decision.explanation == (
        "No rule matched (2 checked). 属地兜底: assigned to 310101002-gridcentre "
        "(310101002网格中心), the grid centre of street 310101002. "
        f"Rules sha256 {ruleset.short_hash} ({ruleset.source}).")


def test_fallback_when_assigned_unit_does_not_exist(tmp_path):
    ruleset = load(tmp_path, """
        version = 1
        [[rules]]
        id = "squad"
        when = { category = "E0501" }
        then = { assign = "{street}-enforcement", urgency = "urgent", auto_file = true }
    """)
    # street 310101003 has neither an enforcement squad nor a grid centre in UNITS
    decision = decide(ruleset, ctx("E0501", "310101003001001"), units=UNITS)
    assert (decision.unit_code, decision.fallback, decision.rule_id, decision.urgency,
            decision.auto_file) == ("310101-centre", True, "squad", "urgent", False)
    assert decision.explanation == (
        "Rule 'squad' (#1) matched: category E0501 matches E0501. Its assignment "
        "'{street}-enforcement' failed: unit '310101003-enforcement' does not exist. 属地兜底: "
        "assigned to 310101-centre (黄浦区中心), the district centre (street 310101003 has no "
        "grid centre); urgency urgent; not filed automatically. "
        f"Rules sha256 {ruleset.short_hash} ({ruleset.source}).")


def test_fallback_chain_without_street_or_centres(tmp_path):
    ruleset = load(tmp_path, ORDER_RULES)
    unlocated = RoutingContext(category_code="C0201")
    decision = decide(ruleset, unlocated, units=UNITS)
    assert (decision.unit_code, decision.fallback) == ("310101-centre", True)
    assert "the district centre (the report has no street)" in decision.explanation
    only_city = {"city-centre": UNITS["city-centre"]}
    decision = decide(ruleset, unlocated, units=only_city)
    assert decision.unit_code == "city-centre"
    decision = decide(ruleset, unlocated, units={})
    assert (decision.unit_code, decision.fallback) == (None, True)
    assert "assigned to nobody (left for the dispatcher), no centre is configured" in (
        decision.explanation)


def test_template_placeholder_without_value_falls_back(tmp_path):
    ruleset = load(tmp_path, ORDER_RULES)
    decision = decide(ruleset, RoutingContext(category_code="E0104"), units=UNITS)
    assert (decision.rule_id, decision.fallback, decision.unit_code) == (
        "second", True, "310101-centre")
    assert "failed: placeholder {street} has no value for this report" in decision.explanation


def test_actions_standard_limit_auto_file(tmp_path):
    ruleset = load(tmp_path, """
        version = 1
        [[rules]]
        id = "standard"
        when = { category = "E0401", cell_tags = "waterfront" }
        then = { assign = "drainage", urgency = "urgent", standard = "E0401-1", auto_file = true }
        [[rules]]
        id = "limit"
        when = { category = "E0401" }
        then = { assign = "drainage", limit = "4工作时", auto_file = false }
    """)
    decision = decide(ruleset, ctx("E0401", cell_tags=frozenset({"waterfront"})), units=UNITS)
    assert (decision.standard_id, decision.limit, decision.auto_file, decision.urgency) == (
        "E0401-1", None, True, "urgent")
    assert decision.explanation.endswith(
        "Assigned to drainage (排水公司); urgency urgent, standard E0401-1, filed automatically. "
        f"Rules sha256 {ruleset.short_hash} ({ruleset.source}).")
    decision = decide(ruleset, ctx("E0401"), units=UNITS)
    assert (decision.standard_id, decision.limit, decision.auto_file) == (
        None, Limit(4, "working_hours"), False)
    assert "urgency normal, limit 4 working_hours." in decision.explanation


# --------------------------------------------------------------------------- reloading

def bump_mtime(path: Path, seconds: int) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 1_000_000_000))


def test_holder_reloads_and_refuses_bad_files(tmp_path, caplog):
    path = write_rules(tmp_path, ORDER_RULES)
    holder = RulesHolder(path, KNOWN)
    first = holder.current()
    assert [r.id for r in first.rules] == ["first", "second"]
    assert holder.current() is first  # unchanged file: same object

    write_rules(tmp_path, ORDER_RULES.replace('"second"', '"other"'))
    bump_mtime(path, 1)
    second = holder.current()
    assert [r.id for r in second.rules] == ["first", "other"]
    assert second.content_hash != first.content_hash and holder.last_error is None

    write_rules(tmp_path, ORDER_RULES.replace('"greening"', '"nobody"'))
    bump_mtime(path, 2)
    with caplog.at_level("ERROR", logger="gridroute.rules.holder"):
        assert holder.current() is second
    assert holder.last_error == f"{path}:5: rules[1] 'first': then.assign: unknown unit 'nobody'"
    assert "refused" in caplog.text

    bump_mtime(path, 3)  # same bad content, touched: not parsed or logged again
    caplog.clear()
    assert holder.refresh() is False and caplog.text == ""

    write_rules(tmp_path, ORDER_RULES.replace('"second"', '"other"'))
    bump_mtime(path, 4)  # back to the content in force: nothing to swap, error cleared
    assert holder.refresh() is False
    assert holder.current() is second and holder.last_error is None


def test_holder_keeps_serving_when_file_disappears(tmp_path):
    path = write_rules(tmp_path, ORDER_RULES)
    holder = RulesHolder(path, KNOWN)
    active = holder.current()
    path.unlink()
    assert holder.current() is active
    assert holder.last_error.startswith(f"{path}: cannot read the rules file")


def test_holder_first_load_must_succeed(tmp_path):
    path = write_rules(tmp_path, "version = 1\n[[rules]]\nid = 'x'\n")
    with pytest.raises(RulesError):
        RulesHolder(path, KNOWN)


# --------------------------------------------------------------------------- shipped sample

@pytest.fixture(scope="module")
def sample():
    data = load_reference(categories=SAMPLE / "categories.csv",
                          standards=SAMPLE / "standards.csv", units=SAMPLE / "units.csv",
                          components=SAMPLE / "components.csv")
    kwargs = {"known_units": set(data.units), "known_categories": set(data.categories),
              "known_standards": set(data.standards)}
    return data, kwargs


def test_shipped_rules_pass_check(sample):
    data, kwargs = sample
    path = ROOT / "data" / "rules" / "huangpu.toml"
    assert check_ruleset(path, **kwargs) == ([], [])
    assert len(load_ruleset(path, **kwargs).rules) >= 20


@pytest.mark.parametrize("category, fields, unit, rule, urgency", [
    ("C0102", {"description": "井盖冒水"}, "drainage", "utility-component-urgent", "urgent"),
    ("C0102", {}, "drainage", "utility-component-owner", "normal"),
    ("C0105", {"near": False}, "power", "power-covers", "normal"),
    ("E0102", {"cell_tags": frozenset({"market"})}, "310101004-gridcentre", "market-refuse",
     "normal"),
    ("E0102", {}, "greening", "refuse-and-cleaning", "normal"),
    ("E0502", {}, "310101004-enforcement", "street-order", "normal"),
    ("E0401", {"cell_tags": frozenset({"waterfront"})}, "drainage", "waterfront-flooding",
     "urgent"),
    ("E0301", {"is_working_time": False}, "310101004-enforcement", "night-construction-noise",
     "urgent"),
    ("E0601", {"channel": "inspector"}, "310101004-gridcentre", "inspector-reports", "normal"),
    ("E0601", {}, "310101004-gridcentre", None, "normal"),
])
def test_shipped_rules_route_sample_reports(sample, category, fields, unit, rule, urgency):
    data, kwargs = sample
    ruleset = load_ruleset(ROOT / "data" / "rules" / "huangpu.toml", **kwargs)
    fields = dict(fields)
    near = fields.pop("near", True)
    component = next((c for c in data.components.values() if c.category_code == category), None)
    lookup = (lambda cat, radius: component if cat == category else None) if near else None
    decision = decide(ruleset, ctx(category, "310101004001001", nearest_component=lookup,
                                   **fields), units=data.units)
    assert (decision.unit_code, decision.rule_id, decision.urgency, decision.fallback) == (
        unit, rule, urgency, rule is None)


def test_holder_concurrent_readers_see_whole_rule_sets(tmp_path):
    import threading

    path = write_rules(tmp_path, ORDER_RULES)
    holder = RulesHolder(path, KNOWN)
    seen: set[tuple[str, ...]] = set()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            seen.add(tuple(r.id for r in holder.current().rules))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for n in range(20):
        name = f"v{n}"
        write_rules(tmp_path, ORDER_RULES.replace('"second"', f'"{name}"'))
        bump_mtime(path, n + 1)
        holder.refresh()
    stop.set()
    for thread in threads:
        thread.join()
    assert holder.current().rules[1].id == "v19"
    assert all(ids[0] == "first" and len(ids) == 2 for ids in seen)
