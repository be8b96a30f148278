# Multi-stage build for the `partneros` binary.
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --release -p partneros-server \
    && cp target/release/partneros /usr/local/bin/partneros

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home --shell /usr/sbin/nologin partneros
COPY --from=builder /usr/local/bin/partneros /usr/local/bin/partneros
USER partneros
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
CMD ["partneros", "serve"]
