"""Probes against real servers: a local HTTP server, the local ARM's web apps over HTTPS,
real sockets; the concurrent runner's ordering, isolation and concurrency."""

from __future__ import annotations

import importlib.util
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import requests

from bicep_assets.armlocal import FaultPlanSpec, FaultRule, LocalArm, LocalArmConfig
from bicep_assets.models import CheckResult
from bicep_assets.resources.http_session import SharedTlsAdapter, probe_session
from bicep_assets.resources.probes import (
    Check,
    Probes,
    describe_error,
    http_probe,
    redact_url,
    run_checks,
    tcp_probe,
)

from .probe_server import CANARY, ProbeServer, closed_port, probe_server, unanswered_port

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def module_server() -> Iterator[ProbeServer]:
    with probe_server() as server:
        yield server


@pytest.fixture
def server(module_server: ProbeServer) -> ProbeServer:
    module_server.reset()
    return module_server


# -- http_probe ----------------------------------------------------------------------------


def test_http_probe_reports_status_reason_and_latency(server: ProbeServer) -> None:
    result = http_probe(server.url("/ok"), retries=0)
    assert result.kind == "http"
    assert result.target == server.url("/ok")
    assert result.ok
    assert result.detail.startswith("200 OK in ")
    assert result.detail.endswith(" ms")
    assert result.latency_ms > 0
    assert server.hits["/ok"] == 1


HTTP_CASES = [
    # path, expected_status, retries, ok, detail (start, end), requests the server saw
    (
        "/status/503",
        200,
        2,
        False,
        ("expected 200, got 503 Service Unavailable", "after 3 attempts"),
        3,
    ),
    ("/status/503", 503, 2, True, ("503 Service Unavailable in ", " ms"), 1),
    ("/status/404", 200, 0, False, ("expected 200, got 404 Not Found", "after 1 attempt"), 1),
    ("/flaky/a/2", 200, 2, True, ("200 OK in ", "(attempt 3 of 3)"), 3),
    (
        "/flaky/b/2",
        200,
        1,
        False,
        ("expected 200, got 503 Service Unavailable", "after 2 attempts"),
        2,
    ),
    ("/redirect", 200, 0, False, ("expected 200, got 302 Found", "after 1 attempt"), 1),
    ("/redirect", 302, 3, True, ("302 Found in ", " ms"), 1),
]


@pytest.mark.parametrize(
    ("path", "expected", "retries", "ok", "detail", "hits"),
    HTTP_CASES,
    ids=[
        "503-fails-after-all-attempts",
        "expected-503-passes-first-time",
        "404-no-retries",
        "flaky-passes-on-third-attempt",
        "flaky-fails-with-too-few-retries",
        "redirect-not-followed",
        "redirect-expected",
    ],
)
def test_http_probe_statuses_and_retries(
    server: ProbeServer,
    path: str,
    expected: int,
    retries: int,
    ok: bool,
    detail: tuple[str, str],
    hits: int,
) -> None:
    result = http_probe(
        server.url(path), expected_status=expected, retries=retries, retry_delay_s=0
    )
    assert result.ok is ok
    assert result.detail.startswith(detail[0]), result.detail
    assert result.detail.endswith(detail[1]), result.detail
    assert server.hits[path] == hits
    assert CANARY not in result.model_dump_json()


