//go:build race

package e2e

// raceEnabled builds the binaries under test with the race detector when
// the tests themselves run with it, so the backend's own goroutines are
// checked too.
const raceEnabled = true
