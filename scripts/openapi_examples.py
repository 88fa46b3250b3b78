#!/usr/bin/env python3
"""Proves that every example in the OpenAPI document validates against the
schema it illustrates: the request and response examples of every operation,
the examples of parameters, and every `example`/`examples` inside a schema.

Usage: openapi_examples.py docs/openapi/openapi.json

Validation is JSON Schema 2020-12 (OpenAPI 3.1's dialect) with formats checked,
by jsonschema_rs: the Python binding of the Rust `jsonschema` crate, the
validator schemathesis itself uses, pinned in scripts/ci-tools/requirements.txt.
Exits 1 listing every example that does not validate, and when an operation has
no request (where it takes a JSON body) or no success-response example.
"""

import json
import sys

import jsonschema_rs

doc = json.load(open(sys.argv[1]))
problems = []
checked = 0


def escape(token):
    return str(token).replace("~", "~0").replace("/", "~1")


def resolve(pointer):
    node = doc
    for token in pointer.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def check(value, pointer, what):
    """Validates `value` against the schema at `pointer` inside the document."""
    global checked
    schema = resolve(pointer)
    if not isinstance(schema, dict):
        schema = {"allOf": [schema]} if isinstance(schema, bool) else {}
    # The schema with the document's components beside it, so its
    # `#/components/...` references resolve; `$schema` makes the dialect
    # explicit. OpenAPI's own keywords (example, discriminator, …) are
    # annotations to 2020-12 and change nothing.
    root = dict(schema)
    root["components"] = doc.get("components", {})
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    try:
        validator = jsonschema_rs.validator_for(root, validate_formats=True)
    except Exception as error:  # the schema itself is broken
        problems.append(f"{what}: the schema at {pointer} does not compile: {error}")
        return
    errors = list(validator.iter_errors(value))
    checked += 1
    for error in errors[:3]:
        problems.append(f"{what}: {error.message} (at {'/'.join(map(str, error.instance_path)) or 'the root'})")


def walk_schema(schema, pointer, what):
    """Every example inside a schema, checked against the schema carrying it."""
    if isinstance(schema, dict):
        if "example" in schema:
            check(schema["example"], pointer, f"{what} example")
        for i, example in enumerate(schema.get("examples", []) if isinstance(schema.get("examples"), list) else []):
            check(example, pointer, f"{what} examples[{i}]")
        for key, value in schema.items():
            if key in ("example", "examples", "enum", "const", "default"):
                continue
            walk_schema(value, f"{pointer}/{escape(key)}", what)
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            walk_schema(item, f"{pointer}/{i}", what)


for name, schema in doc.get("components", {}).get("schemas", {}).items():
    walk_schema(schema, f"/components/schemas/{escape(name)}", f"schema {name}")

for path, item in doc["paths"].items():
    for method, operation in item.items():
        if method not in ("get", "put", "post", "delete", "patch"):
            continue
        label = f"{method.upper()} {path}"
        base = f"/paths/{escape(path)}/{method}"
        for i, parameter in enumerate(operation.get("parameters", [])):
            if "example" in parameter:
                check(parameter["example"], f"{base}/parameters/{i}/schema", f"{label} parameter {parameter['name']}")
            walk_schema(parameter.get("schema"), f"{base}/parameters/{i}/schema", f"{label} parameter {parameter['name']}")
        content = operation.get("requestBody", {}).get("content", {})
        for media, entry in content.items():
            if "json" not in media:
                continue
            if "example" not in entry and "examples" not in entry:
                problems.append(f"{label}: the {media} request has no example")
            if "example" in entry:
                check(entry["example"], f"{base}/requestBody/content/{escape(media)}/schema", f"{label} request example")
            for key, example in entry.get("examples", {}).items():
                check(example.get("value"), f"{base}/requestBody/content/{escape(media)}/schema", f"{label} request example {key}")
        success_examples = 0
        for status, response in operation["responses"].items():
            for media, entry in response.get("content", {}).items():
                if "example" in entry:
                    success_examples += status.startswith("2")
                    check(entry["example"], f"{base}/responses/{status}/content/{escape(media)}/schema", f"{label} {status} example")
                for key, example in entry.get("examples", {}).items():
                    success_examples += status.startswith("2")
                    check(example.get("value"), f"{base}/responses/{status}/content/{escape(media)}/schema", f"{label} {status} example {key}")
        has_success_body = any(
            status.startswith("2") and response.get("content") for status, response in operation["responses"].items()
        )
        if has_success_body and not success_examples:
            problems.append(f"{label}: no success-response example")

if problems:
    print(f"openapi examples: {len(problems)} problems in {checked} examples checked", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    sys.exit(1)
print(f"openapi examples: {checked} examples validate against their schemas")
