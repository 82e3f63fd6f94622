"""schemas/ is the single source of truth: openapi.json is generated from the tool schemas and must be current."""
import json
import pathlib
import subprocess
import sys

import jsonschema

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_openapi_is_generated_from_tool_schemas():
    r = subprocess.run([sys.executable, str(REPO / "schemas" / "generate_openapi.py"), "--check"])
    assert r.returncode == 0, "schemas/openapi.json is stale: run python3 schemas/generate_openapi.py"


def test_tool_schemas_are_valid_json_schema():
    for path in sorted((REPO / "schemas" / "mcp").glob("*.json")):
        tool = json.loads(path.read_text())
        assert tool["name"] == path.stem
        jsonschema.Draft202012Validator.check_schema(tool["inputSchema"])
        assert tool["inputSchema"].get("additionalProperties") is False, path.name
