"""Property-based attack on the NBI through its own OpenAPI description (schemathesis): with a
valid admin token (unscoped, and a tenant's) no generated request makes the NBI fail (5xx), and without a token every
operation but signing in answers 401, whatever the request (no auth bypass).

Bounded (a few examples per operation, no shrinking) to stay within about two minutes. The
operations are read from the running NBI's /openapi.json, so a new route is attacked too. (The
operations are driven here rather than by schemathesis' pytest plugin, which does not run
under this pytest.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from sec_support import STATIC_ADMIN

PUBLIC = {("POST", "/login"), ("GET", "/login/methods"), ("GET", "/oidc/login"), ("GET", "/oidc/callback")}  # signing in
EXAMPLES = 5
BOUNDED = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, report_multiple_bugs=False,
                   phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))

pytestmark = pytest.mark.e2e


def _operations(nbi_server: str) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{nbi_server}/openapi.json")
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) > 40, "the NBI's OpenAPI description lost its operations"
    return ops


def _attack(nbi_server: str, check: Callable[[Any], None]) -> list[str]:
    """Runs ``check`` on generated cases of every operation; the failures, one line each."""
    failures: list[str] = []
    for op in _operations(nbi_server):
        @BOUNDED
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            check(case)

        try:
            run()
        except Exception as e:  # noqa: BLE001 - collected, so one run reports every failing operation
            failures.append(f"{op.method.upper()} {op.path}: {type(e).__name__}: {str(e)[:400]}")
    return failures


def _tenant_admin(nbi_server: str) -> dict[str, str]:
    """A token of a tenant's admin, so the scope checks are attacked too."""
    root = {"Authorization": f"Bearer {STATIC_ADMIN}"}
    r = httpx.put(f"{nbi_server}/users/fuzz-admin", json={"role": "admin", "tenant": "fuzz"}, headers=root)
    assert r.status_code in (200, 201), r.text
    r = httpx.post(f"{nbi_server}/tokens", params={"user": "fuzz-admin"}, json={"expiresInDays": 1}, headers=root)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_no_request_makes_the_nbi_fail(nbi_server):
    callers = [{"Authorization": f"Bearer {STATIC_ADMIN}"}, _tenant_admin(nbi_server)]

    def check(case: Any) -> None:
        for headers in callers:  # the unscoped admin and a tenant's admin
            case.call_and_validate(base_url=nbi_server, headers=headers, checks=[not_a_server_error], timeout=30)

    failures = _attack(nbi_server, check)
    assert not failures, "\n".join(failures)


def test_no_operation_answers_without_a_token(nbi_server):
    def check(case: Any) -> None:
        if (case.method.upper(), case.path) in PUBLIC:
            return
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        r = case.call(base_url=nbi_server, timeout=30)
        assert r.status_code == 401, (case.method, case.formatted_path, r.status_code, r.text[:300])

    failures = _attack(nbi_server, check)
    assert not failures, "\n".join(failures)
