package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/runtime"
)

// burstCall is the outcome of one call of a burst.
type burstCall struct {
	RequestID string
	Latency   time.Duration
	Err       error
}

// burstResult is one burst.
type burstResult struct {
	Calls []burstCall
	// Errors counts calls that failed or got another answer than 200 "ok".
	Errors     int
	FirstError string
	// Instances counts the distinct instances the records name: those
	// that served calls.
	Instances int
	// Running counts the function's containers seen running during the
	// burst and up to burstSettle after it: every instance the burst
	// started, whether it got a call or not.
	Running int
	// Cold counts records that say cold_start; Missing counts calls
	// without a record.
	Cold, Missing int
	// Recorded holds the durations the records give: from the gateway
	// taking the call to the last byte of the answer.
	Recorded []time.Duration
}

// benchBurst sends bursts of simultaneous first calls to the burst
// function, each once it has scaled to zero.
func (b *bench) benchBurst(ctx context.Context) error {
	for i := range b.cfg.BurstRepeats {
		if err := b.waitScaledToZero(ctx, fnBurst); err != nil {
			return err
		}
		watch := b.watchRunning(ctx, fnBurst)
		res := b.burst(ctx, fmt.Sprintf("cpbench-burst-%d-%s-", i+1, randomID()))
		// Instances still starting when the burst ended have started
		// for it too: keep counting for a while.
		if err := sleep(ctx, burstSettle); err != nil {
			return err
		}
		running, err := watch.stop()
		if err != nil {
			return err
		}
		res.Running = running
		if err := b.burstRecords(ctx, &res); err != nil {
			return err
		}
		b.log.Info("burst", "run", i+1, "errors", res.Errors, "served_by", res.Instances, "running", res.Running)
		b.rep.Burst = append(b.rep.Burst, res)
	}
	return nil
}

// burstSettle is how long instances are counted after a burst: longer
// than a container's creation and start, shorter than the idle timeout
// plus the reaper's tick, which would let the first ones go.
const burstSettle = 1500 * time.Millisecond

// runningWatch collects the names of a function's running containers,
// polling until stopped.
type runningWatch struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	seen  map[string]bool
	err   error
}

func (b *bench) watchRunning(ctx context.Context, fn string) *runningWatch {
	w := &runningWatch{stopc: make(chan struct{}), seen: map[string]bool{}}
	w.wg.Go(func() {
		for {
			ctrs, err := b.containers(ctx, fn)
			if err != nil {
				w.err = err
				return
			}
			for _, c := range ctrs {
				if c.State == runtime.StateRunning {
					w.seen[c.Name] = true
				}
			}
			select {
			case <-w.stopc:
				return
			case <-time.After(pollInterval):
			}
		}
	})
	return w
}

// stop ends the watch and returns how many containers were seen running.
func (w *runningWatch) stop() (int, error) {
	close(w.stopc)
	w.wg.Wait()
	return len(w.seen), w.err
}

// burst releases the calls together, each on a connection of its own,
// and waits for all of them.
func (b *bench) burst(ctx context.Context, idPrefix string) burstResult {
	url := b.be.URL + "/f/" + fnBurst + "/"
	calls := make([]burstCall, b.cfg.BurstCalls)
	release := make(chan struct{})
	var ready, done sync.WaitGroup
	for i := range calls {
		calls[i].RequestID = fmt.Sprintf("%s%03d", idPrefix, i)
		ready.Add(1)
		done.Go(func() {
			hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: callTimeout}
			ready.Done()
			<-release
			start := time.Now()
			calls[i].Err = callOK(ctx, hc, url, calls[i].RequestID)
			calls[i].Latency = time.Since(start)
		})
	}
	ready.Wait()
	close(release)
	done.Wait()

	res := burstResult{Calls: calls}
	for _, c := range calls {
		if c.Err != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = c.Err.Error()
			}
		}
	}
	return res
}

// callOK sends one GET and checks that the answer is 200 "ok".
func callOK(ctx context.Context, hc *http.Client, url, requestID string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set(client.RequestIDHeader, requestID)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }() // read whole or given up on below
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != string(okBody) {
		return fmt.Errorf("status %d %.200q", resp.StatusCode, body)
	}
	return nil
}

// burstRecords counts the instances that served a burst and its cold
// calls from the execution records.
func (b *bench) burstRecords(ctx context.Context, res *burstResult) error {
	ids := make([]string, len(res.Calls))
	for i, c := range res.Calls {
		ids[i] = c.RequestID
	}
	recs, err := b.records(ctx, fnBurst, ids)
	if err != nil {
		return err
	}
	instances := map[string]bool{}
	for _, id := range ids {
		e, ok := recs[id]
		if !ok {
			res.Missing++
			continue
		}
		if e.InstanceID != "" {
			instances[e.InstanceID] = true
		}
		if e.ColdStart {
			res.Cold++
		}
		res.Recorded = append(res.Recorded, msDuration(e.DurationMS))
	}
	res.Instances = len(instances)
	return nil
}

// msDuration converts a record's milliseconds.
func msDuration(ms float64) time.Duration {
	return time.Duration(ms * float64(time.Millisecond))
}
