"""Exceptions that become HTTP responses, and the errors Kettle raises at start-up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any


class HTTPException(Exception):
    """Abort the current request with an HTTP status.

    The app turns it into a response (JSON for API clients, a small HTML page for
    browsers) unless an error handler for the status or the class is registered::

        @app.get("/articles/<int:id>")
        def show(id: int):
            raise HTTPException(404, "No article with this id.")
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.detail = detail if detail is not None else HTTPStatus(status).phrase
        self.headers = dict(headers or {})
        super().__init__(status, self.detail)

    def body(self) -> dict[str, Any]:
        """The JSON body sent for this error."""
        return {
            "status": self.status,
            "error": HTTPStatus(self.status).phrase,
            "detail": self.detail,
        }


class BadRequest(HTTPException):
    """400: the request could not be understood (malformed JSON, bad encoding, ...)."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, detail)


class ValidationError(HTTPException):
    """422: the request was well formed but some fields were invalid.

    ``errors`` holds one entry per bad field, each naming where the field came from
    (``path``, ``query``, ``header``, ``cookie``, ``body``, ``form`` or ``file``)::

        raise ValidationError([{"loc": ["query", "page"], "msg": "Query parameter 'page': "
                                "expected a whole number (ASCII digits 0-9), got 'two'."}])
    """

    def __init__(self, errors: Sequence[Mapping[str, Any]]) -> None:
        self.errors = [dict(e) for e in errors]
        names = ", ".join(".".join(str(p) for p in e["loc"]) for e in self.errors)
        super().__init__(422, f"Invalid input: {names}.")

    def body(self) -> dict[str, Any]:
        return {**super().body(), "errors": self.errors}


class ConfigurationError(Exception):
    """Raised at start-up when the app or its settings are wrong; the message says how to fix it."""


__all__ = ["BadRequest", "ConfigurationError", "HTTPException", "ValidationError"]
