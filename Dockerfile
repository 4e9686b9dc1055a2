# syntax=docker/dockerfile:1
# pgroles: multi-stage build.
#   docker build -t pgroles:dev .
#   docker run --rm -p 3000:3000 \
#     -v "$PWD/pgroles.toml:/etc/pgroles/pgroles.toml:ro" \
#     -v "$PWD/global-bundle.pem:/etc/pgroles/rds-ca.pem:ro" \
#     -e PGROLES_CONFIG=/etc/pgroles/pgroles.toml \
#     -e PGROLES_SLACK_BOT_TOKEN_FILE=/run/secrets/bot_token ... pgroles:dev serve
# The RDS CA bundle is not baked in: mount it at /etc/pgroles/rds-ca.pem and set
# database.ca_file = "/etc/pgroles/rds-ca.pem" (deploy/k8s mounts it from a ConfigMap).

############################ builder ############################
FROM rust:1-bookworm AS builder
WORKDIR /build

# The production build: `--no-default-features` leaves out the `demo` feature (`pgroles demo`)
# and with it the fake Slack (crates/slack-fake). A local `cargo build` keeps both.
#
# 1. Dependencies only: the real manifest and lock file with placeholder sources (and a stub for
#    every bench/test/example target Cargo.toml declares, and a stub library for every workspace
#    member under crates/, whose manifest cargo reads to load the workspace). This layer is
#    rebuilt only when the manifests, Cargo.lock or the stub script change.
COPY Cargo.toml Cargo.lock ./
COPY crates/slack-fake/Cargo.toml crates/slack-fake/Cargo.toml
COPY crates/pagerduty-fake/Cargo.toml crates/pagerduty-fake/Cargo.toml
COPY deploy/docker-stub-targets.sh /usr/local/lib/docker-stub-targets.sh
RUN sh /usr/local/lib/docker-stub-targets.sh \
    && cargo build --release --locked --no-default-features \
    && rm -rf src

# 2. The crate itself. `touch` makes sure cargo sees the real sources as newer than the dummy.
COPY src/ src/
COPY sql/ sql/
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --no-default-features \
    && cp target/release/pgroles /usr/local/bin/pgroles

############################ runtime ############################
FROM debian:bookworm-slim AS runtime

# ca-certificates: Slack, AWS APIs and public CAs. Versions float with the bookworm point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 pgroles \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin pgroles \
    && mkdir -p /etc/pgroles

COPY --from=builder /usr/local/bin/pgroles /usr/local/bin/pgroles
COPY pgroles.example.toml /usr/share/doc/pgroles/pgroles.example.toml

LABEL org.opencontainers.image.title="pgroles" \
      org.opencontainers.image.description="Least-privilege PostgreSQL role model and just-in-time firefighter access over Slack" \
      org.opencontainers.image.licenses="Apache-2.0"

# Config: /etc/pgroles/pgroles.toml (mounted); RDS CA bundle: /etc/pgroles/rds-ca.pem (mounted).
USER 10001:10001
EXPOSE 3000

# The binary checks itself: no curl in the image.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/pgroles", "healthcheck", "--url", "http://127.0.0.1:3000/healthz"]

ENTRYPOINT ["/usr/local/bin/pgroles"]
CMD ["serve"]
