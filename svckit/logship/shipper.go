// Package logship ships JSON log lines to VictoriaLogs' /insert/jsonline
// API in batches, without ever blocking the code that logs.
//
// Why direct shipping instead of stdout + a collector: measured on the
// compose stack (docs/BENCHMARKS.md "Logs"), dockerd spent about a third of
// a core turning two JSON lines per request into its json-file log. A line
// handed to a Shipper costs one copy into a buffer; one goroutine per
// process sends the buffer as one HTTP request every FlushInterval.
//
// Never blocking: Write copies the line into a bounded buffer and returns;
// when the buffer is full (the store is down or slow for long) the line is
// dropped and counted. A batch that failed is kept and retried with backoff
// while new lines queue behind it, so a short outage of the store loses
// nothing and a long one loses only what does not fit; shipping resumes by
// itself when the store is back. Every POST has a timeout.
package logship

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes where and how lines are shipped. Zero fields take the
// documented defaults.
type Config struct {
	// URL is VictoriaLogs' base URL, e.g. http://victoria-logs:9428.
	URL string
	// Fields are added to every line (e.g. service=gateway), so that logs
	// whose writer cannot add them (Caddy's) still name their source.
	Fields map[string]string
	// StreamFields name the log stream (_stream_fields); default "service".
	StreamFields []string
	// MsgField and TimeField name the message and timestamp fields of the
	// lines (_msg_field, _time_field); default "msg" and "time" (log/slog).
	MsgField, TimeField string
	// MaxBuffer bounds the bytes waiting to be sent (default 4 MiB); the
	// batch being retried may hold as much again.
	MaxBuffer int
	// FlushInterval is the longest a line waits before it is sent
	// (default 500ms); a buffer over a quarter full is sent at once.
	FlushInterval time.Duration
	// Timeout bounds each POST (default 5s).
	Timeout time.Duration
	// MaxBackoff bounds the wait between retries of a failed batch (default 10s).
	MaxBackoff time.Duration
	// Client sends the batches; default a client with its own transport.
	Client *http.Client
}

// Stats are a Shipper's counters since it started.
type Stats struct {
	Sent, Dropped, Failures uint64 // lines sent, lines dropped, failed POSTs
	Buffered                int    // bytes waiting, including a batch being retried
}

// Shipper batches lines to VictoriaLogs. It is an io.Writer whose every
// Write is one or more complete lines (as log/slog and zap write them).
type Shipper struct {
	cfg      Config
	endpoint string
	prefix   []byte // `"k":"v",` of cfg.Fields, inserted after each line's '{'

	mu       sync.Mutex
	pending  bytes.Buffer
	inflight []byte // the batch being sent or retried
	lines    int    // lines in pending
	inLines  int    // lines in inflight

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once

	sent, dropped, failures atomic.Uint64
}

// New validates cfg and starts the shipping goroutine; Close ends it.
func New(cfg Config) (*Shipper, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("logship: URL %q: want http(s)://host:port", cfg.URL)
	}
	if cfg.StreamFields == nil {
		cfg.StreamFields = []string{"service"}
	}
	if cfg.MsgField == "" {
		cfg.MsgField = "msg"
	}
	if cfg.TimeField == "" {
		cfg.TimeField = "time"
	}
	if cfg.MaxBuffer <= 0 {
		cfg.MaxBuffer = 4 << 20
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 500 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute, ResponseHeaderTimeout: cfg.Timeout,
		}}
	}
	q := url.Values{}
	q.Set("_stream_fields", strings.Join(cfg.StreamFields, ","))
	q.Set("_msg_field", cfg.MsgField)
	q.Set("_time_field", cfg.TimeField)
	s := &Shipper{
		cfg:      cfg,
		endpoint: strings.TrimRight(u.String(), "/") + "/insert/jsonline?" + q.Encode(),
		prefix:   fieldsPrefix(cfg.Fields),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go s.run()
	return s, nil
}

