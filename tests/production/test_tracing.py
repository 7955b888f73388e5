"""OpenTelemetry spans: request, handler and each SQL statement, on the SDK's in-memory
exporter; fast read path on and off, every engine."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import kettle.tracing
from kettle import App, HTTPException, Settings
from kettle.db import Database, _fastpath, fields, sync_session
from kettle.db.models import NAMING_CONVENTION, Model
from kettle.logs import RequestLogs
from kettle.testing import TestClient
from kettle.tracing import Tracing


class Traced(Model):
    """The model of these tests only: its table lives in a MetaData of its own."""

    __abstract__ = True
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Parcel(Traced):
    label: str = fields.string(max_length=50)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def traced_app(tmp_path: Path, exporter: InMemorySpanExporter) -> App:
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    Tracing(app, tracer_provider=provider)
    return app


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


@pytest.mark.parametrize("kind", ["def", "async def"])
def test_a_request_and_its_handler_get_spans(
    tmp_path: Path, exporter: InMemorySpanExporter, kind: str
) -> None:
    app = traced_app(tmp_path, exporter)
    if kind == "def":

        @app.get("/articles/<int:id>")
        def article(id: int) -> dict[str, int]:
            return {"id": id}
    else:

        @app.get("/articles/<int:id>")
        async def article(id: int) -> dict[str, int]:
            return {"id": id}

    with TestClient(app) as client:
        assert client.get("/articles/7?full=1").status_code == 200
    spans = by_name(exporter)
    assert set(spans) == {"GET /articles/<int:id>", "handler article"}
    request, handler = spans["GET /articles/<int:id>"], spans["handler article"]
    assert request.kind is SpanKind.SERVER
    assert request.parent is None
    assert dict(request.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": "/articles/7",
        "url.scheme": "http",
        "network.protocol.version": "1.1",
        "client.address": "127.0.0.1",
        "http.route": "/articles/<int:id>",
        "http.response.status_code": 200,
    }
    assert request.status.status_code is StatusCode.UNSET
    assert parent_of(handler) == request.context.span_id
    assert handler.context.trace_id == request.context.trace_id


def test_a_traceparent_header_continues_the_callers_trace(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    app = traced_app(tmp_path, exporter)
    app.get("/ping")(lambda: {"ok": True})
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    with TestClient(app) as client:
        client.get("/ping", headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
        client.get("/ping", headers={"traceparent": "not a trace parent"})
    first, second = [s for s in exporter.get_finished_spans() if s.name == "GET /ping"]
    assert f"{first.context.trace_id:032x}" == trace_id
    assert f"{parent_of(first):016x}" == parent_id
    assert first.parent is not None
    assert first.parent.is_remote
    assert second.parent is None  # a malformed header starts a new trace


def test_an_error_marks_the_spans_and_a_404_does_not(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    app = traced_app(tmp_path, exporter)

    @app.get("/broken")
    def broken() -> None:
        raise ValueError("the ledger does not balance")

    @app.get("/missing")
    def missing() -> None:
        raise HTTPException(404, "No such parcel.")

    with TestClient(app) as client:
        assert client.get("/broken").status_code == 500
        assert client.get("/missing").status_code == 404
        assert client.get("/nowhere").status_code == 404
    spans = by_name(exporter)
    request, handler = spans["GET /broken"], spans["handler broken"]
    assert request.status.status_code is StatusCode.ERROR
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 500
    assert handler.status.status_code is StatusCode.ERROR
    (event,) = handler.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "the ledger does not balance"
    assert spans["GET /missing"].status.status_code is StatusCode.UNSET
    assert spans["handler missing"].status.status_code is StatusCode.UNSET
    # No route matched: the span keeps the method alone, never the raw path as its name.
    assert spans["GET"].attributes is not None
    assert spans["GET"].attributes["url.path"] == "/nowhere"


def test_the_request_id_is_on_the_span(tmp_path: Path, exporter: InMemorySpanExporter) -> None:
    app = traced_app(tmp_path, exporter)
    RequestLogs(app)
    app.get("/ping")(lambda: {"ok": True})
    with TestClient(app) as client:
        client.get("/ping", headers={"x-request-id": "req-42"})
    assert by_name(exporter)["GET /ping"].attributes is not None
    assert by_name(exporter)["GET /ping"].attributes["kettle.request_id"] == "req-42"


@pytest.fixture
def parcels(tmp_path: Path, exporter: InMemorySpanExporter, db_url: str) -> Iterator[App]:
    app = traced_app(tmp_path, exporter)
    db = Database(app, url=db_url)
    Traced.metadata.drop_all(db.sync_engine)
    Traced.metadata.create_all(db.sync_engine)
    try:
        with db.session():
            Parcel.objects.create(label="books")
        exporter.clear()  # statements outside a request have no spans anyway
        yield app
    finally:
        Traced.metadata.drop_all(db.sync_engine)
        db.dispose()


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "sqlalchemy-path"])
@pytest.mark.parametrize("kind", ["def", "async def"])
def test_each_statement_gets_a_span_under_the_handler(
    parcels: App,
    exporter: InMemorySpanExporter,
    fast_path: bool,
    kind: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parcels.state.db.fast_path = fast_path
    fast_reads: list[str] = []
    announce = _fastpath._announce

    def spy(connection: Any, shape: Any, sql: str, params: Any) -> Any:
        fast_reads.append(sql)
        return announce(connection, shape, sql, params)

    monkeypatch.setattr(_fastpath, "_announce", spy)
    if kind == "def":

        @parcels.get("/parcels")
        def listing() -> list[str]:
            return [p.label for p in Parcel.objects.order_by("id")]
    else:

        @parcels.get("/parcels")
        async def listing() -> list[str]:
            return [p.label async for p in Parcel.objects.order_by("id")]

    with TestClient(parcels) as client:
        assert client.get("/parcels").json() == ["books"]
    spans = exporter.get_finished_spans()
    handler = next(s for s in spans if s.name == "handler listing")
    queries = [s for s in spans if s.kind is SpanKind.CLIENT]
    selects = [s for s in queries if s.name.startswith("SELECT")]
    assert len(selects) == 1, [s.name for s in queries]
    select = selects[0]
    assert all(parent_of(q) == handler.context.span_id for q in queries)
    assert select.attributes is not None
    engine = parcels.state.db.dialect
    assert select.attributes["db.system"] == engine
    assert select.attributes["db.operation.name"] == "SELECT"
    text = str(select.attributes["db.query.text"])
    assert "parcel" in text.lower()
    assert "books" not in text
    assert select.end_time is not None
    assert select.start_time is not None
    assert select.end_time >= select.start_time
    assert len(fast_reads) == (1 if fast_path else 0)


def test_a_failing_statement_is_an_error_span(parcels: App, exporter: InMemorySpanExporter) -> None:
    @parcels.get("/bad")
    def bad() -> None:
        sync_session().execute(sa.text("SELECT * FROM no_such_table"))

    with TestClient(parcels) as client:
        assert client.get("/bad").status_code == 500
    (failed,) = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert failed.status.status_code is StatusCode.ERROR
    assert [e.name for e in failed.events] == ["exception"]


def test_statements_outside_a_request_have_no_spans(
    parcels: App, exporter: InMemorySpanExporter
) -> None:
    with parcels.state.db.session():
        assert Parcel.objects.count() == 1
    assert exporter.get_finished_spans() == ()


def test_without_opentelemetry_nothing_is_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(kettle.tracing, "_INSTALLED", False)
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    with caplog.at_level(logging.WARNING, "kettle.tracing"):
        tracing = Tracing(app)
    assert tracing.tracer is None
    assert app.middleware == []
    assert app.around_hooks == []
    assert "opentelemetry-api is not installed" in caplog.text
