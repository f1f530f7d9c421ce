"""schemathesis against the OpenAPI document: no 5xx, and every response as the spec says."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))
import tempfile

from apihelp import make_project

from batchyard.api import ServeOptions, create_app

# One project for the whole run: schemathesis builds its tests from the app at import time.
_ROOT = make_project(Path(tempfile.mkdtemp(prefix="batchyard-openapi-")) / "project")
# No token: the bearer scheme is tested in test_security.py.
APP = create_app(root=_ROOT, options=ServeOptions(max_jobs=1))
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)

# Each of the API's operations gets 25 generated requests: about half a minute in all.
pytestmark = pytest.mark.slow


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_keeps_its_promises(case: schemathesis.Case) -> None:
    # Every check but "schema-valid data is accepted": a well-formed request may still name a
    # job, pipeline or kind param that does not exist, and must then get a 4xx, as it does.
    case.call_and_validate(
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