// Write queues the lines in p (never blocks on the network, never fails):
// they are dropped and counted if the buffer is full.
func (s *Shipper) Write(p []byte) (int, error) {
	n := bytes.Count(p, []byte{'\n'})
	if len(p) > 0 && p[len(p)-1] != '\n' {
		n++
	}
	s.mu.Lock()
	if s.pending.Len()+len(p)+n*len(s.prefix)+1 > s.cfg.MaxBuffer {
		s.mu.Unlock()
		s.dropped.Add(uint64(n))
		return len(p), nil
	}
	s.appendLines(p)
	s.lines += n
	full := s.pending.Len() > s.cfg.MaxBuffer/4
	s.mu.Unlock()
	if full {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// appendLines copies p into pending, adding the configured fields to each
// JSON object line. Caller holds mu.
func (s *Shipper) appendLines(p []byte) {
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		if len(line) == 0 {
			continue
		}
		rest := bytes.TrimSpace(line[1:])
		if len(s.prefix) > 0 && line[0] == '{' && len(rest) > 0 && rest[0] != '}' {
			s.pending.WriteByte('{')
			s.pending.Write(s.prefix)
			s.pending.Write(line[1:])
		} else {
			s.pending.Write(line)
		}
		s.pending.WriteByte('\n')
	}
}

// Stats returns the counters.
func (s *Shipper) Stats() Stats {
	s.mu.Lock()
	buffered := s.pending.Len() + len(s.inflight)
	s.mu.Unlock()
	return Stats{Sent: s.sent.Load(), Dropped: s.dropped.Load(), Failures: s.failures.Load(), Buffered: buffered}
}

// Close stops the goroutine after one last attempt to send what is
// buffered, bounded by ctx and the POST timeout. Lines still unsent are
// counted as dropped.
func (s *Shipper) Close(ctx context.Context) error {
	s.once.Do(func() { close(s.stop) })
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("logship: close: %w", ctx.Err())
	}
}

func (s *Shipper) run() {
	defer close(s.done)
	tick := time.NewTicker(s.cfg.FlushInterval)
	defer tick.Stop()
	var backoff time.Duration
	var retryAt time.Time
	for {
		select {
		case <-s.stop:
			if s.flush() == nil {
				s.flush() // what queued behind a retried batch
			}
			s.mu.Lock()
			s.dropped.Add(uint64(s.lines + s.inLines))
			s.mu.Unlock()
			return
		case <-tick.C:
		case <-s.wake:
		}
		if time.Now().Before(retryAt) {
			continue
		}
		for {
			err := s.flush()
			if err != nil {
				backoff = min(max(2*backoff, s.cfg.FlushInterval), s.cfg.MaxBackoff)
				retryAt = time.Now().Add(backoff)
				break
			}
			backoff, retryAt = 0, time.Time{}
			s.mu.Lock()
			more := s.pending.Len() > s.cfg.MaxBuffer/4
			s.mu.Unlock()
			if !more {
				break
			}
		}
	}
}

// flush sends the retried batch, or else everything pending, as one POST.
func (s *Shipper) flush() error {
	s.mu.Lock()
	if s.inflight == nil {
		if s.pending.Len() == 0 {
			s.mu.Unlock()
			return nil
		}
		s.inflight = bytes.Clone(s.pending.Bytes())
		s.inLines = s.lines
		s.pending.Reset()
		s.lines = 0
	}
	batch, lines := s.inflight, s.inLines
	s.mu.Unlock()

	if err := s.post(batch); err != nil {
		s.failures.Add(1)
		return err
	}
	s.sent.Add(uint64(lines))
	s.mu.Lock()
	s.inflight, s.inLines = nil, 0
	s.mu.Unlock()
	return nil
}

func (s *Shipper) post(batch []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(batch))
	if err != nil {
		return err
	}
	// Not a form type: VictoriaLogs would read the body as form fields.
	req.Header.Set("Content-Type", "application/stream+json")
	res, err := s.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("logship: %s", res.Status)
	}
	return nil
}

// fieldsPrefix renders fields as the JSON members `"k":"v",`.
func fieldsPrefix(fields map[string]string) []byte {
	if len(fields) == 0 {
		return nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	for _, k := range keys {
		kb, _ := json.Marshal(k) // strings always marshal
		vb, _ := json.Marshal(fields[k])
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
		b.WriteByte(',')
	}
	return b.Bytes()
}