def test_http_probe_never_reads_bodies_into_details_or_logs(
    server: ProbeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    results = [
        http_probe(server.url("/status/500"), retries=1, retry_delay_s=0),
        http_probe(server.url("/set-cookie"), retries=0),
        Probes(retries=1, retry_delay_s=0).http(server.url("/status/502")),
    ]
    assert [r.ok for r in results] == [False, True, False]
    assert "500 Internal Server Error" in results[0].detail
    assert any("502 Bad Gateway" in r.getMessage() for r in caplog.records)  # logged, safely
    assert CANARY not in caplog.text
    assert all(CANARY not in r.model_dump_json() for r in results)


def test_http_probe_follows_redirects_when_asked(server: ProbeServer) -> None:
    result = http_probe(server.url("/redirect"), retries=0, follow_redirects=True)
    assert result.ok, result.detail
    assert (server.hits["/redirect"], server.hits["/ok"]) == (1, 1)


def test_a_slow_answer_times_out_each_attempt(server: ProbeServer) -> None:
    started = time.monotonic()
    result = http_probe(server.url("/slow/30"), timeout_s=0.3, retries=1, retry_delay_s=0)
    elapsed = time.monotonic() - started
    assert not result.ok
    assert result.detail == "timed out (0.3 s) after 2 attempts"
    assert server.hits["/slow/30"] == 2
    assert elapsed < 15  # the endpoint answers after 30 s: each attempt was cut at its timeout


def test_a_connection_that_is_never_accepted_times_out() -> None:
    with unanswered_port() as port:
        http = http_probe(f"http://127.0.0.1:{port}/", timeout_s=0.3, retries=0)
        tcp = tcp_probe("127.0.0.1", port, timeout_s=0.3, retries=1, retry_delay_s=0)
    assert (http.ok, http.detail) == (False, "timed out (0.3 s) after 1 attempt")
    assert (tcp.ok, tcp.detail) == (False, "timed out (0.3 s) after 2 attempts")


def test_http_probe_of_a_closed_port_is_refused() -> None:
    port = closed_port()
    result = http_probe(f"http://127.0.0.1:{port}/health", retries=2, retry_delay_s=0)
    assert (result.ok, result.detail) == (False, "connection refused after 3 attempts")
    assert result.target == f"http://127.0.0.1:{port}/health"


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("app.example.com/health", "No scheme supplied"),
        ("ftp://127.0.0.1/x", "No connection adapters"),
        ("http://", "Invalid URL"),
    ],
    ids=["no-scheme", "not-http", "no-host"],
)
def test_a_malformed_url_fails_at_once_without_retries(url: str, match: str) -> None:
    result = http_probe(url, retries=3, retry_delay_s=5)  # a retry would take 5 s
    assert not result.ok
    assert match in result.detail
    assert "attempt" not in result.detail


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"timeout_s": 0}, "timeout must be positive, got 0"),
        ({"retries": -1}, "retries must be 0 or more, got -1"),
        ({"retry_delay_s": -0.5}, "retry delay must be 0 or more, got -0.5"),
    ],
    ids=["timeout", "retries", "delay"],
)
def test_probe_limits_are_checked(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        http_probe("http://127.0.0.1:1/", **kwargs)
    with pytest.raises(ValueError, match=match):
        tcp_probe("127.0.0.1", 1, **kwargs)


@pytest.mark.parametrize("status", [0, 99, 600], ids=["zero", "too-small", "too-big"])
def test_http_probe_rejects_impossible_expected_statuses(status: int) -> None:
    with pytest.raises(ValueError, match=f"expected status {status} is not an HTTP status"):
        http_probe("http://u:pw@127.0.0.1:1/", expected_status=status)


def test_passwords_in_urls_are_redacted_from_targets() -> None:
    port = closed_port()
    result = http_probe(f"http://probe:s3cret@127.0.0.1:{port}/x", retries=0)
    assert result.target == f"http://probe:***@127.0.0.1:{port}/x"
    assert "s3cret" not in result.model_dump_json()
    assert redact_url("https://host/x?a=1") == "https://host/x?a=1"


def test_the_shared_session_keeps_no_cookies(server: ProbeServer) -> None:
    session = probe_session(pool_maxsize=4)
    try:
        assert http_probe(server.url("/set-cookie"), retries=0, session=session).ok
        second = http_probe(server.url("/expect-no-cookie"), retries=0, session=session)
    finally:
        session.close()
    assert second.ok, second.detail  # 400 if the first probe's cookie had been sent


# -- tcp_probe -----------------------------------------------------------------------------


def test_tcp_probe_connects_to_an_open_port() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        result = tcp_probe("127.0.0.1", port, retries=0)
    assert (result.kind, result.target, result.ok) == ("tcp", f"127.0.0.1:{port}", True)
    assert result.detail.startswith("connected in ")


def test_tcp_probe_of_a_closed_port_is_refused_after_retries() -> None:
    port = closed_port()
    result = tcp_probe("127.0.0.1", port, retries=2, retry_delay_s=0)
    assert (result.ok, result.detail) == (False, "connection refused after 3 attempts")


@pytest.mark.parametrize("port", [0, 65536, -1], ids=["zero", "too-big", "negative"])
def test_tcp_probe_rejects_impossible_ports(port: int) -> None:
    with pytest.raises(ValueError, match=f"TCP probe of 'db.internal': port {port} is not"):
        tcp_probe("db.internal", port)


def test_ipv6_targets_are_bracketed() -> None:
    assert Probes().tcp_check("::1", 5432).target == "[::1]:5432"
    assert Probes().tcp_check("db.internal", 5432).target == "db.internal:5432"


def test_errors_are_described_from_the_innermost_cause() -> None:
    wrapped = RuntimeError("outer")
    wrapped.__cause__ = ConnectionResetError(104, "Connection reset by peer")
    assert describe_error(wrapped, 1) == "connection reset"
    assert describe_error(OSError(101, "Network is unreachable"), 1) == "network is unreachable"
    assert describe_error(ValueError("odd " * 100), 1).startswith("ValueError: odd odd")
    assert len(describe_error(ValueError("odd " * 100), 1)) <= 160


# -- HTTPS: the local ARM's web apps -------------------------------------------------------

SITE_TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "resources": [
        {
            "type": "Microsoft.Web/sites",
            "apiVersion": "2022-09-01",
            "name": "web-probe",
            "location": "westeurope",
            "properties": {},
        }
    ],
    "outputs": {
        "host": {
            "type": "string",
            "value": "[reference(resourceId('Microsoft.Web/sites', 'web-probe')).defaultHostName]",
        }
    },
}


