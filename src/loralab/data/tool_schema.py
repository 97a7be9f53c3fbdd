"""Tool arguments against the tool's JSON Schema, checked by ``jsonschema`` (Draft 2020-12).

Shared by the scorer (predicted calls) and the data checks (gold calls), so both judge an argument
the same way. Two rules on top of the standard, both as strict as a serving API or BFCL is:

* An object schema that lists ``properties`` and says nothing of ``additionalProperties`` is
  closed: a key it does not list is a problem (a hallucinated argument).
* ``integer`` means an integer literal: ``3.0`` is not one (the standard would accept it).

BFCL's Python-flavoured type names (``dict``, ``float``, ``tuple``, ``any``) are read as their
JSON Schema types, so BFCL-style tool files can be scored as they are.

Each problem has the class the scorer reports: ``wrong_type`` (a JSON type the schema does not
allow), ``wrong_value`` (right type, but outside ``enum``/``const``/a range/a length/a pattern),
``missing_argument`` (``required``) or ``extra_argument`` (a key the schema does not list).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, UnknownType

WRONG_TYPE, WRONG_VALUE = "wrong_type", "wrong_value"
MISSING_ARGUMENT, EXTRA_ARGUMENT = "missing_argument", "extra_argument"

_BASE_TYPES = Draft202012Validator.TYPE_CHECKER
_TYPES = _BASE_TYPES.redefine_many({
    "integer": lambda _, v: isinstance(v, int) and not isinstance(v, bool),
    "dict": lambda c, v: _BASE_TYPES.is_type(v, "object"),
    "float": lambda c, v: _BASE_TYPES.is_type(v, "number"),
    "tuple": lambda c, v: _BASE_TYPES.is_type(v, "array"),
    "any": lambda c, v: True,
})
ToolArgumentValidator = validators.extend(Draft202012Validator, type_checker=_TYPES)

# keywords whose value is a schema, a list of schemas, or a map of name -> schema
_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "additionalItems",
        "propertyNames", "unevaluatedItems", "unevaluatedProperties")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


@dataclass(frozen=True)
class ArgumentProblem:
    kind: str      # WRONG_TYPE, WRONG_VALUE, MISSING_ARGUMENT or EXTRA_ARGUMENT
    path: str      # "loads.fx", "nodes[1]"; "" for the arguments object itself
    message: str


def closed(schema: Any) -> Any:
    """A copy of ``schema`` where every object schema listing ``properties`` without a word on
    ``additionalProperties`` (or ``unevaluatedProperties``) refuses other keys."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in _ONE or key in _MANY:
            out[key] = closed(value)
        elif key in _MAP and isinstance(value, dict):
            out[key] = {name: closed(sub) for name, sub in value.items()}
        else:
            out[key] = value
    if isinstance(out.get("properties"), dict) and not {"additionalProperties", "unevaluatedProperties"} & set(out):
        out["additionalProperties"] = False
    return out


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return ToolArgumentValidator(closed(json.loads(schema_json)))


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _path(parts: Iterable[Any], prefix: str = "") -> str:
    path = prefix
    for part in parts:
        path = _join(path, part)
    return path


def _type_label(value: Any) -> str:
    return type(value).__name__


def schema_problems(value: Any, schema: Any, path: str = "") -> list[ArgumentProblem]:
    """Every way ``value`` breaks ``schema`` (closed, strict integers); [] when it conforms or when
    nothing is declared. ValueError when the schema itself cannot be used."""
    if not isinstance(schema, dict) or not schema:
        return []
    try:
        validator = _validator(json.dumps(schema, sort_keys=True, default=str))
        errors = list(validator.iter_errors(value))
    except (SchemaError, UnknownType, TypeError, re.error) as exc:
        raise ValueError(f"the JSON Schema {json.dumps(schema)[:200]} cannot be checked: "
                         f"{getattr(exc, 'message', exc)}") from exc
    problems: list[ArgumentProblem] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, where: str, message: str) -> None:
        if (kind, where) not in seen:
            seen.add((kind, where))
            problems.append(ArgumentProblem(kind, where, message))

    for error in errors:
        where, keyword, instance = _path(error.absolute_path, path), error.validator, error.instance
        if keyword == "required" and isinstance(instance, dict):
            for name in error.validator_value:
                if name not in instance:
                    add(MISSING_ARGUMENT, _join(where, name), f"missing required argument {_join(where, name)!r}")
        elif keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
            listed = error.schema.get("properties") or {}
            patterns = error.schema.get("patternProperties") or {}
            for name in instance:
                if name not in listed and not any(re.search(p, name) for p in patterns):
                    add(EXTRA_ARGUMENT, _join(where, name), f"unexpected argument {_join(where, name)!r}")
        elif keyword == "type":
            expected = error.validator_value
            expected = "|".join(expected) if isinstance(expected, list) else expected
            add(WRONG_TYPE, where, f"{where or 'arguments'}: expected {expected}, got {_type_label(instance)}")
        elif keyword == "enum":
            add(WRONG_VALUE, where, f"{where}: {instance!r} not in {error.validator_value}")
        elif keyword in ("anyOf", "oneOf"):
            # a type error when no branch allows the value's JSON type
            type_failed = {e.relative_schema_path[0] for e in error.context or [] if e.validator == "type"}
            no_type = len(type_failed) == len(error.validator_value)
            add(WRONG_TYPE if no_type else WRONG_VALUE, where,
                f"{where}: {instance!r} matches no {keyword} branch" if no_type else f"{where}: {error.message}")
        else:
            add(WRONG_VALUE, where, f"{where}: {error.message}")
    return problems


def argument_problems(parameters: Any, arguments: Any) -> list[ArgumentProblem]:
    """Problems of a call's ``arguments`` against its tool's ``parameters`` schema."""
    if not isinstance(arguments, dict):
        return [ArgumentProblem(WRONG_TYPE, "", f"arguments must be an object, got {_type_label(arguments)}")]
    return schema_problems(arguments, parameters)

