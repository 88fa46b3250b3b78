#!/usr/bin/env bash
# Checks that a Rust toolchain able to build this workspace is on PATH: cargo and
# rustc >= 1.85 (the workspace's rust-version). Sourced by the other scripts (so a
# toolchain found in ~/.cargo/bin reaches their PATH) or run on its own.
#
# It never downloads a toolchain: the machines this runs on reach package
# registries only. Nothing else is needed to build: the crate speaks TLS through
# rustls and PostgreSQL through a pure-Rust driver, so no libpq or OpenSSL.

ensure_rust_min="1.85"

ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
        PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
        export PATH
    fi
    if ! command -v cargo >/dev/null 2>&1 || ! command -v rustc >/dev/null 2>&1; then
        echo "error: cargo was not found. prakerja-api needs a Rust toolchain >= $ensure_rust_min;" >&2
        echo "       install one with rustup (https://rustup.rs) and run this again." >&2
        return 1
    fi
    local version major minor
    version=$(rustc --version | awk '{print $2}')
    major=${version%%.*}
    minor=${version#*.}
    minor=${minor%%.*}
    if ! [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] ||
        ((major < ${ensure_rust_min%%.*} || (major == ${ensure_rust_min%%.*} && minor < ${ensure_rust_min#*.}))); then
        echo "error: rustc $version is too old: prakerja-api needs Rust >= $ensure_rust_min (rustup update stable)." >&2
        return 1
    fi
}

if (return 0 2>/dev/null); then
    # Sourced: a failure returns non-zero, which stops a caller running under `set -e`.
    ensure_rust
else
    ensure_rust || exit 1
fi
