#!/usr/bin/env bash
# Lints the committed OpenAPI document and proves its examples. Run by .ci/run
# after the check that the document is current; alone:
#
#   bash scripts/openapi-lint.sh
#
# 1. Redocly CLI (npm, pinned in scripts/ci-tools/package.json) with its
#    recommended rules as errors (scripts/ci-tools/redocly.yaml): operationIds,
#    summaries, tags, security, 4xx responses, valid media-type examples, no
#    unused components, …
# 2. scripts/openapi_examples.py: every request, response, parameter and schema
#    example validates against its schema (JSON Schema 2020-12, formats checked).
# Both tools are installed by scripts/ci-tools.sh into the cache directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

doc=${1:-docs/openapi/openapi.json}
. scripts/ci-tools.sh
ensure_node_tools
ensure_python_tools

echo "openapi-lint: Redocly CLI $("$REDOCLY" --version 2>/dev/null | tail -n 1), recommended-strict" >&2
# Redocly prints a notice about Node.js 20 on stderr; the verdict is its exit code.
"$REDOCLY" lint "$doc" --config scripts/ci-tools/redocly.yaml --format=stylish 2> >(grep -v -e '^\s*$' -e '║' -e '╔' -e '╚' >&2)
"$CI_PYTHON" scripts/openapi_examples.py "$doc"