@pytest.fixture(scope="module")
def site_arm() -> Iterator[tuple[LocalArm, str]]:
    """A local ARM with a deployed web app; (the ARM, https://{defaultHostName}/)."""
    with LocalArm(config=LocalArmConfig(retry_after=0)) as arm:
        arm.connection.resource_client().resource_groups.create_or_update(
            "rg-probes", {"location": "westeurope"}
        )
        poller = arm.connection.deployments_client().deployments.begin_create_or_update(
            "rg-probes",
            "site",
            {"properties": {"mode": "Incremental", "template": SITE_TEMPLATE, "parameters": {}}},
        )
        host = poller.result().properties.outputs["host"]["value"]
        yield arm, f"https://{host}/"


@pytest.fixture
def arm_site(site_arm: tuple[LocalArm, str]) -> tuple[LocalArm, str]:
    site_arm[0].backend.faults.replace(FaultPlanSpec())
    return site_arm


def test_https_probe_of_a_local_arm_web_app(arm_site: tuple[LocalArm, str]) -> None:
    arm, url = arm_site
    assert url.startswith(f"https://127.0.0.1:{arm.port}/sites/")
    result = http_probe(url, verify=str(arm.ca_file), retries=0)
    assert result.ok, result.detail
    assert result.detail.startswith("200 OK in ")
    # the body is the app's JSON ({"status": 200, "message": ...}); none of it is reported
    assert "running" not in result.detail


def test_https_probe_without_the_local_ca_is_not_trusted(arm_site: tuple[LocalArm, str]) -> None:
    _, url = arm_site
    result = http_probe(url, retries=1, retry_delay_s=0)
    assert not result.ok
    assert result.detail.startswith("TLS certificate not trusted (")
    assert result.detail.endswith("after 2 attempts")


