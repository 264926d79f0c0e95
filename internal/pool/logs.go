package pool

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"github.com/containerpub/containerpub/internal/runtime"
	"github.com/containerpub/containerpub/internal/store"
)

// Limits on what is kept of a function's output. Past them text is
// dropped and a note says how much; nothing else breaks.
const (
	// maxLineBytes is the longest line kept whole.
	maxLineBytes = 64 << 10
	// maxCallLogBytes is the most output kept for one call.
	maxCallLogBytes = 1 << 20
	// markerWait is how long a finished call waits for its end markers
	// when the instance has written markers before.
	markerWait = 5 * time.Second
	// noMarkerWait is how long a finished call waits for late output from
	// an instance that has never written a marker.
	noMarkerWait = 250 * time.Millisecond
)

// Recorder receives what the pool learns about calls and instances. The
// implementation batches writes off the call path; its methods must not
// block for long.
type Recorder interface {
	// RecordExecution stores the record of one call.
	RecordExecution(e store.Execution)
	// RecordLog stores a line an instance wrote outside any single call.
	RecordLog(l store.LogLine)
}

const (
	streamStdout = 0
	streamStderr = 1
)

var streamNames = [2]string{"stdout", "stderr"}

var markerBytes = []byte(runtime.CallEndMarker)

// logCollector attributes an instance's output to its calls. When the
// instance serves one call at a time, a line belongs to the oldest call
// whose end marker has not yet appeared on that stream: the runtime
// writes the marker after each call, so lines that arrive late, after the
// next call began, still reach the right record. Output outside calls,
// and all output of instances serving calls concurrently, is stored as
// log lines of the function.
type logCollector struct {
	rec        Recorder
	functionID string
	instance   string
	exclusive  bool
	now        func() time.Time

	// mu guards open, markers and exited.
	mu      sync.Mutex
	open    []*callLog // calls begun, not yet recorded, oldest first
	markers bool       // the instance has written an end marker
	exited  bool
}

type callLog struct {
	requestID string
	// marked closes when the call's end markers arrived on both streams,
	// or no more can come.
	marked  chan struct{}
	out     []byte
	dropped int
	seen    [2]bool // end marker seen on each stream
	ended   bool    // the gateway finished the call
	exec    store.Execution
	timer   *time.Timer
}

func newLogCollector(rec Recorder, functionID, instance string, exclusive bool, now func() time.Time) *logCollector {
	return &logCollector{
		rec:        rec,
		functionID: functionID,
		instance:   instance,
		exclusive:  exclusive,
		now:        now,
	}
}

