# syntax=docker/dockerfile:1
# The image of one Go service: user-service, post-service or feed-service,
# chosen by the SERVICE build argument. Built from the repository root
# (docker-compose.yaml: context ., dockerfile service.Dockerfile, args
# SERVICE); service.Dockerfile.dockerignore keeps the context to the services
# and svckit, the shared module each go.mod replaces with ../svckit.
#
#   docker build -f service.Dockerfile --build-arg SERVICE=post-service -t caddy-social/post-service:local .
FROM golang:1.26-bookworm AS build
ARG SERVICE
RUN case "$SERVICE" in user-service|post-service|feed-service) ;; \
	*) echo "service.Dockerfile: build with --build-arg SERVICE=user-service, post-service or feed-service (got '$SERVICE')" >&2; exit 1 ;; esac
WORKDIR /src/${SERVICE}
COPY svckit/go.mod svckit/go.sum /src/svckit/
COPY ${SERVICE}/go.mod ${SERVICE}/go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY svckit /src/svckit
COPY ${SERVICE} ./
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/app .

# Static binary on distroless, as the nonroot user (65532). The binary is its
# own healthcheck: /app -healthcheck.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/app /app
USER nonroot:nonroot
EXPOSE 5000
ENTRYPOINT ["/app"]
