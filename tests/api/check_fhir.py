"""Validate FHIR R4 JSON the server emitted, with two independent checkers:
the `fhir.resources` models (R4B package) and the official FHIR R4 JSON
schema (draft-06, `fhir.schema.json` beside this venv's python). Reads a
JSON array of resources on stdin; prints one line per problem; exits 1 if
any."""
import importlib
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.dirname(sys.executable))
with open(os.path.join(HERE, "fhir.schema.json")) as f:
    SCHEMA = json.load(f)
# The npm package ships the schema of R4's first release (4.0.0), whose
# FHIRVersion list stops at 4.0.0; R4's technical correction 4.0.1 (the
# version every R4 server names) changed nothing else in these definitions.
for definition in SCHEMA["definitions"].values():
    for prop in definition.get("properties", {}).values():
        if isinstance(prop.get("enum"), list) and "4.0.0" in prop["enum"] and "4.0.1" not in prop["enum"]:
            prop["enum"].append("4.0.1")


def model(resource_type):
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def check(resource):
    problems = []
    kind = resource.get("resourceType", "?")
    try:
        model(kind).model_validate(resource)
    except Exception as e:  # noqa: BLE001 - any refusal is a finding
        problems.append(f"{kind} fhir.resources: {e}")
    schema = {"$ref": f"#/definitions/{kind}", "definitions": SCHEMA["definitions"]}
    validator = jsonschema.Draft6Validator(schema)
    for error in validator.iter_errors(resource):
        problems.append(f"{kind} schema at {list(error.absolute_path)}: {error.message[:300]}")
    return problems


def main():
    resources = json.load(sys.stdin)
    problems = [p for r in resources for p in check(r)]
    for p in problems:
        print(p)
    print(f"checked {len(resources)}", file=sys.stderr)
    sys.exit(1 if problems else 0)


main()
