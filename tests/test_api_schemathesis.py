"""schemathesis against /api/v1/openapi.json: generated requests to every operation, valid
(positive) and invalid (negative), as a city-wide dispatcher and as a manager of one street,
find no 5xx, no undocumented status and no response that breaks the documented schema
(issue 11 points 3, 8)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from gridroute.app import create_app
from gridroute.services.users import add_user, create_token

pytestmark = pytest.mark.db
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.mark.parametrize("role, scope", [("dispatcher", ""), ("manager", "310101002")])
def test_no_operation_answers_5xx_or_breaks_its_schema(app_ctx, role, scope):
    app = create_app(app_ctx.config, context=app_ctx)
    add_user(app_ctx, "fuzz", role=role, password="correct-horse", scope=scope or None)
    token = create_token(app_ctx, "fuzz", actor="test")[1]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 23  # 20 + kpi, kpi/chronic, kpi/chronic.geojson
    for operation, mode in [(op, mode) for op in operations
                            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=10, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)
        run()
