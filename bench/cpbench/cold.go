package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/runtime"
)

// Polling bounds.
const (
	pollInterval = 50 * time.Millisecond
	// zeroWait bounds the wait for a function to scale to zero: its idle
	// timeout of 1s, the reaper's tick of 1s, and the removal.
	zeroWait = 30 * time.Second
	// recordWait bounds the wait for execution records, which are written
	// in batches and, for one-call-at-a-time instances, after the call's
	// end markers.
	recordWait = 15 * time.Second
	// callTimeout bounds one call of a cold or burst run.
	callTimeout = 60 * time.Second
)

// coldRun is one cold start.
type coldRun struct {
	RequestID string
	// TTFB is the time from sending the request to the first byte of the
	// answer.
	TTFB   time.Duration
	Status int
	// Instance is the memory of the instance that answered, read right
	// after the call.
	Instance containerMemory
}

// coldResult is every cold start, with what their records say.
type coldResult struct {
	Runs []coldRun
	// NotCold counts records that do not say cold_start; Missing counts
	// calls without a record.
	NotCold, Missing int
	// Recorded holds the durations the records give.
	Recorded []time.Duration
}

// benchCold calls the cold function whenever it has no running instance
// and a prepared container waits, timing each call to its first byte.
func (b *bench) benchCold(ctx context.Context) error {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: callTimeout}
	defer hc.CloseIdleConnections()
	url := b.be.URL + "/f/" + fnCold + "/"
	for i := range b.cfg.ColdRuns {
		if err := b.waitScaledToZero(ctx, fnCold); err != nil {
			return err
		}
		run, err := timeFirstByte(ctx, hc, url, "cpbench-cold-"+randomID())
		if err != nil {
			return err
		}
		if run.Instance, err = b.freshInstanceMemory(ctx); err != nil {
			return err
		}
		b.log.Info("cold start", "run", i+1, "ttfb", run.TTFB)
		b.rep.Cold.Runs = append(b.rep.Cold.Runs, run)
	}
	return b.checkColdRecords(ctx)
}

// timeFirstByte sends one GET and times it to the first byte of the
// answer, which must be 200 "ok".
func timeFirstByte(ctx context.Context, hc *http.Client, url, requestID string) (coldRun, error) {
	run := coldRun{RequestID: requestID}
	var start, first time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, url, nil)
	if err != nil {
		return run, err
	}
	req.Header.Set(client.RequestIDHeader, requestID)
	start = time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return run, fmt.Errorf("cold call: %w", err)
	}
	defer func() { _ = resp.Body.Close() }() // read whole or given up on below
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return run, fmt.Errorf("read cold answer: %w", err)
	}
	run.Status, run.TTFB = resp.StatusCode, first.Sub(start)
	if resp.StatusCode != http.StatusOK || string(body) != string(okBody) {
		return run, fmt.Errorf("cold call: status %d %.200q, want 200 %q", resp.StatusCode, body, okBody)
	}
	return run, nil
}

// freshInstanceMemory reads the memory of the cold function's running
// instance, which has just served its first call.
func (b *bench) freshInstanceMemory(ctx context.Context) (containerMemory, error) {
	ctrs, err := b.containers(ctx, fnCold)
	if err != nil {
		return containerMemory{}, err
	}
	for _, c := range ctrs {
		if c.State == runtime.StateRunning {
			return b.containerPSS(ctx, fnCold, c)
		}
	}
	return containerMemory{}, fmt.Errorf("%s has no running instance after a call", fnCold)
}

// waitScaledToZero waits until fn has no running container and an
// initialised prepared one, twice in a row, so that the pool has filed
// the prepared container as well.
func (b *bench) waitScaledToZero(ctx context.Context, fn string) error {
	deadline := time.Now().Add(zeroWait)
	streak := 0
	for streak < 2 {
		ok, err := b.scaledToZero(ctx, fn)
		if err != nil {
			return err
		}
		if ok {
			streak++
		} else {
			streak = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not scaled to zero with a prepared container after %s", fn, zeroWait)
		}
		if err := sleep(ctx, 2*pollInterval); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) scaledToZero(ctx context.Context, fn string) (bool, error) {
	ctrs, err := b.containers(ctx, fn)
	if err != nil {
		return false, err
	}
	prepared := false
	for _, c := range ctrs {
		switch c.State {
		case runtime.StateRunning:
			return false, nil
		case runtime.StateCreated:
			pids, err := b.pod.inspectPIDs(ctx, c.ID)
			if err != nil {
				if ctx.Err() != nil {
					return false, ctx.Err()
				}
				continue // removed between list and inspect
			}
			prepared = prepared || pids.Pid > 0
		}
	}
	return prepared, nil
}

// checkColdRecords counts the cold calls whose records do not say
// cold_start, or that have none.
func (b *bench) checkColdRecords(ctx context.Context) error {
	ids := make([]string, len(b.rep.Cold.Runs))
	for i, r := range b.rep.Cold.Runs {
		ids[i] = r.RequestID
	}
	recs, err := b.records(ctx, fnCold, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		e, ok := recs[id]
		switch {
		case !ok:
			b.rep.Cold.Missing++
		case !e.ColdStart:
			b.rep.Cold.NotCold++
		}
		if ok {
			b.rep.Cold.Recorded = append(b.rep.Cold.Recorded, msDuration(e.DurationMS))
		}
	}
	return nil
}

// records returns fn's execution records of the given request ids,
// waiting a bounded time for records still being written.
func (b *bench) records(ctx context.Context, fn string, ids []string) (map[string]client.Execution, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	deadline := time.Now().Add(recordWait)
	for {
		got, err := b.recordsNow(ctx, fn, want)
		if err != nil || len(got) == len(want) || time.Now().After(deadline) {
			return got, err
		}
		if err := sleep(ctx, 4*pollInterval); err != nil {
			return nil, err
		}
	}
}

// recordsNow pages back through fn's records until it found every wanted
// request id or ran out of records.
func (b *bench) recordsNow(
	ctx context.Context, fn string, want map[string]bool,
) (map[string]client.Execution, error) {
	const page = 1000
	got := make(map[string]client.Execution, len(want))
	var before time.Time
	for range 100 {
		es, err := b.api.ListExecutions(ctx, fn, client.ExecutionQuery{Limit: page, Before: before})
		if err != nil {
			return nil, fmt.Errorf("list records of %s: %w", fn, err)
		}
		for _, e := range es {
			if want[e.RequestID] {
				got[e.RequestID] = e
			}
		}
		if len(got) == len(want) || len(es) < page {
			break
		}
		before = es[len(es)-1].StartedAt
	}
	return got, nil
}

// randomID returns a short random hex string for request ids.
func randomID() string {
	var r [6]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}