// begin opens the log of a call about to be forwarded.
func (c *logCollector) begin(requestID string) *callLog {
	cl := &callLog{requestID: requestID, marked: make(chan struct{})}
	if !c.exclusive {
		return cl
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exited {
		cl.markBoth()
	}
	c.open = append(c.open, cl)
	return cl
}

// end completes a call's record. It is stored once the call's end markers
// arrived, or after a short wait for runtimes that write none.
func (c *logCollector) end(cl *callLog, exec store.Execution) {
	if !c.exclusive {
		c.rec.RecordExecution(exec)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cl.ended = true
	cl.exec = exec
	if cl.seen[0] && cl.seen[1] {
		c.finishLocked(cl)
		return
	}
	wait := noMarkerWait
	if c.markers {
		wait = markerWait
	}
	cl.timer = time.AfterFunc(wait, func() { c.expire(cl) })
}

// expire records a call whose markers did not come in time.
func (c *logCollector) expire(cl *callLog) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl.markBoth()
	c.finishLocked(cl)
}

// mark notes the end marker of a stream; the caller holds the
// collector's lock.
func (cl *callLog) mark(stream int) {
	if cl.seen[0] && cl.seen[1] {
		return
	}
	cl.seen[stream] = true
	if cl.seen[0] && cl.seen[1] {
		close(cl.marked)
	}
}

func (cl *callLog) markBoth() {
	cl.mark(streamStdout)
	cl.mark(streamStderr)
}

// finishLocked records a finished call and forgets it.
func (c *logCollector) finishLocked(cl *callLog) {
	for i, x := range c.open {
		if x == cl {
			c.open = append(c.open[:i], c.open[i+1:]...)
			break
		}
	}
	if cl.timer != nil {
		cl.timer.Stop()
	}
	if !cl.ended {
		return
	}
	cl.ended = false // record once
	logs := string(cl.out)
	if cl.dropped > 0 {
		logs += fmt.Sprintf("[%d more bytes of output dropped: a call keeps at most %d]\n",
			cl.dropped, maxCallLogBytes)
	}
	cl.exec.Logs = store.CleanText(logs)
	c.rec.RecordExecution(cl.exec)
}

// line handles one line of output, or an end marker.
func (c *logCollector) line(stream int, text []byte, dropped int) {
	if rest, ok := bytes.CutPrefix(text, markerBytes); ok {
		c.marker(stream, string(bytes.TrimSpace(rest)))
		return
	}
	if dropped > 0 {
		text = fmt.Appendf(text, " [line cut: %d more bytes dropped]", dropped)
	}
	c.mu.Lock()
	if c.exclusive {
		for _, cl := range c.open {
			if !cl.seen[stream] {
				cl.append(text)
				c.mu.Unlock()
				return
			}
		}
	}
	c.mu.Unlock()
	c.rec.RecordLog(store.LogLine{
		FunctionID: c.functionID,
		InstanceID: c.instance,
		Stream:     streamNames[stream],
		Time:       c.now(),
		Text:       store.CleanText(string(text)),
	})
}

func (cl *callLog) append(text []byte) {
	if len(cl.out)+len(text)+1 > maxCallLogBytes {
		cl.dropped += len(text) + 1
		return
	}
	cl.out = append(cl.out, text...)
	cl.out = append(cl.out, '\n')
}

// marker closes a stream of the call with requestID, and of any older
// call still open on that stream.
func (c *logCollector) marker(stream int, requestID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markers = true
	known := false
	for _, cl := range c.open {
		known = known || cl.requestID == requestID
	}
	if !known {
		return // a call already recorded after its wait ran out
	}
	for _, cl := range append([]*callLog(nil), c.open...) {
		cl.mark(stream)
		if cl.seen[0] && cl.seen[1] && cl.ended {
			c.finishLocked(cl)
		}
		if cl.requestID == requestID {
			return
		}
	}
}

// system writes the platform's own note about the instance.
func (c *logCollector) system(text string) {
	c.rec.RecordLog(store.LogLine{
		FunctionID: c.functionID,
		InstanceID: c.instance,
		Stream:     "system",
		Time:       c.now(),
		Text:       text,
	})
}

// closed is called when the instance's output ended: no more lines will
// come, so finished calls are recorded now.
func (c *logCollector) closed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.exited = true
	for _, cl := range append([]*callLog(nil), c.open...) {
		cl.markBoth()
		if cl.ended {
			c.finishLocked(cl)
		}
	}
}

// lineWriter splits one output stream into lines for a logCollector. It
// holds at most maxLineBytes: the rest of a longer line is counted and
// dropped. An end marker starts a new line even when the function left
// its last line unfinished.
type lineWriter struct {
	c       *logCollector
	stream  int
	buf     []byte
	dropped int
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\n\x1e")
		if i < 0 {
			w.add(p)
			break
		}
		w.add(p[:i])
		if p[i] == '\n' {
			w.flush()
		} else {
			if len(w.buf) > 0 || w.dropped > 0 {
				w.flush()
			}
			w.buf = append(w.buf, p[i])
		}
		p = p[i+1:]
	}
	return n, nil
}

func (w *lineWriter) add(p []byte) {
	room := maxLineBytes - len(w.buf)
	if len(p) > room {
		w.dropped += len(p) - room
		p = p[:room]
	}
	w.buf = append(w.buf, p...)
}

func (w *lineWriter) flush() {
	w.c.line(w.stream, w.buf, w.dropped)
	w.buf = w.buf[:0]
	w.dropped = 0
}

// finish passes on an unfinished last line.
func (w *lineWriter) finish() {
	if len(w.buf) > 0 || w.dropped > 0 {
		w.flush()
	}
}

// pending reports whether a finished call still waits for its markers.
func (c *logCollector) pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.open {
		if cl.ended {
			return true
		}
	}
	return false
}

// flush records finished calls now, without waiting for their markers.
func (c *logCollector) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range append([]*callLog(nil), c.open...) {
		if cl.ended {
			c.finishLocked(cl)
		}
	}
}
