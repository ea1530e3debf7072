"""What the build needs of the documents' contract, without importing pydantic at build time.

builder.models is the contract: pydantic models, from which the shapers take which fields a document
always carries and the snapshot's JSON Schemas come. Importing pydantic and building the models costs
10 MB in every build process before any row is read (a fifth of the floor's whole peak on hart_tampa),
so the build reads `contract.json`, generated from the models by `python -m builder.contract` and
checked against them by the test suite (tests/test_contract.py): the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson

CONTRACT_FILE = Path(__file__).with_name("contract.json")
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class ModelFields:
    names: tuple[str, ...]  # in the model's order
    always: frozenset[str]  # fields without a default: present even when null


@cache
def _contract() -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(CONTRACT_FILE.read_bytes())
    return loaded


def fields(model: str) -> ModelFields:
    """The fields of builder.models.<model>."""
    entry = _contract()["models"][model]
    return ModelFields(tuple(entry["fields"]), frozenset(entry["always"]))


def schemas() -> dict[str, dict[str, Any]]:
    """kind -> the JSON Schema of that kind's documents (published as schemas/<kind>.schema.json)."""
    return dict(_contract()["schemas"])


def generate() -> bytes:
    """contract.json's content, from the models (imports pydantic: for the test and the generator only)."""
    from pydantic import BaseModel

    from builder import models

    classes = {
        name: value
        for name, value in vars(models).items()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__.startswith(f"{models.__name__}.")
    }
    shapes = {
        name: {"fields": list(cls.model_fields), "always": sorted(models.always_present(cls))}
        for name, cls in sorted(classes.items())
    }
    published = {}
    for kind, model in sorted(models.DOCUMENT_MODELS.items()):
        schema = model.model_json_schema()
        schema["$schema"] = SCHEMA_DIALECT
        schema["$id"] = f"schemas/{kind}.schema.json"
        published[kind] = schema
    return orjson.dumps({"models": shapes, "schemas": published}, option=orjson.OPT_INDENT_2) + b"\n"


if __name__ == "__main__":
    CONTRACT_FILE.write_bytes(generate())
    print(f"wrote {CONTRACT_FILE}", file=sys.stderr)
