"""Parse and validate a routing rules file (TOML) against the reference codes.

File format::

    version = 1
    description = "黄浦区派遣规则"          # optional

    [[rules]]
    id = "manhole-owner"                   # unique; letters, digits, '-', '_', '.'
    description = "井盖问题交权属单位"      # optional
    when = { category = ["C01*"], near_component_m = 30 }
    then = { assign = "{component_owner}", urgency = "urgent" }

`when` may be left out (the rule matches everything); `then.assign` is required. Code values
may be a single string or a list. Errors name `file:line`, the rule and the field.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import string
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from gridroute.cases.model import Channel
from gridroute.rules.model import (
    ACTION_KEYS, CONDITION_KEYS, LOCATION_LEVELS, PLACEHOLDERS, Actions, Conditions, Rule, RuleSet,
    pattern_matches,
)
from gridroute.rules.shadows import shadow_warnings
from gridroute.grids.codes import CodeScheme
from gridroute.reference.models import URGENCIES
from gridroute.sla.clock import Limit, LimitOutOfRange, LimitParseError

SUPPORTED_VERSION = 1
RULE_KEYS = ("id", "description", "when", "then")
TOP_KEYS = ("version", "description", "rules")
RULE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CATEGORY_CODE_RE = re.compile(r"^[CE]\d{4}$")
CATEGORY_PREFIX_RE = re.compile(r"^(?:[CE]\d{0,3})?\*$")
PLACEHOLDER_DIGITS = dict(LOCATION_LEVELS)  # code lengths of the default scheme
_TOML_POSITION_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


class RulesError(ValueError):
    """A rules file that cannot be used; `errors` lists every problem."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} error(s) in rules:\n" + "\n".join(self.errors))


# ---------------------------------------------------------------------------------------------
# Line lookup (best effort: maps a rule and field to the line that holds it)

class _Lines:
    _HEADER_RE = re.compile(r"^\s*\[\[\s*rules\s*\]\]")

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.headers = [i for i, line in enumerate(self.lines) if self._HEADER_RE.match(line)]

    def usable(self, rule_count: int) -> bool:
        return len(self.headers) == rule_count

    def rule_line(self, index: int) -> int | None:
        """1-based line of the header of rule `index` (1-based)."""
        if 0 < index <= len(self.headers):
            return self.headers[index - 1] + 1
        return None

    def field_line(self, index: int, section: str | None, key: str | None) -> int | None:
        start = self.rule_line(index)
        if start is None:
            return None
        begin = start - 1
        end = self.headers[index] if index < len(self.headers) else len(self.lines)
        if section is None:
            return self._find(key, begin, end) or start if key else start
        marks = {}
        for name in ("when", "then"):
            found = self._find_section(name, begin, end)
            if found is not None:
                marks[name] = found
        if section not in marks:
            return start
        sec_begin = marks[section] - 1
        later = [m - 1 for m in marks.values() if m - 1 > sec_begin]
        sec_end = min(later) if later else end
        if key is None:
            return marks[section]
        return self._find(key, sec_begin, sec_end) or marks[section]

    def _find_section(self, name: str, begin: int, end: int) -> int | None:
        table = re.compile(rf"^\s*\[\s*rules\s*\.\s*{name}\s*\]")
        inline = re.compile(rf"^\s*{name}\s*=")
        for i in range(begin, end):
            if table.match(self.lines[i]) or inline.match(self.lines[i]):
                return i + 1
        return None

    def _find(self, key: str, begin: int, end: int) -> int | None:
        pattern = re.compile(rf"(^|[\s{{,]){re.escape(key)}\s*=")
        for i in range(begin, end):
            if pattern.search(self.lines[i]):
                return i + 1
        return None


# ---------------------------------------------------------------------------------------------
# Parsing

class _Collector:
    def __init__(self, source: str, lines: _Lines | None):
        self.source = source
        self.lines = lines
        self.errors: list[str] = []

    def at(self, line: int | None) -> str:
        return f"{self.source}:{line}" if line else self.source

    def top(self, key: str, reason: str) -> None:
        line = None
        if self.lines is not None:
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
            line = next((i + 1 for i, text in enumerate(self.lines.lines)
                         if pattern.match(text)), None)
        self.errors.append(f"{self.at(line)}: {key}: {reason}")

    def rule(self, index: int, rule_id: str | None, section: str | None, key: str | None,
             reason: str) -> None:
        line = self.lines.field_line(index, section, key) if self.lines else None
        who = f"rules[{index}]" + (f" '{rule_id}'" if rule_id else "")
        where = ".".join(p for p in (section, key) if p)
        self.errors.append(f"{self.at(line)}: {who}: {where + ': ' if where else ''}{reason}")


