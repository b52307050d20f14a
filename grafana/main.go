// Command dashboards writes the platform's Grafana dashboards (`make
// dashboards`): one JSON file per dashboard in the output folder, generated
// with the Grafana Foundation SDK from the boards of this package. JSON
// files in that folder that no board generates any more are removed.
// dashboards_test.go fails when the committed files differ from what this
// code generates.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", "dashboards", "folder to write the dashboards' JSON files into")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "dashboards:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, b := range boards() {
		js, err := b.render()
		if err != nil {
			return err
		}
		name := b.file + ".json"
		want[name] = true
		if err := os.WriteFile(filepath.Join(dir, name), js, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if !want[filepath.Base(f)] {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("remove stale %s: %w", f, err)
			}
		}
	}
	return nil
}
