"""Schemathesis against the served OpenAPI document: generated requests never cause a server error.

Every operation is called with inputs derived from its schema (valid and
invalid), as a system administrator with a token of its own. The checks: no
5xx, and every answer is one the document declares (status code, content
type, body schema). Deleting administrators and tokens is left out: it would
only lock the fuzzer out of the rest of the API.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.serverhelp import AdminServer, start


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminServer]:
    running = start(tmp_path_factory.mktemp("fuzz"))
    try:
        with running.client() as api:
            api.post("/domains", json={"name": "fuzz.test"})
            api.post("/users", json={"address": "user@fuzz.test", "password": "fuzz-password"})
            api.post("/groups", json={"address": "group@fuzz.test"})
        yield running
    finally:
        running.server.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: AdminServer) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(fuzz_server.base + "/api/v1/openapi.json")
    return schema.exclude(method="DELETE", path_regex="^/(admins|tokens)/")


schema = schemathesis.pytest.from_fixture("api_schema")


_CLIENT = httpx.Client(timeout=30)  # one connection pool for the thousand-odd requests


def send(case: schemathesis.Case, base_url: str, token: str) -> httpx.Response:
    """The case sent with httpx (schemathesis' own requests transport is not used: one HTTP stack in the tests)."""
    kwargs = case.as_transport_kwargs(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
    body = kwargs.pop("data", None)
    if body is not None and not isinstance(body, (bytes, str)):
        kwargs["data"] = body  # a form
    elif body is not None:
        kwargs["content"] = body
    kwargs.pop("auth", None)
    kwargs["cookies"] = kwargs.get("cookies") or None
    return _CLIENT.request(**kwargs)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case, fuzz_server: AdminServer) -> None:
    response = send(case, fuzz_server.base + "/api/v1", fuzz_server.token)
    case.validate_response(
        schemathesis.Response.from_httpx(response, verify=False),
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
