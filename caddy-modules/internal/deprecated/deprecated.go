// Package deprecated keeps a renamed Caddyfile directive or global option
// working for one release: the old name parses exactly as the new one and
// logs a warning that names the replacement, the way Caddy itself retired
// `basicauth` for `basic_auth`.
//
// Only Caddyfile names get aliases. A module ID cannot: registering the old
// ID again would bring back the clash with other plugins that the rename
// removes.
package deprecated

import (
	"fmt"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

var logger = struct {
	sync.Mutex
	l *zap.Logger // nil: caddy.Log()
}{}

// SetLogger makes the warnings go to l until restore is called; for tests.
func SetLogger(l *zap.Logger) (restore func()) {
	logger.Lock()
	defer logger.Unlock()
	prev := logger.l
	logger.l = l
	return func() {
		logger.Lock()
		defer logger.Unlock()
		logger.l = prev
	}
}

func warn(kind, old, replacement string) {
	logger.Lock()
	l := logger.l
	logger.Unlock()
	if l == nil {
		l = caddy.Log()
	}
	l.Named("config.adapter.caddyfile").Warn(Message(kind, old, replacement))
}

// Message is the warning logged when a Caddyfile uses old.
func Message(kind, old, replacement string) string {
	return fmt.Sprintf("the '%s' %s is deprecated and will be removed in the next release; please use '%s' instead", old, kind, replacement)
}

// HandlerDirective registers old as an alias of the handler directive
// replacement: it parses with parse and takes the same place in the
// directive order (pos relative to the standard directive dir), as
// replacement's registration does. The warning is logged once per adapted
// Caddyfile, however many routes use old.
func HandlerDirective(old, replacement string, parse httpcaddyfile.UnmarshalHandlerFunc, pos httpcaddyfile.Positional, dir string) {
	httpcaddyfile.RegisterHandlerDirective(old, func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		// h.State lives for one adapt of one Caddyfile.
		key := "caddysocial.deprecated." + old
		if h.State[key] == nil {
			h.State[key] = true
			warn("directive", old, replacement)
		}
		return parse(h)
	})
	httpcaddyfile.RegisterDirectiveOrder(old, pos, dir)
}

// GlobalOption registers old as an alias of the global option replacement,
// parsed by parse. A global option appears once in a Caddyfile, so its
// warning is logged once per adapt.
func GlobalOption(old, replacement string, parse httpcaddyfile.UnmarshalGlobalFunc) {
	httpcaddyfile.RegisterGlobalOption(old, func(d *caddyfile.Dispenser, existing any) (any, error) {
		warn("global option", old, replacement)
		return parse(d, existing)
	})
}
