module github.com/caddysocial/platform/bench/latprobe

go 1.26.0