def _strings(value: Any) -> tuple[str, ...] | None:
    """A string or a non-empty list of non-empty strings → tuple; anything else → None."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(v, str) and v.strip() for v in value):
        return None
    return tuple(v.strip() for v in value)


def _parse_conditions(when: Mapping[str, Any], report, known_categories: Collection[str],
                      digits_of: Mapping[str, int] = PLACEHOLDER_DIGITS) -> Conditions:
    values: dict[str, Any] = {}
    for key, raw in when.items():
        if key not in CONDITION_KEYS:
            report("when", key, f"unknown condition (known: {', '.join(CONDITION_KEYS)})")
            continue
        if key == "working_time":
            if isinstance(raw, bool):
                values[key] = raw
            else:
                report("when", key, f"must be true or false, got {raw!r}")
            continue
        if key == "near_component_m":
            if (isinstance(raw, (int, float)) and not isinstance(raw, bool)
                    and math.isfinite(raw) and raw > 0):
                values[key] = float(raw)
            else:
                report("when", key, f"must be a positive number of metres, got {raw!r}")
            continue
        items = _strings(raw)
        if items is None:
            report("when", key, f"must be a non-empty string or list of strings, got {raw!r}")
            continue
        bad = False
        if key == "category":
            for item in items:
                if CATEGORY_CODE_RE.match(item):
                    if item not in known_categories:
                        report("when", key, f"unknown category '{item}'")
                        bad = True
                elif CATEGORY_PREFIX_RE.match(item):
                    if not any(pattern_matches(item, c) for c in known_categories):
                        report("when", key, f"prefix '{item}' matches no known category")
                        bad = True
                else:
                    report("when", key, f"'{item}' is not a category code or prefix "
                                        f"(e.g. 'C0101', 'C01*', 'E*')")
                    bad = True
        elif key == "channel":
            channels = [c.value for c in Channel]
            for item in items:
                if item not in channels:
                    report("when", key, f"unknown channel '{item}' (known: {', '.join(channels)})")
                    bad = True
        elif key == "urgency":
            for item in items:
                if item not in URGENCIES:
                    report("when", key, f"must be 'normal' or 'urgent', got '{item}'")
                    bad = True
        elif key in digits_of:
            digits = digits_of[key]
            for item in items:
                exact = re.fullmatch(rf"\d{{{digits}}}", item)
                prefix = re.fullmatch(rf"\d{{0,{digits - 1}}}\*", item)
                if not (exact or prefix):
                    report("when", key, f"'{item}' is not a {digits}-digit {key} code or a "
                                        f"prefix ending in '*'")
                    bad = True
        if bad:
            continue
        values[key] = frozenset(items) if key == "cell_tags" else items
    return Conditions(**values)


def _template_fields(template: str) -> list[str]:
    """Placeholder names of an assign template; raises ValueError for a broken template."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"placeholder '{{{name}}}' may not carry a format or conversion")
        names.append(name)
    return names


def template_regex(template: str, scheme: CodeScheme | None = None) -> re.Pattern[str]:
    """A regular expression matching every unit code the template can produce (codes of
    `scheme`'s lengths, the default scheme's if none)."""
    digits_of = dict(scheme.levels()) if scheme is not None else PLACEHOLDER_DIGITS
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is not None:
            digits = digits_of.get(name)
            parts.append(rf"\d{{{digits}}}" if digits else ".+")
    return re.compile("".join(parts))


