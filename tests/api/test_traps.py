"""The catalog routes of the HTTP service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.config import Settings


@pytest.fixture(scope="module")
def client(settings: Settings, index) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings)) as client:
        yield client


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["traps"] == 49 and ready["index_current"] is True


def test_list_filter_and_search(client: TestClient) -> None:
    listed = client.get("/traps", params={"series": "mlsd"}).json()
    assert len(listed) == 8
    hits = client.get("/traps", params={"q": "speculative decoding draft model gives no speedup", "k": 3}).json()
    assert "llm-50" in [h["id"] for h in hits]


def test_unknown_trap_is_404_with_nearest(client: TestClient) -> None:
    res = client.get("/traps/llm-466")
    assert res.status_code == 404
    assert res.json()["detail"].startswith("unknown trap id 'llm-466'; nearest ids: llm-46")
    assert res.json()["nearest"][0] == "llm-46"


def test_bad_series_is_422(client: TestClient) -> None:
    res = client.get("/traps", params={"series": "nlp"})
    assert res.status_code == 422 and res.json()["detail"] == "unknown series 'nlp'; the series are adl, llm, mlsd"


def test_empty_query_is_422(client: TestClient) -> None:
    res = client.get("/traps", params={"q": " "})
    assert res.status_code == 422 and "empty query" in res.json()["detail"]


def test_every_route_documents_the_shape_of_its_response(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            ok = next(body for status, body in op["responses"].items() if status.startswith("2"))
            content = ok.get("content") or {}
            assert content, f"{method.upper()} {path} documents no response body"
            if "application/json" in content:
                assert content["application/json"].get("schema"), f"{method.upper()} {path} has no response schema"
    assert {"Report", "Reply", "Grade", "SessionView", "BatchJob"} <= set(spec["components"]["schemas"])
