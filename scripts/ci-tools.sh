#!/usr/bin/env bash
# Sourced by scripts/schemathesis.sh and scripts/openapi-lint.sh: installs the
# pinned outside tools they use, once, into a cache directory, and exports
#   SCHEMATHESIS   the schemathesis executable (PyPI, in a venv)
#   CI_PYTHON      that venv's python (it also has jsonschema_rs)
#   REDOCLY        the Redocly CLI executable (npm)
#
# The versions are pinned in scripts/ci-tools/: requirements.txt (every PyPI
# package of the venv, exact versions) and package.json + package-lock.json.
# PRAKERJA_TOOLS_DIR overrides the cache directory; deleting it is always safe.

tools_src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ci-tools"
tools_dir=${PRAKERJA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/prakerja-api/ci-tools}

# A directory per content of the pin files, so a changed pin installs afresh.
tools_hash=$(cat "$tools_src/requirements.txt" "$tools_src/package.json" "$tools_src/package-lock.json" |
    sha256sum | cut -c1-12)

ensure_python_tools() {
    local venv="$tools_dir/venv-$tools_hash"
    if [ ! -x "$venv/bin/schemathesis" ]; then
        echo "ci-tools: installing schemathesis and its pinned dependencies into $venv" >&2
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
            -r "$tools_src/requirements.txt"
    fi
    SCHEMATHESIS="$venv/bin/schemathesis"
    CI_PYTHON="$venv/bin/python"
    export SCHEMATHESIS CI_PYTHON
}

ensure_node_tools() {
    local dir="$tools_dir/node-$tools_hash"
    if [ ! -x "$dir/node_modules/.bin/redocly" ]; then
        command -v npm >/dev/null 2>&1 || {
            echo "ci-tools: npm is needed for the OpenAPI linter (apt-get install nodejs npm)" >&2
            return 1
        }
        echo "ci-tools: installing the Redocly CLI into $dir" >&2
        rm -rf "$dir"
        mkdir -p "$dir"
        cp "$tools_src/package.json" "$tools_src/package-lock.json" "$dir/"
        (cd "$dir" && npm ci --silent --no-audit --no-fund >/dev/null)
    fi
    REDOCLY="$dir/node_modules/.bin/redocly"
    # No usage reports and no update checks: CI reaches the package registries only.
    export REDOCLY REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
}
