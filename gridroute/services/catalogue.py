"""Reference data as the API and the pages show it: units, 小类 with their standards rows, and
category search by code, Chinese name, English name or pinyin initials (无照经营 → wzjy)."""
from __future__ import annotations

from typing import Any

from pypinyin import Style, lazy_pinyin

from gridroute.services.context import AppContext
from gridroute.services.errors import NotFound, ServiceError
from gridroute.services.reference import reference_data

KINDS = ("component", "event")


def _initials(text: str) -> str:
    return "".join(p[:1] for p in lazy_pinyin(text, style=Style.FIRST_LETTER)
                   if p and p[0].isalnum()).lower()


def _search_index(ctx: AppContext) -> list[tuple[Any, str]]:
    """(category, lowercase haystack) per 小类, built once per reference revision."""
    data = reference_data(ctx)  # drops the cached index when the data changed
    cached = ctx.reference_cache.get("category_search")
    if cached is not None:
        return cached
    index = []
    for category in sorted(data.categories.values(), key=lambda c: c.code):
        hay = " ".join([category.code, category.minor_name_zh, category.major_name_zh,
                        category.minor_name_en, category.major_name_en,
                        _initials(category.minor_name_zh),
                        *[_alias for _alias in getattr(category, "aliases", ()) or ()],
                        *[_initials(a) for a in getattr(category, "aliases", ()) or ()]])
        index.append((category, hay.lower()))
    ctx.reference_cache["category_search"] = index
    return index


def category_dict(category, standards=None) -> dict[str, Any]:
    out = {"code": category.code, "kind": category.kind, "major_code": category.major_code,
           "major_name_zh": category.major_name_zh, "major_name_en": category.major_name_en,
           "minor_code": category.minor_code, "minor_name_zh": category.minor_name_zh,
           "minor_name_en": category.minor_name_en,
           "pinyin_initials": _initials(category.minor_name_zh),
           "aliases": list(getattr(category, "aliases", ()) or ())}
    if standards is not None:
        out["standards"] = [standard_dict(s) for s in standards]
    return out


def standard_dict(s) -> dict[str, Any]:
    return {"id": s.id, "category_code": s.category_code, "seq": s.seq,
            "filing_condition": s.filing_condition, "urgency": s.urgency,
            "limit": str(s.limit), "closing_condition": s.closing_condition,
            "handling_unit_hint": s.handling_unit_hint, "supervising_dept": s.supervising_dept}


def search_categories(ctx: AppContext, q: str | None = None, kind: str | None = None,
                      limit: int = 50) -> list[dict[str, Any]]:
    if kind is not None and kind not in KINDS:
        raise ServiceError(f"must be one of {', '.join(KINDS)}", field="kind")
    needle = (q or "").strip().lower()
    hits = []
    for category, hay in _search_index(ctx):
        if kind and category.kind != kind:
            continue
        if needle and needle not in hay:
            continue
        hits.append(category)
    # an exact code or a code prefix first, then names
    hits.sort(key=lambda c: (not c.code.lower().startswith(needle), c.code))
    return [category_dict(c) for c in hits[:limit]]


def category(ctx: AppContext, code: str) -> dict[str, Any]:
    data = reference_data(ctx)
    found = data.categories.get(code)
    if found is None:
        raise NotFound(f"no category {code!r}", field="code")
    return category_dict(found, data.standards_for(code))


def standards(ctx: AppContext, category_code: str | None = None) -> list[dict[str, Any]]:
    data = reference_data(ctx)
    if category_code is not None and category_code not in data.categories:
        raise NotFound(f"no category {category_code!r}", field="category")
    rows = (data.standards_for(category_code) if category_code
            else sorted(data.standards.values(), key=lambda s: (s.category_code, s.seq)))
    return [standard_dict(s) for s in rows]


def unit_dict(u) -> dict[str, Any]:
    return {"code": u.code, "name_zh": u.name_zh, "name_en": u.name_en,
            "unit_type": u.unit_type, "parent_code": u.parent_code,
            "streets": list(u.streets), "cells": list(u.cells)}


def units(ctx: AppContext, street: str | None = None) -> list[dict[str, Any]]:
    rows = sorted(reference_data(ctx).units.values(), key=lambda u: u.code)
    if street:
        rows = [u for u in rows if not u.streets or street in u.streets]
    return [unit_dict(u) for u in rows]


def unit(ctx: AppContext, code: str) -> dict[str, Any]:
    found = reference_data(ctx).units.get(code)
    if found is None:
        raise NotFound(f"no unit {code!r}", field="code")
    return unit_dict(found)
