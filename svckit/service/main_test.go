package service_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/caddysocial/platform/svckit/apitest"
	"github.com/caddysocial/platform/svckit/eventually"
	"github.com/caddysocial/platform/svckit/service"
)

// The tests below run service.Main in a child process (this test binary again), as a
// container runs a service: SERVICE_TEST_MAIN picks the build.
func TestMain(m *testing.M) {
	switch os.Getenv("SERVICE_TEST_MAIN") {
	case "hello":
		service.Main("test-service", hello)
		os.Exit(0)
	case "fail":
		service.Main("test-service", func(*service.Service) error { return errors.New("POSTGRES_DSN is not set") })
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func child(t *testing.T, build, port string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SERVICE_TEST_MAIN="+build, "PORT="+port)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// service.Main serves on PORT, answers -healthcheck, and exits 0 on SIGTERM.
func TestMainStopsOnSIGTERM(t *testing.T) {
	port := freePort(t)
	cmd, out := child(t, "hello", port)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + port
	eventually.NoError(t, 0, "the service answers", func() error {
		_, err := apitest.Send("GET", base+"/healthz", "", "")
		return err
	})
	apitest.WantStatus(t, apitest.Call(t, "GET", base+"/hello", "", ""), 200, "world")

	probe, probeOut := child(t, "hello", port, "-healthcheck")
	if err := probe.Run(); err != nil {
		t.Fatalf("-healthcheck on a healthy service: %v\n%s", err, probeOut)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v, want exit 0\n%s", err, out)
	}
	if !bytes.Contains(out.Bytes(), []byte(`"msg":"shutting down"`)) {
		t.Errorf("no shutdown in the log:\n%s", out)
	}
	probe, probeOut = child(t, "hello", port, "-healthcheck")
	if err := probe.Run(); err == nil {
		t.Fatalf("-healthcheck with nothing listening succeeded\n%s", probeOut)
	}
}

// A build error ends the process with status 1 and says why in the log.
func TestMainFailingBuildExits1(t *testing.T) {
	cmd, out := child(t, "fail", freePort(t))
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1\n%s", err, out)
	}
	if !bytes.Contains(out.Bytes(), []byte(`test-service: POSTGRES_DSN is not set`)) {
		t.Fatalf("the log does not name the cause:\n%s", out)
	}
}
