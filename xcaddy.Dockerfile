# syntax=docker/dockerfile:1
# One image for the gateway and both layer-4 balancers: Caddy with our modules.
#   gateway:  caddy run --config /etc/caddy/Caddyfile
#   balancer: caddy run --config /etc/lb/user-lb.yaml --adapter lbyaml
FROM caddy:2.11-builder AS build
WORKDIR /src
COPY svckit/go.mod svckit/go.sum ./svckit/
COPY caddy-modules/go.mod caddy-modules/go.sum ./caddy-modules/
RUN --mount=type=cache,target=/go/pkg/mod cd caddy-modules && go mod download
COPY svckit ./svckit
COPY caddy-modules ./caddy-modules
# caddy-l4 (the layer4 app our balancer handler runs in) and our plugin. The
# plugin module is local: the pseudo-version makes Go take it from the
# replacement without asking a module proxy. The builder's Caddy version is used.
# The plugin's own replace of svckit (../svckit) does not reach xcaddy's main
# module, hence --replace.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	xcaddy build --output /out/caddy \
		--with github.com/mholt/caddy-l4@v0.1.2 \
		--with github.com/caddysocial/platform/caddy-modules@v0.0.0-00010101000000-000000000000=./caddy-modules \
		--replace github.com/caddysocial/platform/svckit=./svckit \
	&& /out/caddy list-modules | grep '^layer4.handlers.caddysocial_balancer$' >/dev/null

FROM caddy:2.11
COPY --from=build /out/caddy /usr/bin/caddy
COPY Caddyfile /etc/caddy/Caddyfile
COPY lb-configs/ /etc/lb/
# The web client (Caddyfile: root {$WEB_ROOT:/srv/web}).
COPY web/ /srv/web/
# Run as an unprivileged user; its state lives outside the image's root-owned
# /data and /config. /secrets holds the generated JWT secret (a volume).
ENV XDG_DATA_HOME=/var/lib/caddy/data XDG_CONFIG_HOME=/var/lib/caddy/config
RUN mkdir -p /var/lib/caddy/data /var/lib/caddy/config /secrets \
	&& chown -R 65532:65532 /var/lib/caddy /secrets \
	&& chmod 700 /secrets
USER 65532:65532
