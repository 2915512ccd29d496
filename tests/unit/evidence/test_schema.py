import jsonschema
import pytest

from e5ops.errors import EvidenceError
from e5ops.evidence import step
from e5ops.evidence.schema import load_schema, validate_record


@pytest.mark.parametrize("name", ["evidence-record.schema.json", "scope.schema.json"])
def test_the_shipped_schemas_are_valid_json_schemas(name):
    jsonschema.Draft202012Validator.check_schema(load_schema(name))


def test_a_written_record_matches_and_a_broken_one_is_refused(store, make_run_body):
    stored = store.write(step=step("01"), body=make_run_body(), subjects=[], recorder="runner")
    validate_record(stored.record)
    broken = dict(stored.record)
    broken["run"] = {**broken["run"], "status": "mostly fine"}
    with pytest.raises(EvidenceError, match="at run/status"):
        validate_record(broken)
    with pytest.raises(EvidenceError, match="'run' is a required property"):
        store.write(step=step("02"), body={}, subjects=[], recorder="runner")
    assert [r.name for r in store.records()] == ["01_production_deployment_automation"]
