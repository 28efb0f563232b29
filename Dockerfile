# syntax=docker/dockerfile:1
#
# The bot in a container: docker build -t viggle-bot . (or docker compose up -d, see compose.yaml).
#
# Two stages. "build" compiles with cgo on (mattn/go-sqlite3 is C; gcc comes with the golang image).
# The runtime is distroless/base: glibc, CA certificates and tzdata, no shell, no package manager,
# running as the image's nonroot user (65532). Both stages are Debian 13 (trixie), so the glibc the
# binary was linked against is the one it runs with: change them together (bookworm ↔ base-debian12).

FROM golang:1.27-trixie AS build
# go.mod pins its toolchain; the image's default GOTOOLCHAIN=local would refuse an older image's go.
ENV CGO_ENABLED=1 GOTOOLCHAIN=auto
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags='-s -w' -o /out/viggle-bot . \
 && mkdir -m 0700 /out/data

FROM gcr.io/distroless/base-debian13:nonroot
COPY --from=build /out/viggle-bot /usr/local/bin/viggle-bot
# The database's folder, owned by the runtime user: a new named volume mounted here starts as a copy
# of it (owner and mode included). A bind mount must be writable by uid 65532 itself.
COPY --from=build --chown=65532:65532 /out/data /data
ENV DATABASE_PATH=/data/bot.db
WORKDIR /data
USER 65532:65532
VOLUME ["/data"]
# HTTP_ADDR (e.g. :8080) serves /metrics, /livez and /readyz; INTERACTIONS_ADDR (e.g. :8081) POST
# /interactions. Both are off unless set. There is no HEALTHCHECK: the image has no shell or curl to run
# one; probe /livez and /readyz from outside (compose, Kubernetes, a monitor).
EXPOSE 8080 8081
# SIGTERM: the bot stops taking interactions, finishes its database writes and leaves running renders
# to resume at the next start. Give it time: docker stop -t 150 (a POST to Viggle in flight is finished first; compose.yaml sets stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/viggle-bot"]
