package apitest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/caddysocial/platform/svckit/service"
)

// Quiet is a logger for services under test: their logs would drown the
// test's output.
var Quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

// Service is a PostgreSQL-backed service under test: its name and the build
// function its main passes to service.Main.
type Service struct {
	Name  string
	Build func(*service.Service) error
}

// Start runs an instance of the service on the database at dsn behind a
// test server, until the test ends, and returns its URL. The other settings
// (NATS_URL, ...) come from the environment, as in production.
func (sv Service) Start(t testing.TB, dsn string) string {
	t.Helper()
	url, err := sv.TryStart(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// TryStart is Start for goroutines, which must not end the test: the
// failure is returned.
func (sv Service) TryStart(t testing.TB, dsn string) (string, error) {
	getenv := func(key string) string {
		if key == "POSTGRES_DSN" {
			return dsn
		}
		return os.Getenv(key)
	}
	s, err := service.New(context.Background(), service.Options{Name: sv.Name, Log: Quiet, Getenv: getenv}, sv.Build)
	if err != nil {
		return "", err
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	return srv.URL, nil
}

// StartTwo starts two instances on one database at the same moment, as a
// rolling update or a scale-out does: both apply the schema at once.
func (sv Service) StartTwo(t testing.TB, dsn string) (one, two string) {
	t.Helper()
	var errOne, errTwo error
	var wg sync.WaitGroup
	wg.Go(func() { one, errOne = sv.TryStart(t, dsn) })
	wg.Go(func() { two, errTwo = sv.TryStart(t, dsn) })
	wg.Wait()
	if errOne != nil || errTwo != nil {
		t.Fatalf("start two instances: %v; %v", errOne, errTwo)
	}
	return one, two
}
