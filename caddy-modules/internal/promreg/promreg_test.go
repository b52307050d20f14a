package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegister(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "promreg_test_total", Help: "h"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "promreg_test_gauge", Help: "h"})
	if err := Register(reg, c, g); err != nil {
		t.Fatal(err)
	}
	// The same collectors again (a second module, a reload): fine.
	if err := Register(reg, c, g); err != nil {
		t.Errorf("registering the same collectors twice: %v", err)
	}
	// A different collector under a taken name is a real clash.
	clash := prometheus.NewCounter(prometheus.CounterOpts{Name: "promreg_test_total", Help: "other"})
	if err := Register(reg, clash); err == nil {
		t.Error("a clashing collector was accepted")
	}
	if n, err := reg.Gather(); err != nil || len(n) != 2 {
		t.Errorf("gathered %d families, %v", len(n), err)
	}
}
