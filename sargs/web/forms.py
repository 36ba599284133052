"""Validating forms and API bodies with pydantic, with errors people can read.

:func:`validate` turns a pydantic ``ValidationError`` into
:class:`InputError`: one message per field, in the user's language. Views
re-render the form with those messages (HTTP 422), API endpoints answer
``{"errors": [{"field", "message"}]}`` with 422.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from flask import jsonify, request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import MultiDict

M = TypeVar("M", bound=BaseModel)


def blank_to_none(value: object) -> object:
    """A form's empty or blank field is "not given" (for a ``mode="before"`` validator);
    other text is stripped."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class FieldError(ValueError):
    """A model-level check that names the field it is about: raised from a pydantic
    ``model_validator``, it is reported on ``field`` rather than on the whole form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InputError(Exception):
    """Bad input: ``errors`` maps a field name to a message for the user."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)

    def as_response(self, status: int = 422) -> Any:
        body = {"errors": [{"field": k, "message": v} for k, v in self.errors.items()]}
        response = jsonify(body)
        response.status_code = status
        return response


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return _("This field is required.")
    if kind == "string_too_short":
        return _("Must be at least %(n)s characters.", n=ctx.get("min_length"))
    if kind == "string_too_long":
        return _("Must be at most %(n)s characters.", n=ctx.get("max_length"))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Must be a whole number.")
    if kind in ("float_parsing", "decimal_parsing", "float_type", "decimal_type"):
        return _("Must be a number.")
    if kind in ("greater_than_equal", "greater_than"):
        return _("Must be at least %(n)s.", n=ctx.get("ge", ctx.get("gt")))
    if kind in ("less_than_equal", "less_than"):
        return _("Must be at most %(n)s.", n=ctx.get("le", ctx.get("lt")))
    if kind in ("literal_error", "enum"):
        return _("Choose one of: %(choices)s.", choices=ctx.get("expected", ""))
    if kind in ("datetime_parsing", "datetime_from_date_parsing", "date_parsing", "datetime_type"):
        return _("Must be a valid date and time.")
    if kind == "bool_parsing":
        return _("Must be yes or no.")
    if kind == "value_error":
        # Our own validators raise ValueError with a message already translated.
        return str(ctx.get("error", error["msg"]))
    if kind == "json_invalid":
        return _("The request body is not valid JSON.")
    if kind == "model_attributes_type" or kind == "dict_type":
        return _("A JSON object is expected.")
    if kind == "string_pattern_mismatch":
        return _("Contains characters that are not allowed here.")
    if kind == "too_short":
        return _("Choose at least %(n)s.", n=ctx.get("min_length"))
    if kind == "too_long":
        return _("Choose at most %(n)s.", n=ctx.get("max_length"))
    if kind in ("string_type", "list_type"):
        return _("This value has the wrong form.")
    return _("This value is not valid.")


def validate(schema: type[M], data: Any) -> M:
    """Validate ``data`` (a dict, MultiDict or JSON text) against ``schema``."""
    if isinstance(data, MultiDict):
        data = {
            key: (data.getlist(key) if _is_list_field(schema, key) else data.get(key))
            for key in data
        }
    try:
        if isinstance(data, str | bytes):
            return schema.model_validate_json(data)
        return schema.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "__root__"
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, FieldError):
                field = cause.field
            errors.setdefault(field, _message(error))
        raise InputError(errors) from None


def _is_list_field(schema: type[BaseModel], key: str) -> bool:
    info = schema.model_fields.get(key)
    return info is not None and getattr(info.annotation, "__origin__", None) is list


def form_data(schema: type[M]) -> M:
    """Validate the submitted form of the current request."""
    return validate(schema, request.form)


def json_body(schema: type[M]) -> M:
    """Validate the JSON body of the current request."""
    return validate(schema, request.get_data(as_text=True) or "{}")
