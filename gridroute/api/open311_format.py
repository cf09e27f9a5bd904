"""GeoReport v2 wire formats: the same dicts rendered as XML (the format the spec requires)
or JSON, chosen by the URL's suffix; UTF-8 either way."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import orjson
from flask import Response

# UTF-8 text, not \u escapes; NumPy numbers (coordinates from the locator) as plain numbers
_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY

FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
# XML element of each member of a list, by the list's own element name
_ITEM = {"services": "service", "service_requests": "request", "attributes": "attribute",
         "values": "value", "errors": "error", "endpoints": "endpoint", "formats": "format",
         "notes": "note"}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        tag = _ITEM.get(element.tag, "item")
        for item in value:
            _fill(ET.SubElement(element, tag), item)
    elif value is not None:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, value)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def render(fmt: str, root: str, value: Any, status: int = 200) -> Response:
    """`root` names the XML document element; JSON carries `value` itself."""
    if fmt == "json":
        body = orjson.dumps(value, option=_JSON_OPTIONS)
    else:
        body = to_xml(root, value)
    return Response(body, status=status, content_type=FORMATS.get(fmt, FORMATS["xml"]))


def errors(fmt: str, status: int, description: str) -> Response:
    return render(fmt, "errors", [{"code": status, "description": description}], status)
