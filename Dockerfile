# bedrock-local container image: one build stage, a slim runtime stage.
#
#   docker build -t bedrock-local .
#   docker run -p 4566:4566 -v bedrock-local-data:/data bedrock-local
#
# The image must run on any x86-64 (or arm64) host, so it is built for a portable CPU
# baseline instead of the builder's own CPU (.cargo/config.toml's target-cpu=native).
# x86-64-v3 (AVX2/FMA, every x86 server since ~2015) keeps candle's vectorised loops;
# set TARGET_CPU=x86-64 for very old hosts (2-4.5x slower), or =native for this host only.
FROM rust:1-bookworm AS build
ARG TARGET_CPU=""
WORKDIR /src
COPY . .
RUN set -eux; \
    if [ -z "$TARGET_CPU" ]; then \
      case "$(uname -m)" in x86_64) TARGET_CPU=x86-64-v3 ;; *) TARGET_CPU=generic ;; esac; \
    fi; \
    RUSTFLAGS="-C target-cpu=$TARGET_CPU" cargo build --release --locked --bin bedrock-local; \
    cp target/release/bedrock-local /bedrock-local

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /bedrock-local /usr/local/bin/bedrock-local
ENV BEDROCK_LOCAL_DATA_DIR=/data \
    BEDROCK_LOCAL_HOST=0.0.0.0 \
    BEDROCK_LOCAL_PORT=4566
VOLUME ["/data"]
EXPOSE 4566
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s \
  CMD ["bedrock-local", "health"]
ENTRYPOINT ["bedrock-local"]
CMD ["serve"]
