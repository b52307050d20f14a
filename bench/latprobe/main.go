// Command latprobe measures the latency that proxies add to short HTTP
// requests. It keeps one keep-alive connection per path and sends one
// request at a time, taking the paths in turn (rotating which goes first),
// so that every path sees the same machine at nearly the same moment and no
// request waits behind another: the percentiles are the paths' own latency,
// not queueing. "Added" latency is a path's percentile minus the first
// path's (give the direct path first).
//
//	latprobe -n 20000 direct=127.0.0.1:15080 ours=127.0.0.1:15380 haproxy=127.0.0.1:15480
//
// Output, one line per path: name p50 p90 p99 p999 in microseconds.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

type path struct {
	name, addr string
	conn       net.Conn
	r          *bufio.Reader
	samples    []time.Duration
}

const request = "GET / HTTP/1.1\r\nHost: latprobe\r\nUser-Agent: latprobe\r\n\r\n"

func main() {
	n := flag.Int("n", 20000, "requests per path")
	warmup := flag.Int("warmup", 500, "requests per path before measuring")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: latprobe [-n N] [-warmup N] name=host:port ...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var paths []*path
	for _, arg := range flag.Args() {
		name, addr, ok := strings.Cut(arg, "=")
		if !ok {
			fatal(fmt.Errorf("argument %q: want name=host:port", arg))
		}
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			fatal(fmt.Errorf("dial %s (%s): %w", name, addr, err))
		}
		defer conn.Close()
		paths = append(paths, &path{name: name, addr: addr, conn: conn, r: bufio.NewReader(conn),
			samples: make([]time.Duration, 0, *n)})
	}
	for i := range *warmup + *n {
		for j := range paths {
			p := paths[(i+j)%len(paths)]
			d, err := p.roundTrip()
			if err != nil {
				fatal(fmt.Errorf("%s: request %d: %w", p.name, i, err))
			}
			if i >= *warmup {
				p.samples = append(p.samples, d)
			}
		}
	}
	for _, p := range paths {
		slices.Sort(p.samples)
		fmt.Printf("%s %.1f %.1f %.1f %.1f\n", p.name,
			us(p.pct(50)), us(p.pct(90)), us(p.pct(99)), us(p.pct(99.9)))
	}
}

// roundTrip sends one request and reads the whole response.
func (p *path) roundTrip() (time.Duration, error) {
	if err := p.conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return 0, err
	}
	start := time.Now()
	if _, err := io.WriteString(p.conn, request); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(p.r, nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || resp.Close {
		return 0, errors.New("want 200 on a keep-alive connection, got " + resp.Status)
	}
	return d, nil
}

// pct is the q-th percentile of the sorted samples (nearest rank).
func (p *path) pct(q float64) time.Duration {
	i := int(q/100*float64(len(p.samples)) + 0.5)
	return p.samples[min(max(i-1, 0), len(p.samples)-1)]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "latprobe:", err)
	os.Exit(1)
}