def _parse_actions(then: Mapping[str, Any], conditions: Conditions, report,
                   known_units: Collection[str], known_categories: Collection[str],
                   known_standards: Collection[str] | None,
                   scheme: CodeScheme | None = None) -> Actions | None:
    ok = True
    for key in then:
        if key not in ACTION_KEYS:
            report("then", key, f"unknown action (known: {', '.join(ACTION_KEYS)})")
            ok = False
    assign = then.get("assign")
    if assign is None:
        report("then", "assign", "required (a unit code or a template like '{street}-enforcement')")
        ok = False
    elif not isinstance(assign, str) or not assign.strip():
        report("then", "assign", f"must be a non-empty string, got {assign!r}")
        ok = False
    else:
        assign = assign.strip()
        try:
            names = _template_fields(assign)
        except ValueError as exc:
            report("then", "assign", f"bad template '{assign}': {exc}")
            names, ok = None, False
        if names is not None:
            unknown = [n for n in names if n not in PLACEHOLDERS]
            for name in unknown:
                report("then", "assign", f"unknown placeholder '{{{name}}}' (known: "
                                         f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)})")
                ok = False
            if "component_owner" in names and conditions.near_component_m is None:
                report("then", "assign", "'{component_owner}' needs when.near_component_m")
                ok = False
            if not unknown:
                if not names:
                    if assign not in known_units:
                        report("then", "assign", f"unknown unit '{assign}'")
                        ok = False
                elif names != ["component_owner"]:
                    regex = template_regex(assign, scheme)
                    if not any(regex.fullmatch(u) for u in known_units):
                        report("then", "assign", f"template '{assign}' matches no known unit")
                        ok = False
    urgency = then.get("urgency")
    if urgency is not None and urgency not in URGENCIES:
        report("then", "urgency", f"must be 'normal' or 'urgent', got {urgency!r}")
        ok = False
    standard = then.get("standard")
    if standard is not None:
        if not isinstance(standard, str) or not standard.strip():
            report("then", "standard", f"must be a standards row id like 'C0101-1', "
                                       f"got {standard!r}")
            ok = False
        elif known_standards is not None and standard not in known_standards:
            report("then", "standard", f"unknown standard '{standard}'")
            ok = False
        else:
            own = standard.rsplit("-", 1)[0]
            if conditions.category is None:
                report("then", "standard", f"'{standard}' is a {own} standard: limit "
                                           f"when.category to {own}")
                ok = False
            else:
                others = sorted(c for c in known_categories if c != own and any(
                    pattern_matches(p, c) for p in conditions.category))
                if others:
                    report("then", "standard", f"'{standard}' is a {own} standard but "
                                               f"when.category also matches "
                                               f"{', '.join(others[:5])}"
                                               f"{' …' if len(others) > 5 else ''}")
                    ok = False
    limit = then.get("limit")
    parsed_limit = None
    if limit is not None:
        if standard is not None:
            report("then", "limit", "give either standard or limit, not both")
            ok = False
        elif not isinstance(limit, str):
            report("then", "limit", f"must be a string like '4 working_hours', got {limit!r}")
            ok = False
        else:
            try:
                parsed_limit = Limit.from_text(limit)
            except LimitOutOfRange as exc:  # it reads, but is negative or absurdly long
                report("then", "limit", str(exc).replace("bad limit amount ", "")
                       .replace("bad limit ", ""))
                ok = False
            except LimitParseError:
                report("then", "limit", f"cannot read '{limit}' (e.g. '4 working_hours')")
                ok = False
    auto_file = then.get("auto_file")
    if auto_file is not None and not isinstance(auto_file, bool):
        report("then", "auto_file", f"must be true or false, got {auto_file!r}")
        ok = False
    if not ok:
        return None
    return Actions(assign=assign, urgency=urgency, standard=standard, limit=parsed_limit,
                   auto_file=auto_file)


