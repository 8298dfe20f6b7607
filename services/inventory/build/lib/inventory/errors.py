"""One error type for every refusal, rendered as ``{"error": ..., "detail": ...}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: Any = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail}


def bad_request(error: str, detail: Any = None) -> ApiError:
    return ApiError(400, error, detail)


def not_found(error: str, detail: Any = None) -> ApiError:
    return ApiError(404, error, detail)
