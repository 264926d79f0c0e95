package podman

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/runtime/runtimetest"
)

// BenchmarkColdStart measures the two halves of a cold start with the
// test function: Create (create and init, done ahead of a call by a
// pool), and Start until the function's first HTTP answer on its socket
// (what a call waiting for an instance pays).
//
//	go test -run '^$' -bench ColdStart -benchtime=20x ./internal/runtime/podman
func BenchmarkColdStart(b *testing.B) {
	d := newTestDriver(b)
	h := runtimetest.NewHarness(b, d, runtimetest.BuildImage(b, d))

	b.Run("Create", func(b *testing.B) {
		var times []time.Duration
		for b.Loop() {
			spec := h.Spec(nil)
			start := time.Now()
			c, err := d.Create(b.Context(), spec)
			times = append(times, time.Since(start))
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			removeOrFail(b, d, c.ID)
			b.StartTimer()
		}
		reportPercentiles(b, times)
	})

	b.Run("StartToFirstAnswer", func(b *testing.B) {
		var times []time.Duration
		for b.Loop() {
			b.StopTimer()
			c, err := d.Create(b.Context(), h.Spec(nil))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			if err := d.Start(b.Context(), c.ID); err != nil {
				b.Fatal(err)
			}
			firstAnswer(b, c.Endpoint)
			times = append(times, time.Since(start))
			b.StopTimer()
			removeOrFail(b, d, c.ID)
			b.StartTimer()
		}
		reportPercentiles(b, times)
	})
}

// firstAnswer polls the endpoint every millisecond until it accepts a
// connection, then makes one HTTP call on that connection.
func firstAnswer(b *testing.B, ep runtime.Endpoint) {
	deadline := time.Now().Add(20 * time.Second)
	var conn net.Conn
	for {
		var err error
		if conn, err = net.Dial(ep.Network, ep.Address); err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("no answer on %s: %v", ep.Address, err)
		}
		time.Sleep(time.Millisecond)
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) { return conn, nil },
	}}
	resp, err := client.Get("http://function/")
	if err != nil {
		b.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	client.CloseIdleConnections()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("first answer: status %d, %v", resp.StatusCode, err)
	}
}

func removeOrFail(b *testing.B, d *Driver, id string) {
	if err := d.Remove(context.WithoutCancel(b.Context()), id); err != nil {
		b.Fatal(err)
	}
}

// reportPercentiles adds the median and 95th percentile in milliseconds.
func reportPercentiles(b *testing.B, times []time.Duration) {
	if len(times) == 0 {
		return
	}
	slices.Sort(times)
	at := func(p float64) float64 {
		return float64(times[int(p*float64(len(times)-1))]) / 1e6
	}
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
}
