// Package function is the trivial function of the benchmarks: it answers
// every call with "ok", writes no log line and reads no body, so that
// what a benchmark measures is the platform's own cost.
package function

import "net/http"

// body is the whole answer, kept in one slice so that a call allocates
// nothing of its own.
var body = []byte("ok")

// Handle answers "ok" with status 200.
func Handle(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(body)
}
