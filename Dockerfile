# syntax=docker/dockerfile:1
# prakerja-api image: `docker build -t prakerja-api .`
#
# Run it with APP_ENV set by the deployer (sandbox or production): the image sets
# no APP_ENV on purpose, and the binary refuses to start without it. Production
# also needs DATABASE_URL, the secrets and the integration URLs of .env.example.
#   docker run -e APP_ENV=production -e DATABASE_URL=... -p 8080:8080 prakerja-api
# Migrations are compiled into the binary; `serve` applies them at start-up
# (RUN_MIGRATIONS_ON_START, default true), or run them as a separate step:
#   docker run --rm -e APP_ENV=production -e DATABASE_URL=... prakerja-api migrate
# Probes: GET /health (liveness) and GET /ready (database up, migrations applied).

FROM rust:1-slim-bookworm AS builder
WORKDIR /src
# The whole workspace (api/ and bench/ are members; api/Cargo.toml names the test
# target under tests/), and the migrations, embedded at compile time. No libpq or OpenSSL is needed (rustls,
# pure-Rust PostgreSQL driver); ring only needs the C compiler the image has.
COPY Cargo.toml Cargo.lock ./
COPY api ./api
COPY migrations ./migrations
COPY tests ./tests
COPY bench ./bench
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p prakerja-api \
    && cp target/release/prakerja-api /usr/local/bin/prakerja-api

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 prakerja \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin prakerja
COPY --from=builder /usr/local/bin/prakerja-api /usr/local/bin/prakerja-api
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["prakerja-api"]
CMD ["serve"]
