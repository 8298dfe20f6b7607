"""NBI write bodies checked by pydantic models, and their refusals as the NBI's 400s.

A model refuses unknown fields (``extra="forbid"``); ``parse`` turns pydantic's complaint into
``{"error": <the first problem>, "detail": [every problem]}``, so a caller reads what to fix
without knowing pydantic. A check of our own raises ``problem("must be ...")``: its message
follows the field's name ("value must be a number").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import Field, StrictFloat, StrictInt, TypeAdapter, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import ErrorDetails, PydanticCustomError

from .errors import ApiError, bad_request

T = TypeVar("T")
_OURS = "acs_body"


def absent(**kw: Any) -> Any:
    """An optional field's default: it may be left out, not sent as null (models dump ``exclude_unset``)."""
    return Field(None, **kw)


def problem(message: str) -> PydanticCustomError:
    """A refusal of our own wording, shown after the field's name."""
    return PydanticCustomError(_OURS, message)


def worded(message: str) -> WrapValidator:
    """Any refusal of the annotated type reads ``message`` (one line rather than one per union member)."""

    def wrap(v: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(v)
        except ValidationError:
            raise problem(message) from None

    return WrapValidator(wrap)


Number = Annotated[StrictInt | StrictFloat, worded("must be a number")]  # kept as sent: 5 stays 5


def where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def message(err: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    """One problem in words: "<field> must ...", "<field> is required" or "<field>: <pydantic's words>"."""
    msg = str(err["msg"]).removeprefix("Value error, ")
    if not loc:
        return msg
    if err["type"] == _OURS:
        return f"{where(loc)} {msg}"
    if err["type"] == "missing":
        return f"{where(loc)} is required"
    return f"{where(loc)}: {msg}"


def details(errors: list[ErrorDetails], skip: int = 0) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"][skip:]), "msg": str(e["msg"]).removeprefix("Value error, ")} for e in errors]


def refusal(e: ValidationError, what: str, allowed: Callable[[], list[str]] | None = None) -> ApiError:
    """The 400 for a body ``what`` (e.g. "campaign") its model refused."""
    errors = e.errors(include_url=False, include_context=False)
    extra = sorted(str(err["loc"][0]) for err in errors if err["type"] == "extra_forbidden" and len(err["loc"]) == 1)
    if extra:
        return bad_request(f"unknown {what} fields {extra}", allowed() if allowed else details(errors))
    first = errors[0]
    return bad_request(message(first, tuple(first["loc"])), details(errors))


def parse(adapter: TypeAdapter[T], body: Any, what: str, allowed: Callable[[], list[str]] | None = None) -> T:
    """``body`` as the adapter's model, or the NBI's 400 naming what is wrong."""
    if not isinstance(body, dict):
        raise bad_request(f"a {what} is a JSON object", body)
    try:
        return adapter.validate_python(body)
    except ValidationError as e:
        raise refusal(e, what, allowed) from None


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """A JSON schema with its ``$ref``s replaced by what they name: an operation's schema given as
    ``openapi_extra`` stands alone (FastAPI files under components only declared body parameters)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        out = {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
        if isinstance(out.get("discriminator"), dict):  # its mapping names $refs
            out["discriminator"] = {"propertyName": out["discriminator"]["propertyName"]}
        return out
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def json_schema(adapter: TypeAdapter[Any]) -> dict[str, Any]:
    """The adapter's JSON schema, standing alone."""
    schema = adapter.json_schema()
    return _inline(schema, schema.get("$defs", {}))


def openapi_body(adapter: TypeAdapter[Any], example: Any = None) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON body itself and parses it with ``adapter``."""
    content: dict[str, Any] = {"schema": json_schema(adapter)}
    if example is not None:
        content["example"] = example
    return {"requestBody": {"required": True, "content": {"application/json": content}}}
