"""Indicators under /api/v1/kpi (managers: their street or district; admins: everything).

Same numbers as `gridroute kpi` (one service, gridroute/services/kpi.py); the models below are
in /api/v1/openapi.json through the REST API's spectree instance.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Optional

from flask import Blueprint, Flask, current_app, g, jsonify
from pydantic import BaseModel, ConfigDict, Field

from gridroute.api.auth import roles_required
from gridroute.api.rest import PREFIX, _resp, spec
from gridroute.auth.model import UserRole
from gridroute.services.errors import ServiceError

bp = Blueprint("kpi", __name__, url_prefix=PREFIX)

_READERS = (UserRole.MANAGER, UserRole.ADMIN)
_ISO = "ISO 8601 date or date-time; without an offset, city time"


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class KpiQuery(_Query):
    start: str = Field(alias="from", min_length=1, max_length=40,
                       description=f"Start of the period ({_ISO}).")
    end: str = Field(alias="to", min_length=1, max_length=40,
                     description=f"End of the period, excluded ({_ISO}). The cohort is the "
                                 "cases filed (立案) in [from, to).")
    as_of: Optional[str] = Field(None, max_length=40,
                                 description=f"When states and lateness are read ({_ISO}; "
                                             "default now).")
    by: Literal["cell", "community", "street", "district", "unit", "inspector", "dispatcher",
                "shift_lead"] = "street"
    category: Optional[str] = Field(None, max_length=8,
                                    description="A 小类 code, or a 大类 code prefix.")


class KpiOut(BaseModel):
    """One row per group; `columns` lists the keys of a row in order. A rate with nothing to
    divide by is null. Definitions: gridroute/reports/indicators.py."""

    model_config = ConfigDict(populate_by_name=True)

    start: str = Field(alias="from")
    end: str = Field(alias="to")
    as_of: str
    by: str
    category: Optional[str] = None
    columns: list[str]
    rows: list[dict[str, Any]]


class ChronicQuery(_Query):
    as_of: Optional[str] = Field(None, max_length=40,
                                 description=f"End of the window ({_ISO}; default now).")
    days: Optional[int] = Field(None, ge=1, le=366,
                                description="Window length D in days (default "
                                            "reports.chronic_days).")
    min_cases: Optional[int] = Field(None, ge=2, le=100000,
                                     description="At least N reports (default "
                                                 "reports.chronic_min_cases).")
    category: Optional[str] = Field(None, max_length=8)


class ChronicSpot(BaseModel):
    cell_code: str
    community_code: Optional[str] = None
    street_code: Optional[str] = None
    category_code: str
    count: int
    cases: list[str] = Field(description="Case codes (案卷号), oldest first: "
                                         "/api/v1/cases/{code}")
    first_reported: str
    last_reported: str


class ChronicOut(BaseModel):
    as_of: str
    days: int
    min_cases: int
    category: Optional[str] = None
    spots: list[ChronicSpot]


class ChronicFeature(BaseModel):
    type: Literal["Feature"]
    properties: dict[str, Any]
    geometry: Optional[dict[str, Any]] = None


class ChronicGeoJson(BaseModel):
    type: Literal["FeatureCollection"]
    as_of: str
    days: int
    min_cases: int
    category: Optional[str] = None
    features: list[ChronicFeature]


def _ctx():
    return current_app.extensions["gridroute"]


def _instant(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ServiceError(f"not an ISO 8601 date or date-time: {text!r}", field=field) \
            from None
    return value if value.tzinfo else value.replace(tzinfo=_ctx().tz)


@bp.get("/kpi")
@roles_required(*_READERS)
@spec.validate(query=KpiQuery, resp=_resp(200, KpiOut), tags=["kpi"])
def kpi(query: KpiQuery):
    """Indicators (综合评价) of the cases filed in a period, one row per cell, community,
    street, district, unit or post, with composite score and grade."""
    from gridroute.services.kpi import kpi_report

    report = kpi_report(_ctx(), g.principal, start=_instant(query.start, "from"),
                        end=_instant(query.end, "to"), as_of=_instant(query.as_of, "as_of"),
                        by=query.by, category=query.category)
    # `from`/`to` are the query's names; the model's aliases say so in the OpenAPI document
    return jsonify(report.to_dict())


def _chronic_args(query: ChronicQuery) -> dict[str, Any]:
    return {"as_of": _instant(query.as_of, "as_of"), "days": query.days,
            "min_cases": query.min_cases, "category": query.category}


@bp.get("/kpi/chronic")
@roles_required(*_READERS)
@spec.validate(query=ChronicQuery, resp=_resp(200, ChronicOut), tags=["kpi"])
def chronic(query: ChronicQuery):
    """高发/顽症: cells where the same 小类 was reported at least N times in D days, with the
    case codes (rejected, voided and merged reports left out)."""
    from gridroute.services.kpi import chronic_report

    return ChronicOut(**chronic_report(_ctx(), g.principal, **_chronic_args(query)))


@bp.get("/kpi/chronic.geojson")
@roles_required(*_READERS)
@spec.validate(query=ChronicQuery, resp=_resp(200, ChronicGeoJson), tags=["kpi"])
def chronic_geojson(query: ChronicQuery):
    """The chronic spots as GeoJSON (WGS84): one feature per (cell, 小类) with the cell's
    polygon, for a map layer."""
    from gridroute.services.kpi import chronic_geojson as build

    return ChronicGeoJson(**build(_ctx(), g.principal, **_chronic_args(query)))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
