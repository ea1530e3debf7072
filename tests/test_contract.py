"""builder/contract.json is what the models say, and the build runs on it without importing pydantic."""

from __future__ import annotations

import subprocess
import sys

from builder import contract, models
from tests.conftest import REPO


def test_contract_file_is_generated_from_the_models() -> None:
    assert contract.CONTRACT_FILE.read_bytes() == contract.generate(), (
        "builder/models/ changed: regenerate with `.venv/bin/python -m builder.contract`"
    )


def test_contract_fields_follow_the_model_rules() -> None:
    stop_time = contract.fields("StopTime")
    assert stop_time.names == tuple(models.StopTime.model_fields)
    assert stop_time.always == models.always_present(models.StopTime)
    assert "stop_sequence" in stop_time.always and "pickup_type" not in stop_time.always


def test_contract_schemas_are_the_models_json_schemas() -> None:
    schemas = contract.schemas()
    assert sorted(schemas) == sorted(models.DOCUMENT_MODELS)
    trip = models.TripStops.model_json_schema()
    assert schemas["trip"]["properties"] == trip["properties"]
    assert schemas["trip"]["$id"] == "schemas/trip.schema.json"


def test_contract_build_and_cli_import_no_pydantic() -> None:
    code = "import sys, builder.cli, builder.build; sys.exit('pydantic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False)
    assert done.returncode == 0, "the build path imports pydantic again (10 MB in every build process)"
