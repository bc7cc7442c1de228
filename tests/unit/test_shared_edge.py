"""The shared HTTP edge's per-request pieces, made cheap for the hot path (issue 12):
request ids, the request metrics, the security headers built once."""

from __future__ import annotations

import uuid

from prometheus_client import CollectorRegistry, generate_latest

from portal_shared.metrics import LATENCY_BUCKETS, HttpMetrics
from portal_shared.web import SECURITY_HEADERS, new_request_id


def test_request_ids_are_version_4_uuids_and_do_not_repeat() -> None:
    ids = [new_request_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:2_000]:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


def test_request_metrics_count_by_route_and_status_and_bucket_inclusively() -> None:
    http = HttpMetrics(LATENCY_BUCKETS)
    registry = CollectorRegistry()
    registry.register(http)
    for seconds in (0.001, 0.005, 0.2, 9.0):  # 0.005 belongs to le="0.005" (≤)
        http.observe("GET", "/api/v1/faq", 200, seconds)
    http.observe("GET", "/api/v1/faq", 304, 0.001)
    text = generate_latest(registry).decode()
    assert 'http_requests_total{method="GET",route="/api/v1/faq",status="200"} 4.0' in text
    assert 'http_requests_total{method="GET",route="/api/v1/faq",status="304"} 1.0' in text
    bucket = 'http_request_duration_seconds_bucket{le="%s",method="GET",route="/api/v1/faq"} %s'
    assert bucket % ("0.005", "3.0") in text
    assert bucket % ("0.1", "3.0") in text
    assert bucket % ("0.25", "4.0") in text
    assert bucket % ("5.0", "4.0") in text
    assert bucket % ("+Inf", "5.0") in text
    assert 'http_request_duration_seconds_count{method="GET",route="/api/v1/faq"} 5.0' in text


def test_the_security_headers_name_no_versions() -> None:
    assert SECURITY_HEADERS["Server"] == "Kundenportal"
    assert SECURITY_HEADERS["X-Content-Type-Options"] == "nosniff"
    assert SECURITY_HEADERS["Referrer-Policy"] == "no-referrer"
