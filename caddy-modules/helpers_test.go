package caddymodules_test

import (
	"context"
	"encoding/base64"
)

type ctxT = context.Context

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
