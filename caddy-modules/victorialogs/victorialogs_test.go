package victorialogs

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	var w Writer
	d := caddyfile.NewTestDispenser(`caddysocial_victorialogs http://victoria-logs:9428 {
		service user-lb
		tee_stderr
		buffer_size 1MiB
		time_field time
	}`)
	if err := w.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	want := Writer{URL: "http://victoria-logs:9428", Service: "user-lb", TeeStderr: true, BufferSize: 1 << 20, TimeField: "time"}
	if w != want {
		t.Errorf("got %+v, want %+v", w, want)
	}
	if err := w.Validate(); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{
		`caddysocial_victorialogs`,
		`caddysocial_victorialogs a b`,
		`caddysocial_victorialogs http://x { buffer_size lots }`,
		`caddysocial_victorialogs http://x { buffer_size 2GiB }`,
		`caddysocial_victorialogs http://x { tee_stderr yes }`,
		`caddysocial_victorialogs http://x { colour blue }`,
	} {
		var w Writer
		if err := w.UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if err := (&Writer{URL: "victoria-logs:9428"}).Validate(); err == nil {
		t.Error("a URL without scheme validated")
	}
}

// An empty URL is "shipping off": the writer is stderr, with the key of
// Caddy's own stderr writer.
func TestEmptyURLIsStderr(t *testing.T) {
	w := Writer{}
	if w.WriterKey() != "std:err" {
		t.Errorf("key %q", w.WriterKey())
	}
	wc, err := w.OpenWriter()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := wc.(nopCloser); !ok {
		t.Errorf("writer %T, want stderr", wc)
	}
}
