// Package record writes execution records and function log lines to the
// store in batches, off the call path. A call only appends to a buffer; a
// single writer flushes the buffer every interval or when it fills, and
// Close flushes what is left, so a graceful shutdown loses nothing.
package record

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/containerpub/containerpub/internal/store"
)

// Writer is the part of the store the recorder writes to.
type Writer interface {
	InsertExecutions(ctx context.Context, es []store.Execution) error
	InsertLogLines(ctx context.Context, lines []store.LogLine) error
}

// Options tune a Recorder.
type Options struct {
	// Interval is the longest a record waits before it is written.
	// Default 100ms.
	Interval time.Duration
	// BatchSize triggers a write before the interval. Default 500.
	BatchSize int
	// MaxPending bounds what is held while the store is failing; past it
	// the oldest records are dropped and counted. Default 1,000,000.
	MaxPending int
}

// Recorder batches records into a store. It is safe for concurrent use.
type Recorder struct {
	w    Writer
	log  *slog.Logger
	opts Options

	// mu guards the fields below.
	mu      sync.Mutex
	execs   []store.Execution
	lines   []store.LogLine
	dropped int
	closed  bool

	kick chan struct{} // wakes the writer early
	done chan struct{} // closed when the writer has exited
	quit chan struct{}
}

// New starts a Recorder writing to w.
func New(w Writer, logger *slog.Logger, opts Options) *Recorder {
	if opts.Interval <= 0 {
		opts.Interval = 100 * time.Millisecond
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 1_000_000
	}
	r := &Recorder{
		w:    w,
		log:  logger,
		opts: opts,
		kick: make(chan struct{}, 1),
		done: make(chan struct{}),
		quit: make(chan struct{}),
	}
	go r.run()
	return r
}

// RecordExecution queues an execution record.
func (r *Recorder) RecordExecution(e store.Execution) {
	r.mu.Lock()
	r.execs = append(r.execs, e)
	n := len(r.execs)
	if n > r.opts.MaxPending {
		r.execs = r.execs[1:]
		r.dropped++
	}
	r.mu.Unlock()
	if n == r.opts.BatchSize {
		r.wake()
	}
}

// RecordLog queues a log line.
func (r *Recorder) RecordLog(l store.LogLine) {
	r.mu.Lock()
	r.lines = append(r.lines, l)
	n := len(r.lines)
	if n > r.opts.MaxPending {
		r.lines = r.lines[1:]
		r.dropped++
	}
	r.mu.Unlock()
	if n == r.opts.BatchSize {
		r.wake()
	}
}

func (r *Recorder) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Recorder) run() {
	defer close(r.done)
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	// flush logs a failure and keeps the records for the next round, or
	// for the last one in Close, which returns the error.
	for {
		select {
		case <-r.quit:
			_ = r.flush(context.Background())
			return
		case <-t.C:
		case <-r.kick:
		}
		_ = r.flush(context.Background())
	}
}

// Flush writes everything queued so far and returns when it is stored or
// the write failed (the records are then kept for the next try).
func (r *Recorder) Flush(ctx context.Context) error {
	return r.flush(ctx)
}

func (r *Recorder) flush(ctx context.Context) error {
	r.mu.Lock()
	execs, lines, dropped := r.execs, r.lines, r.dropped
	r.execs, r.lines, r.dropped = nil, nil, 0
	r.mu.Unlock()
	if dropped > 0 {
		r.log.Error("records dropped: the store has been failing", "count", dropped)
	}
	var firstErr error
	for len(execs) > 0 {
		n := min(len(execs), r.opts.BatchSize)
		if err := r.w.InsertExecutions(ctx, execs[:n]); err != nil {
			r.log.Warn("write execution records, will retry", "count", len(execs), "error", err)
			r.requeue(execs, nil)
			firstErr = err
			break
		}
		execs = execs[n:]
	}
	for len(lines) > 0 {
		n := min(len(lines), r.opts.BatchSize)
		if err := r.w.InsertLogLines(ctx, lines[:n]); err != nil {
			r.log.Warn("write log lines, will retry", "count", len(lines), "error", err)
			r.requeue(nil, lines)
			if firstErr == nil {
				firstErr = err
			}
			break
		}
		lines = lines[n:]
	}
	return firstErr
}

// requeue puts records that failed to write back in front of the queue.
func (r *Recorder) requeue(execs []store.Execution, lines []store.LogLine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.execs = append(execs, r.execs...)
	r.lines = append(lines, r.lines...)
}

// Close writes what is queued and stops the writer. Records arriving after
// Close are written by a later Flush only.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.quit)
	select {
	case <-r.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return r.flush(ctx)
}
