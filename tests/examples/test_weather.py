"""The weather example: offline by default, a real HTTP provider when configured."""

from __future__ import annotations

import importlib
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from kettle.testing import TestClient

EXAMPLES = Path(__file__).parents[2] / "examples"


def load_weather(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    sys.modules.pop("weather", None)
    return importlib.import_module("weather")


class FakeWeatherService(BaseHTTPRequestHandler):
    """Answers like the live service: a JSON document per city, 404 for unknown ones."""

    def do_GET(self) -> None:
        city = self.path.strip("/")
        if city == "Atlantis":
            self.send_response(404)
            self.end_headers()
            return
        body = json.dumps(
            {"current_condition": [{"temp_C": "7", "weatherDesc": [{"value": f"Fog in {city}"}]}]}
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def weather_service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWeatherService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{{city}}"
    server.shutdown()
    server.server_close()


def test_the_example_is_at_most_30_lines() -> None:
    assert len((EXAMPLES / "weather.py").read_text().splitlines()) <= 30


def test_hello_world_is_at_most_6_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len((EXAMPLES / "hello.py").read_text().splitlines()) <= 6
    monkeypatch.syspath_prepend(str(EXAMPLES))
    sys.modules.pop("hello", None)
    hello = importlib.import_module("hello")
    with TestClient(hello.app) as client:
        assert client.get("/").text == "Hello, World!"


def test_offline_provider_answers_known_cities(monkeypatch: pytest.MonkeyPatch) -> None:
    weather = load_weather(monkeypatch)
    with TestClient(weather.app) as client:
        response = client.get("/weather/London")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "city": "London",
        "temperature_c": 11.5,
        "sky": "Light rain",
        "source": "offline",
    }


def test_offline_provider_404_names_the_known_cities(monkeypatch: pytest.MonkeyPatch) -> None:
    weather = load_weather(monkeypatch)
    with TestClient(weather.app) as client:
        response = client.get("/weather/Mars")
    assert response.status_code == 404
    assert "london, paris, tokyo" in response.json()["detail"]


def test_http_provider_fetches_over_the_network(
    monkeypatch: pytest.MonkeyPatch, weather_service: str
) -> None:
    weather = load_weather(
        monkeypatch, KETTLE_WEATHER_PROVIDER="http", KETTLE_WEATHER_URL=weather_service
    )
    with TestClient(weather.app) as client:
        response = client.get("/weather/Oslo")
    assert response.json() == {
        "city": "Oslo",
        "temperature_c": 7.0,
        "sky": "Fog in Oslo",
        "source": "http",
    }


def test_http_provider_failure_is_a_502_not_a_500(
    monkeypatch: pytest.MonkeyPatch, weather_service: str
) -> None:
    weather = load_weather(
        monkeypatch, KETTLE_WEATHER_PROVIDER="http", KETTLE_WEATHER_URL=weather_service
    )
    with TestClient(weather.app) as client:
        response = client.get("/weather/Atlantis")
    assert response.status_code == 502
    assert "404" in response.json()["detail"]