def test_probes_trust_the_extra_ca_bundle(arm_site: tuple[LocalArm, str]) -> None:
    arm, url = arm_site
    trusting = Probes(ca_bundle=str(arm.ca_file), retries=0)
    distrusting = Probes(retries=0)
    try:
        assert trusting.http(url).ok
        assert not distrusting.http(url).ok
    finally:
        trusting.close()
        distrusting.close()


def test_a_site_status_fault_fails_the_probe(arm_site: tuple[LocalArm, str]) -> None:
    arm, url = arm_site
    arm.backend.faults.replace(
        FaultPlanSpec(rules=[FaultRule(kind="site_status", resource_name="web-probe", status=503)])
    )
    result = http_probe(url, verify=str(arm.ca_file), retries=1, retry_delay_s=0)
    assert (result.ok, result.detail) == (
        False,
        "expected 200, got 503 Service Unavailable after 2 attempts",
    )


def test_a_missing_ca_bundle_is_reported_not_retried(arm_site: tuple[LocalArm, str]) -> None:
    _, url = arm_site
    probes = Probes(ca_bundle="/nonexistent/ca.pem", retries=3, retry_delay_s=5)
    result = probes.http(url)
    probes.close()
    assert not result.ok
    assert result.detail.startswith("CA file '/nonexistent/ca.pem' does not exist")


def test_tls_contexts_are_built_once_per_trust_setting(arm_site: tuple[LocalArm, str]) -> None:
    arm, url = arm_site
    session = probe_session(pool_maxsize=8, extra_ca=str(arm.ca_file))
    adapter = session.get_adapter(url)
    assert isinstance(adapter, SharedTlsAdapter)
    try:
        results = run_checks(
            [
                Check("http", url, lambda: http_probe(url, retries=0, session=session))
                for _ in range(8)
            ]
        )
        assert all(r.ok for r in results), [r.detail for r in results]
        # the connection pool hands its connections the shared context and no bundle path,
        # so no connection loads a CA bundle of its own
        # (verify=True means REQUESTS_CA_BUNDLE when that is set, as in requests)
        verify = session.merge_environment_settings(url, {}, None, True, None)["verify"]
        request = requests.Request("GET", url).prepare()
        pool = adapter.get_connection_with_tls_context(request, verify)
        assert pool.conn_kw["ssl_context"] is adapter.ssl_context(verify)
        assert (pool.ca_certs, pool.ca_cert_dir) == (None, None)
        assert adapter.ssl_context(True) is not adapter.ssl_context(str(arm.ca_file))
    finally:
        session.close()


# -- run_checks ----------------------------------------------------------------------------


def _sleeping(target: str, seconds: float) -> Check:
    def run() -> CheckResult:
        time.sleep(seconds)
        return CheckResult(kind="provisioning_state", target=target, ok=True, detail="Succeeded")

    return Check("provisioning_state", target, run)


def test_run_checks_returns_results_in_input_order() -> None:
    # the first check finishes last: results follow the input, not completion
    checks = [_sleeping(f"r{i}", 0.05 * (5 - i)) for i in range(5)]
    assert [r.target for r in run_checks(checks)] == ["r0", "r1", "r2", "r3", "r4"]


def test_a_raising_check_is_a_failed_result_not_a_crashed_batch() -> None:
    def boom() -> CheckResult:
        raise RuntimeError("ARM said no")

    checks = [
        _sleeping("before", 0),
        Check("resource_health", "/subscriptions/s/rg/vm", boom),
        Check("provisioning_state", "/subscriptions/s/rg/x", lambda: "Succeeded"),  # type: ignore[arg-type, return-value]
        _sleeping("after", 0),
    ]
    results = run_checks(checks)
    assert [(r.kind, r.target, r.ok) for r in results] == [
        ("provisioning_state", "before", True),
        ("resource_health", "/subscriptions/s/rg/vm", False),
        ("provisioning_state", "/subscriptions/s/rg/x", False),
        ("provisioning_state", "after", True),
    ]
    assert results[1].detail == "check raised RuntimeError: ARM said no"
    assert results[2].detail == "check returned str, not a CheckResult"


