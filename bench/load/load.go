// Package load is the HTTP load generator of the benchmarks. A fixed
// number of workers, each on a kept-alive connection of its own, send
// requests back to back for a fixed time and record every latency in a
// histogram. The same generator measures the gateway and the function
// instance behind it, so that their difference is the gateway's cost and
// not the tools'.
package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Target is what the workers call.
type Target struct {
	// URL is requested with GET, for example
	// http://127.0.0.1:8080/f/bench/. With Dial set, only its path and
	// Host header matter.
	URL string
	// Dial, when set, opens a worker's connection instead of a TCP dial
	// to the URL's host: how a unix socket is reached.
	Dial func(ctx context.Context) (net.Conn, error)
	// WantBody, when set, is the body every answer must have; a call that
	// gets another counts as an error.
	WantBody []byte
}

// Config is the shape of one run.
type Config struct {
	// Workers is the number of concurrent callers, each with one
	// connection.
	Workers int
	// Warmup runs before the measurement and is not counted: it opens
	// the connections and lets the code paths settle.
	Warmup time.Duration
	// Duration is how long the measured part lasts.
	Duration time.Duration
	// OnWindow, when set, is called as the measured window opens (with
	// false) and as it closes (with true), from a goroutine of its own:
	// the moments to read the counters of the process under load.
	OnWindow func(closing bool)
}

// Result is what one run measured.
type Result struct {
	// Calls counts the calls started in the measured window that
	// succeeded.
	Calls uint64
	// Errors counts the calls started in the measured window that failed:
	// no answer, a status other than 200, or the wrong body.
	Errors uint64
	// FirstError describes the first failure, for the report.
	FirstError string
	// Elapsed is the measured window's length.
	Elapsed time.Duration
	// Latency holds the latency of every successful measured call, from
	// sending the request to reading the last byte of the answer.
	Latency *Histogram
}

// Throughput returns successful calls per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Calls) / r.Elapsed.Seconds()
}

// errorPause keeps a worker whose calls fail at once from spinning on
// the CPU the measured processes need.
const errorPause = time.Millisecond

// Run sends load to t as cfg says and returns what it measured. It
// returns early, with an error, when ctx ends.
func Run(ctx context.Context, t Target, cfg Config) (Result, error) {
	if cfg.Workers < 1 || cfg.Duration <= 0 || cfg.Warmup < 0 {
		return Result{}, fmt.Errorf("load config %+v: want workers >= 1 and a positive duration", cfg)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return Result{}, fmt.Errorf("load target: %w", err)
	}
	begin := time.Now().Add(cfg.Warmup)
	end := begin.Add(cfg.Duration)

	workers := make([]*worker, cfg.Workers)
	var wg sync.WaitGroup
	if cfg.OnWindow != nil {
		wg.Go(func() { notifyWindow(ctx, begin, end, cfg.OnWindow) })
	}
	for i := range workers {
		w := newWorker(t, req)
		workers[i] = w
		wg.Go(func() { w.run(begin, end) })
	}
	wg.Wait()

	res := Result{Elapsed: end.Sub(begin), Latency: NewHistogram()}
	for _, w := range workers {
		w.close()
		res.Calls += w.hist.Count()
		res.Errors += w.errors
		res.Latency.Merge(w.hist)
		if res.FirstError == "" {
			res.FirstError = w.firstError
		}
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("load run: %w", err)
	}
	return res, nil
}

// notifyWindow calls f at begin and at end, or not at all once ctx ends.
func notifyWindow(ctx context.Context, begin, end time.Time, f func(closing bool)) {
	for _, at := range []time.Time{begin, end} {
		t := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		f(at.Equal(end))
	}
}

// worker is one caller with its own connection.
type worker struct {
	client     *http.Client
	transport  *http.Transport
	req        *http.Request
	want       []byte
	buf        bytes.Buffer
	hist       *Histogram
	errors     uint64
	firstError string
}

func newWorker(t Target, req *http.Request) *worker {
	tr := &http.Transport{
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	if t.Dial != nil {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return t.Dial(ctx)
		}
	}
	return &worker{
		client:    &http.Client{Transport: tr},
		transport: tr,
		// Each worker sends its own copy: a request is not meant to be
		// in flight on several connections at once.
		req:  req.Clone(req.Context()),
		want: t.WantBody,
		hist: NewHistogram(),
	}
}

// run calls back to back until end, recording the calls started at or
// after begin.
func (w *worker) run(begin, end time.Time) {
	for {
		start := time.Now()
		if !start.Before(end) || w.req.Context().Err() != nil {
			return
		}
		err := w.call()
		d := time.Since(start)
		if start.Before(begin) {
			continue
		}
		if err != nil {
			w.fail(err)
			time.Sleep(errorPause)
			continue
		}
		w.hist.Record(d)
	}
}

// errBody is an answer whose body is not the expected one.
var errBody = errors.New("unexpected body")

// call makes one request and reads the whole answer, so that the
// connection is reused.
func (w *worker) call() error {
	resp, err := w.client.Do(w.req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }() // read whole below, so the connection is reused
	w.buf.Reset()
	if _, err := w.buf.ReadFrom(resp.Body); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.100q", resp.StatusCode, w.buf.Bytes())
	}
	if w.want != nil && !bytes.Equal(w.buf.Bytes(), w.want) {
		return fmt.Errorf("%w %.100q", errBody, w.buf.Bytes())
	}
	return nil
}

func (w *worker) fail(err error) {
	w.errors++
	if w.firstError == "" {
		w.firstError = err.Error()
	}
}

func (w *worker) close() {
	w.transport.CloseIdleConnections()
}
