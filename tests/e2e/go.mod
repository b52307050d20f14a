module github.com/caddysocial/platform/tests/e2e

go 1.26
