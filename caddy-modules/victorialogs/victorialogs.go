// Package victorialogs is the caddy.logging.writers.caddysocial_victorialogs log
// writer: Caddy's JSON log lines (access logs and the runtime log) shipped
// in batches to VictoriaLogs' /insert/jsonline by svckit/logship, the same
// shipper the services use.
//
//	log {
//		output caddysocial_victorialogs http://victoria-logs:9428 {
//			service gateway     # "service" field and log stream (default gateway)
//			tee_stderr          # also write every line to stderr
//			buffer_size 4MiB    # bound of the lines waiting to be sent
//		}
//		format json {
//			time_format rfc3339_nano   # VictoriaLogs parses the "ts" field
//		}
//	}
//
// Writing never blocks a request: a line is copied into a bounded buffer;
// when VictoriaLogs is down the buffer fills and further lines are dropped
// and counted (log_shipper_lines_dropped_total{writer}); shipping resumes
// when it is back. An empty URL means shipping is off: lines go to stderr,
// so a Caddyfile can say `output caddysocial_victorialogs "{$VICTORIA_LOGS_URL}"`.
//
// Caddy keeps one writer per WriterKey across config reloads (its writer
// pool), so a reload keeps the shipper and its buffer.
package victorialogs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"

	"github.com/caddysocial/platform/caddy-modules/internal/promreg"
	"github.com/caddysocial/platform/svckit/logship"
)

func init() {
	caddy.RegisterModule(Writer{})
}

// Writer ships log lines to VictoriaLogs.
type Writer struct {
	// URL is VictoriaLogs' base URL; empty writes to stderr instead.
	URL string `json:"url,omitempty"`
	// Service is the "service" field added to each line and the log
	// stream; default "gateway".
	Service string `json:"service,omitempty"`
	// TeeStderr also writes every line to stderr (docker's log).
	TeeStderr bool `json:"tee_stderr,omitempty"`
	// BufferSize bounds the bytes waiting to be sent; default 4 MiB.
	BufferSize int `json:"buffer_size,omitempty"`
	// TimeField names the timestamp field; default "ts" (zap's).
	TimeField string `json:"time_field,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Writer) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddy.logging.writers.caddysocial_victorialogs", New: func() caddy.Module { return new(Writer) }}
}

// Provision applies the defaults and registers the shipper's counters into
// this config's metrics registry.
func (w *Writer) Provision(ctx caddy.Context) error {
	if w.Service == "" {
		w.Service = "gateway"
	}
	if w.TimeField == "" {
		w.TimeField = "ts"
	}
	if w.URL == "" {
		return nil
	}
	// One collector per service label, summing that service's shippers
	// (the runtime log and the access log may be two writers).
	service := w.Service
	err := promreg.Register(ctx.GetMetricsRegistry(), logship.NewCollectorFunc(func() (logship.Stats, bool) {
		return sumStats(service)
	}, "writer", service))
	if err != nil {
		return fmt.Errorf("caddysocial_victorialogs: %w", err)
	}
	return nil
}

// Validate checks the settings.
func (w *Writer) Validate() error {
	if w.BufferSize < 0 {
		return errors.New("victorialogs: buffer_size must not be negative")
	}
	if w.URL != "" {
		// The same check the shipper makes, at config load instead of first use.
		s, err := logship.New(logship.Config{URL: w.URL, FlushInterval: time.Hour})
		if err != nil {
			return err
		}
		return s.Close(context.Background())
	}
	return nil
}

func (w Writer) String() string {
	if w.URL == "" {
		return "stderr (victorialogs off)"
	}
	return "victorialogs " + w.URL
}

// WriterKey identifies the shipper: one per URL, service and options.
func (w Writer) WriterKey() string {
	if w.URL == "" {
		return "std:err" // Caddy's stderr writer's key: the same stream
	}
	return fmt.Sprintf("victorialogs:%s|%s|%t|%d|%s", w.URL, w.Service, w.TeeStderr, w.BufferSize, w.TimeField)
}

// OpenWriter starts the shipper.
func (w Writer) OpenWriter() (io.WriteCloser, error) {
	if w.URL == "" {
		return nopCloser{os.Stderr}, nil
	}
	s, err := logship.New(logship.Config{
		URL:       w.URL,
		Fields:    map[string]string{"service": w.Service},
		TimeField: w.TimeField,
		MaxBuffer: w.BufferSize,
	})
	if err != nil {
		return nil, err
	}
	shippers.Store(w.WriterKey(), entry{s, w.Service})
	var out io.Writer = s
	if w.TeeStderr {
		out = io.MultiWriter(s, os.Stderr)
	}
	return &shipperWriter{Writer: out, s: s, key: w.WriterKey(), service: w.Service}, nil
}

// shippers are the open shippers (entry) by writer key, for the collectors.
var shippers sync.Map

type entry struct {
	s       *logship.Shipper
	service string
}

// sumStats adds up the counters of the open shippers of service.
func sumStats(service string) (sum logship.Stats, found bool) {
	shippers.Range(func(_, v any) bool {
		if e := v.(entry); e.service == service {
			st := e.s.Stats()
			sum.Sent += st.Sent
			sum.Dropped += st.Dropped
			sum.Failures += st.Failures
			sum.Buffered += st.Buffered
			found = true
		}
		return true
	})
	return sum, found
}

type shipperWriter struct {
	io.Writer
	s            *logship.Shipper
	key, service string
}

// Close flushes what is buffered (bounded) and stops the shipper.
func (sw *shipperWriter) Close() error {
	shippers.CompareAndDelete(sw.key, entry{sw.s, sw.service})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return sw.s.Close(ctx)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// UnmarshalCaddyfile parses
//
//	output caddysocial_victorialogs <url> {
//		service <name>
//		tee_stderr
//		buffer_size <size>
//		time_field <field>
//	}
func (w *Writer) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the writer's name
	if !d.NextArg() {
		return d.ArgErr()
	}
	w.URL = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "service":
			if !d.AllArgs(&w.Service) {
				return d.ArgErr()
			}
		case "time_field":
			if !d.AllArgs(&w.TimeField) {
				return d.ArgErr()
			}
		case "tee_stderr":
			if d.NextArg() {
				return d.ArgErr()
			}
			w.TeeStderr = true
		case "buffer_size":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			n, err := humanize.ParseBytes(v)
			if err != nil || n > 1<<30 {
				return d.Errf("buffer_size: want a size such as 4MiB (at most 1GiB), got %q", v)
			}
			w.BufferSize = int(n)
		default:
			return d.Errf("unknown subdirective %q", d.Val())
		}
	}
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner     = (*Writer)(nil)
	_ caddy.Validator       = (*Writer)(nil)
	_ caddy.WriterOpener    = (*Writer)(nil)
	_ caddyfile.Unmarshaler = (*Writer)(nil)
)
