package pgstore

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddysocial/platform/svckit/pgtest"
)

func TestPoolCollector(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t) + "&pool_max_conns=3")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	for range 5 {
		if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewPoolCollector(pool, "app"))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "db" || l[0].GetValue() != "app" {
				t.Errorf("%s: labels %v, want db=app", f.GetName(), l)
			}
			got[f.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	if len(got) != 13 {
		t.Errorf("%d metrics, want 13: %v", len(got), got)
	}
	for name, v := range map[string]float64{"pgxpool_acquires_total": 6, "pgxpool_acquired_conns": 1, "pgxpool_max_conns": 3} {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	if got["pgxpool_acquire_seconds_total"] <= 0 {
		t.Errorf("pgxpool_acquire_seconds_total = %v, want > 0", got["pgxpool_acquire_seconds_total"])
	}
}