def test_run_checks_needs_labelled_checks() -> None:
    with pytest.raises(TypeError, match=r"checks\[1\] is a function, not a Check: wrap"):
        run_checks([_sleeping("a", 0), lambda: None])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="Check kind 'ping' is not one of provisioning_state"):
        Check("ping", "x", lambda: None)  # type: ignore[arg-type, return-value]
    with pytest.raises(ValueError, match="max_workers must be at least 1, got 0"):
        run_checks([], max_workers=0)
    assert run_checks([]) == []


def test_run_checks_runs_every_probe_at_the_same_time(server: ProbeServer) -> None:
    # /together/k/20 answers 200 only when 20 requests are in flight at once
    probes = Probes(retries=0, max_workers=32)
    results = probes.run([probes.http_check(server.url("/together/k/20")) for _ in range(20)])
    probes.close()
    assert all(r.ok for r in results), {r.detail for r in results}
    assert server.max_in_flight["/together/k/20"] == 20


def test_run_checks_never_exceeds_max_workers(server: ProbeServer) -> None:
    # 12 probes, 4 at a time: three rounds of the 4-party barrier
    probes = Probes(retries=0, max_workers=4)
    results = probes.run([probes.http_check(server.url("/together/w/4")) for _ in range(12)])
    probes.close()
    assert all(r.ok for r in results), {r.detail for r in results}
    assert server.max_in_flight["/together/w/4"] == 4


def test_probes_mix_http_tcp_and_other_checks(server: ProbeServer) -> None:
    port = closed_port()
    probes = Probes(retries=0, http_timeout_s=5, tcp_timeout_s=5)
    results = probes.run(
        [
            probes.http_check(server.url("/ok")),
            probes.tcp_check("127.0.0.1", server.server_port),
            probes.tcp_check("127.0.0.1", port),
            probes.http_check(server.url("/status/503"), expected_status=503),
            _sleeping("/subscriptions/s/rg/app", 0),
        ]
    )
    probes.close()
    assert [(r.kind, r.ok) for r in results] == [
        ("http", True),
        ("tcp", True),
        ("tcp", False),
        ("http", True),
        ("provisioning_state", True),
    ]


# -- the resource in a Dagster run ---------------------------------------------------------


def test_probes_resource_in_a_dagster_job(server: ProbeServer) -> None:
    seen: dict[str, Any] = {}

    @dg.op
    def verify(probes: Probes) -> list[CheckResult]:
        seen["session"] = probes.session()
        return probes.run(
            [probes.http_check(server.url("/ok")), probes.http_check(server.url("/status/500"))]
        )

    @dg.job(resource_defs={"probes": Probes.configure_at_launch()})
    def verify_job() -> None:
        verify()

    config = {"max_workers": 2, "retries": 1, "retry_delay_s": 0}
    result = verify_job.execute_in_process(run_config={"resources": {"probes": {"config": config}}})
    assert result.success
    checks = result.output_for_node("verify")
    assert [(c.ok, c.detail.split(" in ")[0]) for c in checks] == [
        (True, "200 OK"),
        (False, "expected 200, got 500 Internal Server Error after 2 attempts"),
    ]
    adapter = seen["session"].get_adapter("http://x")
    assert adapter.poolmanager.connection_pool_kw["maxsize"] == 2  # sized from run config
    assert len(adapter.poolmanager.pools) == 0  # the run's connections closed by teardown


# -- the benchmark stays runnable ----------------------------------------------------------


def test_probe_benchmark_runs_and_verifies_its_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # benchmarks import their shared helpers
    spec = importlib.util.spec_from_file_location("probes_benchmark", BENCHMARKS / "probes.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for https in (False, True):
        wall, results = bench.measure(10, 0.01, max_workers=10, https=https)
        assert len(results) == 10 and all(r.ok for r in results)
        assert wall > 0
    assert "cores, Python 3." in bench.machine_description()
