// Package directive registers our HTTP handler directives the one way all
// of them are registered: the directive's parse function only delegates to
// the handler's UnmarshalCaddyfile (as Caddy's own directives do), the
// directive places itself in Caddy's directive order (so a Caddyfile needs
// no `order` option), and its name from before the caddysocial_ prefix
// stays for one release as a deprecated alias.
package directive

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddysocial/platform/caddy-modules/internal/deprecated"
)

// Handler is a handler module configured from the Caddyfile by its
// UnmarshalCaddyfile; PT is *T.
type Handler[T any] interface {
	*T
	caddyhttp.MiddlewareHandler
	caddyfile.Unmarshaler
}

// Parse is the parse function of T's directive: a new T, set up by its
// UnmarshalCaddyfile.
func Parse[T any, PT Handler[T]](h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	handler := PT(new(T))
	err := handler.UnmarshalCaddyfile(h.Dispenser)
	return handler, err
}

// Register registers the directive name for T at pos relative to the
// standard directive dir and, unless old is "", old as its deprecated
// alias in the same place.
func Register[T any, PT Handler[T]](name, old string, pos httpcaddyfile.Positional, dir string) {
	httpcaddyfile.RegisterHandlerDirective(name, Parse[T, PT])
	httpcaddyfile.RegisterDirectiveOrder(name, pos, dir)
	if old != "" {
		deprecated.HandlerDirective(old, name, Parse[T, PT], pos, dir)
	}
}
