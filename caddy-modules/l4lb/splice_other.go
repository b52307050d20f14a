//go:build !linux

package l4lb

import (
	"io"
	"net"
)

// bulkCopy copies src to dst until EOF (on Linux it splices; see
// splice_linux.go). io.Copy uses whatever the platform offers.
func bulkCopy(dst, src net.Conn) (int64, error) { return io.Copy(dst, src) }