def _parse(data: bytes, source: str, known_units: Collection[str],
           known_categories: Collection[str], known_standards: Collection[str] | None,
           scheme: CodeScheme | None = None) -> tuple[RuleSet, list[str]]:
    """Parse what can be parsed; returns the valid rules and the list of errors. Location
    codes are checked against `scheme`'s lengths (the default 15-digit scheme if none)."""
    scheme = scheme or CodeScheme()
    digits_of = dict(scheme.levels())
    content_hash = hashlib.sha256(data).hexdigest()
    empty = RuleSet(rules=(), content_hash=content_hash, source=source, scheme=scheme)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return empty, [f"{source}:{line}: not valid UTF-8"]
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_POSITION_RE.search(message)
        if found:
            message = _TOML_POSITION_RE.sub("", message)
            return empty, [f"{source}:{found.group(1)}: {message} (column {found.group(2)})"]
        return empty, [f"{source}: {message}"]
    lines = _Lines(text)
    out = _Collector(source, lines)
    for key in document:
        if key not in TOP_KEYS:
            out.top(key, f"unknown key (known: {', '.join(TOP_KEYS)})")
    version = document.get("version")
    if version is None:
        out.top("version", f"required (version = {SUPPORTED_VERSION})")
    elif version != SUPPORTED_VERSION or isinstance(version, bool):
        out.top("version", f"unsupported version {version!r} (this program reads "
                           f"{SUPPORTED_VERSION})")
    description = document.get("description", "")
    if not isinstance(description, str):
        out.top("description", f"must be a string, got {description!r}")
        description = ""
    raw_rules = document.get("rules", [])
    if not isinstance(raw_rules, list):
        out.top("rules", "must be an array of tables ([[rules]])")
        raw_rules = []
    if not lines.usable(len(raw_rules)):
        out.lines = None  # rules not written as [[rules]] tables: no per-rule line numbers
    rules: list[Rule] = []
    seen_ids: dict[str, int] = {}
    for index, raw in enumerate(raw_rules, start=1):
        if not isinstance(raw, dict):
            out.rule(index, None, None, None, "must be a table")
            continue
        rule_id = raw.get("id")
        label_id = rule_id if isinstance(rule_id, str) else None
        errors_before = len(out.errors)

        def report(section, key, reason, _i=index, _id=label_id):
            out.rule(_i, _id, section, key, reason)

        for key in raw:
            if key not in RULE_KEYS:
                report(None, key, f"unknown key (known: {', '.join(RULE_KEYS)})")
        if rule_id is None:
            report(None, "id", "required")
        elif not isinstance(rule_id, str) or not RULE_ID_RE.match(rule_id):
            report(None, "id", f"must be letters, digits, '-', '_' or '.', got {rule_id!r}")
        elif rule_id in seen_ids:
            report(None, "id", f"duplicate of rules[{seen_ids[rule_id]}]")
        else:
            seen_ids[rule_id] = index
        rule_description = raw.get("description", "")
        if not isinstance(rule_description, str):
            report(None, "description", f"must be a string, got {rule_description!r}")
        when = raw.get("when", {})
        if not isinstance(when, dict):
            report("when", None, f"must be a table, got {when!r}")
            when = {}
        conditions = _parse_conditions(when, report, known_categories, digits_of)
        if conditions.near_component_m is not None and conditions.category and any(
                p.startswith("E") for p in conditions.category):
            report("when", "near_component_m", "only 部件 (C) categories have components; "
                                               "when.category includes 事件 (E) codes")
        then = raw.get("then")
        actions = None
        if then is None:
            report("then", None, "required (at least then.assign)")
        elif not isinstance(then, dict):
            report("then", None, f"must be a table, got {then!r}")
        else:
            actions = _parse_actions(then, conditions, report, known_units, known_categories,
                                     known_standards, scheme)
        if len(out.errors) == errors_before and actions is not None:
            rules.append(Rule(id=rule_id, index=index, when=conditions, then=actions,
                              description=rule_description,
                              line=lines.rule_line(index) if out.lines else None))
    ruleset = RuleSet(rules=tuple(rules), content_hash=content_hash, source=source,
                      version=SUPPORTED_VERSION, description=description, scheme=scheme)
    return ruleset, out.errors


def parse_ruleset(data: bytes, source: str, *, known_units: Collection[str],
                  known_categories: Collection[str],
                  known_standards: Collection[str] | None = None,
                  scheme: CodeScheme | None = None) -> RuleSet:
    """Parse rules from bytes (`source` names them in messages); raises `RulesError`."""
    ruleset, errors = _parse(data, source, known_units, known_categories, known_standards,
                             scheme)
    if errors:
        raise RulesError(errors)
    return ruleset


def read_rules_file(path: str | os.PathLike) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise RulesError([f"{path}: cannot read ({exc.strerror or exc})"]) from None


def load_ruleset(path: str | os.PathLike, *, known_units: Collection[str],
                 known_categories: Collection[str],
                 known_standards: Collection[str] | None = None,
                 scheme: CodeScheme | None = None) -> RuleSet:
    """Load and validate a rules file; raises `RulesError` listing every problem."""
    return parse_ruleset(read_rules_file(path), str(path), known_units=known_units,
                         known_categories=known_categories, known_standards=known_standards,
                         scheme=scheme)


def inspect_ruleset(path: str | os.PathLike, *, known_units: Collection[str],
                    known_categories: Collection[str],
                    known_standards: Collection[str] | None = None,
                    scheme: CodeScheme | None = None
                    ) -> tuple[RuleSet | None, list[str], list[str]]:
    """Validate a rules file without raising: `(ruleset, errors, warnings)`; the rule set is
    None when the file cannot be read. Warnings name rules that can never match because an
    earlier rule catches all their reports (shadowing)."""
    try:
        data = read_rules_file(path)
    except RulesError as exc:
        return None, exc.errors, []
    ruleset, errors = _parse(data, str(path), known_units, known_categories, known_standards,
                             scheme)
    warnings = shadow_warnings(ruleset, known_categories)
    if not ruleset.rules and not errors:
        warnings.append(f"{path}: no rules: every report goes to its street grid centre")
    return ruleset, errors, warnings


def check_ruleset(path: str | os.PathLike, *, known_units: Collection[str],
                  known_categories: Collection[str],
                  known_standards: Collection[str] | None = None,
                  scheme: CodeScheme | None = None
                  ) -> tuple[list[str], list[str]]:
    """`inspect_ruleset` without the rule set: `(errors, warnings)`."""
    _, errors, warnings = inspect_ruleset(path, known_units=known_units,
                                          known_categories=known_categories,
                                          known_standards=known_standards, scheme=scheme)
    return errors, warnings
