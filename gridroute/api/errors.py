"""JSON errors for /api/v1 in the request's language (zh-CN default, English on request).

Every error body is `{"error": {"code", "field", "message", "detail"}}`: `message` names the
field and the reason in the request's language, `detail` is the service's own English text
(stable for logs and bug reports). Request validation errors list every bad field in
`errors`. Nothing here ever shows a traceback.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import g, jsonify, request

log = logging.getLogger(__name__)

# Reasons by error code (services, workflow) or pydantic error type (request validation).
_REASONS: dict[str, tuple[str, str]] = {
    # code: (zh-CN, en)
    "missing": ("必填", "is required"),
    "missing_field": ("必填", "is required"),
    "invalid": ("取值无效", "is invalid"),
    "invalid_field": ("取值无效", "is invalid"),
    "not_found": ("未找到", "not found"),
    "unknown_action": ("没有这个操作", "no such action"),
    "illegal_transition": ("案卷当前状态不允许此操作", "not allowed in the case's current state"),
    "role_not_allowed": ("当前角色无权执行此操作", "your role may not do this"),
    "reason_required": ("需要填写原因", "a reason is required"),
    "stale_version": ("案卷已被他人修改，请刷新后重试",
                      "the case was changed by someone else; reload and try again"),
    "limit_reached": ("已达上限", "limit reached"),
    "task_closed": ("任务已完成或已取消", "the task is no longer open"),
    "conflict": ("与现有数据冲突", "conflicts with existing data"),
    "exists": ("已存在", "exists already"),
    "unauthorized": ("需要登录或有效的访问令牌", "log in or send a valid bearer token"),
    "bad_credentials": ("用户名或密码错误", "wrong user name or password"),
    "forbidden": ("无权访问", "not allowed"),
    "too_many_attempts": ("尝试次数过多，请稍后再试", "too many attempts; try again later"),
    "bad_cursor": ("分页游标无效", "not a cursor of this listing"),
    "outside_area": ("位置在管辖区域之外", "the location is outside the managed area"),
    "no_grid": ("尚未加载网格", "no grid is loaded"),
    "database_busy": ("数据库繁忙，请稍后重试", "the database is busy; try again shortly"),
    "database_unreachable": ("数据库无法连接", "the database cannot be reached"),
    "malformed_json": ("请求体不是有效的 JSON", "the body is not valid JSON"),
    "method_not_allowed": ("不支持此请求方法", "method not allowed"),
    "csrf": ("表单已过期，请刷新页面", "the form expired (CSRF token); reload the page"),
    "internal": ("服务器内部错误", "internal error"),
    # pydantic error types
    "string_type": ("应为字符串", "must be a string"),
    "int_type": ("应为整数", "must be an integer"),
    "int_parsing": ("应为整数", "must be an integer"),
    "int_from_float": ("应为整数", "must be an integer"),
    "float_type": ("应为数字", "must be a number"),
    "float_parsing": ("应为数字", "must be a number"),
    "finite_number": ("应为有限数字", "must be a finite number"),
    "bool_type": ("应为 true 或 false", "must be true or false"),
    "bool_parsing": ("应为 true 或 false", "must be true or false"),
    "dict_type": ("应为 JSON 对象", "must be a JSON object"),
    "model_type": ("应为 JSON 对象", "must be a JSON object"),
    "model_attributes_type": ("应为 JSON 对象", "must be a JSON object"),
    "list_type": ("应为列表", "must be a list"),
    "datetime_type": ("应为带时区的 ISO 8601 时间", "must be an ISO 8601 date-time with offset"),
    "datetime_parsing": ("应为带时区的 ISO 8601 时间",
                         "must be an ISO 8601 date-time with offset"),
    "datetime_from_date_parsing": ("应为带时区的 ISO 8601 时间",
                                   "must be an ISO 8601 date-time with offset"),
    "timezone_aware": ("时间必须带时区", "must carry a UTC offset"),
    "greater_than": ("数值过小", "is too small"),
    "greater_than_equal": ("数值过小", "is too small"),
    "less_than": ("数值过大", "is too large"),
    "less_than_equal": ("数值过大", "is too large"),
    "string_too_short": ("太短", "is too short"),
    "string_too_long": ("太长", "is too long"),
    "too_short": ("太短", "is too short"),
    "too_long": ("太长", "is too long"),
    "literal_error": ("不是允许的取值", "is not one of the allowed values"),
    "enum": ("不是允许的取值", "is not one of the allowed values"),
    "extra_forbidden": ("不允许此字段", "is not a known field"),
    "string_pattern_mismatch": ("格式不正确", "has the wrong format"),
    "json_invalid": ("请求体不是有效的 JSON", "the body is not valid JSON"),
    "value_error": ("取值无效", "is invalid"),
}


def language() -> str:
    lang = g.get("lang") if g else None
    if lang:
        return lang
    from gridroute.i18n import normalize_language

    best = request.accept_languages.best_match(["zh-CN", "zh", "en"]) if request else None
    return normalize_language(request.args.get("lang") or best)


def reason(code: str, lang: str | None = None) -> str:
    zh, en = _REASONS.get(code, _REASONS["invalid"])
    return en if (lang or language()) == "en" else zh


def localized(code: str, field: str | None, detail: str, lang: str | None = None) -> str:
    """`字段 lon：取值无效（must be a number, got 'x'）` / `lon: must be a number, got 'x'`."""
    lang = lang or language()
    if lang == "en":
        text = detail or reason(code, lang)
        return f"{field}: {text}" if field else text
    head = f"字段 {field}：" if field else ""
    tail = f"（{detail}）" if detail and detail != reason(code, "en") else ""
    return f"{head}{reason(code, lang)}{tail}"


def error_body(code: str, field: str | None, detail: str, **extra: Any) -> dict[str, Any]:
    body = {"code": code, "field": field, "message": localized(code, field, detail),
            "detail": detail}
    body.update(extra)
    return {"error": body}


def error_response(status: int, code: str, field: str | None, detail: str,
                   headers: dict[str, str] | None = None, **extra: Any):
    response = jsonify(error_body(code, field, detail, **extra))
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def service_error_response(exc):
    """A ServiceError (or subclass) as JSON with its HTTP status."""
    status = getattr(exc, "status", 400)
    code = exc.code
    if code == "role_not_allowed":
        status = 403
    elif code in ("unknown_action",):
        status = 404
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="gridroute"'
    extra = {}
    if getattr(exc, "current_version", None) is not None:
        extra["current_version"] = exc.current_version
    return error_response(status, code, exc.field, exc.message, headers, **extra)


def _loc_name(loc) -> str:
    return ".".join(str(part) for part in loc if part not in ("body", "query", "__root__"))


def validation_error_response(exc, where: str = ""):
    """pydantic.ValidationError → 400 naming every bad field (first one in `field`)."""
    items = []
    for err in exc.errors(include_url=False):
        field = _loc_name(err.get("loc", ())) or where or None
        code = err.get("type", "invalid")
        detail = err.get("msg", "")
        items.append({"field": field, "code": code, "message": localized(code, field, detail),
                      "detail": detail})
    first = items[0] if items else {"field": None, "code": "invalid", "detail": "invalid"}
    body = error_body(first["code"], first["field"], first["detail"], errors=items)
    response = jsonify(body)
    response.status_code = 400
    return response
