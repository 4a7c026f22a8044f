"""Configuration validation against the workflow's JSON schema, with messages that name the key."""

from __future__ import annotations

import os
from typing import Any

import jsonschema
import yaml

from .errors import ConfigError


def _extend_with_default(validator_class):
    """A validator that also fills in ``default`` values, so rules can rely on every key."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if "default" in sub and prop not in instance:
                    instance[prop] = sub["default"]
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _extend_with_default(jsonschema.Draft202012Validator)


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _allowed_keys(section: dict, root: dict) -> set[str]:
    """Keys a section allows: its own properties and those of the schemas it combines (allOf/$ref)."""
    keys = set(section.get("properties", {}))
    for sub in section.get("allOf", []):
        ref = sub.get("$ref", "")
        if ref.startswith("#/$defs/"):
            keys |= _allowed_keys(root["$defs"][ref.split("/")[-1]], root)
        else:
            keys |= _allowed_keys(sub, root)
    return keys


def validate_config(config: dict[str, Any], schema_path: str | os.PathLike) -> dict[str, Any]:
    """Validate ``config`` in place (filling defaults) against the YAML/JSON schema at ``schema_path``.

    Raises
    ------
    ConfigError
        listing every problem as ``key.path: message``, e.g. a misspelled key
        (``crossuser.windows: unknown key 'lenght'``) or a wrong-typed value.
    """
    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    validator = _DefaultFillingValidator(schema)
    problems = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        if err.validator in ("additionalProperties", "unevaluatedProperties"):
            allowed = sorted(_allowed_keys(err.schema, schema))
            extra = sorted(set(err.instance) - set(allowed))
            problems.append(
                f"{_key_path(err)}: unknown key(s) {extra}"
                + (f"; allowed keys: {allowed}" if allowed else "")
            )
        else:
            problems.append(f"{_key_path(err)}: {err.message}")
    if problems:
        raise ConfigError(
            f"invalid configuration (schema {schema_path}):\n  " + "\n  ".join(problems)
        )
    return config
