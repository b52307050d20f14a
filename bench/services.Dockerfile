# bench/services.sh's service images: the binary that service.Dockerfile
# builds for user-service and post-service (same Go toolchain and flags: CGO off,
# -trimpath -ldflags="-s -w"), built on the host by the script for both
# builds under test, on the same distroless base, as the same user.
FROM gcr.io/distroless/static-debian12:nonroot
ARG BIN
COPY ${BIN} /app
USER nonroot:nonroot
ENTRYPOINT ["/app"]
