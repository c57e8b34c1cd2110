"""The integrator client: batches as NDJSON, retries 503s after Retry-After with the same
events, gives up with IngestUnavailable, and turns a 4xx into IngestRejected with the API's
per-event errors."""

from __future__ import annotations

import httpx
import orjson
import pytest

from services.client import IngestRejected, IngestUnavailable, KontaktClient, batches


def test_batches_group_lines_and_drop_blank_ones() -> None:
    lines = [b"a\n", b"\n", b"b\r\n", b"c", b"d"]
    assert list(batches(lines, 2)) == [[b"a", b"b"], [b"c", b"d"]]


def make_client(handler: object, sleeps: list[float]) -> KontaktClient:
    return KontaktClient(
        "http://kontakt",
        "kk_x_y",
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        max_retries=3,
    )  # type: ignore[arg-type]


def test_503_is_retried_with_the_same_body_after_retry_after() -> None:
    bodies: list[bytes] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        assert request.headers["Authorization"] == "Bearer kk_x_y"
        assert request.headers["Content-Type"] == "application/x-ndjson"
        if len(bodies) < 3:
            return httpx.Response(503, headers={"Retry-After": "2"}, json={"detail": "down"})
        n = len(request.content.strip().split(b"\n"))
        return httpx.Response(200, json={"accepted": n, "duplicates": 0, "rejected": []})

    with make_client(handler, sleeps) as client:
        totals = client.send_all([{"event_id": f"e{i}"} for i in range(5)], batch_size=5)
    assert totals.accepted == 5 and totals.retries == 2 and totals.requests == 1
    assert sleeps == [2.0, 2.0] and len(set(bodies)) == 1
    assert orjson.loads(bodies[0].split(b"\n")[4]) == {"event_id": "e4"}


def test_gives_up_after_max_retries() -> None:
    sleeps: list[float] = []
    client = make_client(lambda r: httpx.Response(503, text="no kafka"), sleeps)
    with pytest.raises(IngestUnavailable, match="gave up after 4 attempts: no kafka"):
        client.send_batch([{"event_id": "e"}])
    assert sleeps == [0.5, 1.0, 2.0]


def test_4xx_is_not_retried_and_names_the_errors() -> None:
    detail = {
        "message": "1 of 2 events are invalid; nothing was produced",
        "errors": [{"index": 1, "field": "channel", "reason": "unknown value 'fax'"}],
    }
    sleeps: list[float] = []
    client = make_client(lambda r: httpx.Response(422, json={"detail": detail}), sleeps)
    with pytest.raises(IngestRejected) as info:
        client.send_batch([{"event_id": "a"}, {"event_id": "b"}])
    assert info.value.status_code == 422 and sleeps == []
    assert "event 1: channel: unknown value 'fax'" in str(info.value)


def test_connection_errors_are_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json={"accepted": 1, "duplicates": 0, "rejected": []})

    sleeps: list[float] = []
    assert make_client(handler, sleeps).send_event({"event_id": "e"})["accepted"] == 1
    assert sleeps == [0.5]
