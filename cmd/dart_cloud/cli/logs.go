package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/containerpub/containerpub/client"
)

func (a *app) logsCommand() *cobra.Command {
	var since string
	var limit int
	cmd := &cobra.Command{
		Use:   "logs FUNCTION",
		Short: "Print what a function wrote, oldest first",
		Long: `Print what a function wrote to stdout and stderr, oldest first: the time
in UTC, the stream, the request id and the text. The stream is "call" for
the whole output of one call (stdout and stderr together, kept with its
execution), "stdout" or "stderr" for a line written outside any call, and
"system" for the platform's notes about an instance (it exited, ran out
of memory, failed to start).

--since takes a duration back from now (90s, 15m, 1h, 2d) or a time in
RFC 3339 (2026-12-03T13:00:00Z). --limit caps the entries; 0 takes the
backend's default.`,
		Args: needArgs("FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return fmt.Errorf("bad --limit %d: want 0 or more", limit)
			}
			from, err := parseSince(since, time.Now())
			if err != nil {
				return err
			}
			c, _, err := a.loggedIn()
			if err != nil {
				return err
			}
			entries, err := c.Logs(cmd.Context(), args[0], client.LogQuery{Since: from, Limit: limit})
			if err != nil {
				return fmt.Errorf("logs of %s: %w", args[0], err)
			}
			if a.jsonOutput() {
				return a.printJSON(nonNil(entries))
			}
			return a.printLogs(entries)
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "only entries since a duration ago (1h) or a time (RFC 3339)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many entries")
	return cmd
}

// parseSince reads --since: empty for no bound, a duration back from now
// (Go's units plus d for days), or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := parseAgo(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf(
			"bad --since %q: want a duration such as 1h or 2d, or a time such as 2026-12-03T13:00:00Z", s)
	}
	return now.Add(-d), nil
}

// parseAgo reads a Go duration, or a whole number of days such as "2d",
// which time.ParseDuration lacks and log readers ask for.
func parseAgo(s string) (time.Duration, error) {
	days, ok := strings.CutSuffix(s, "d")
	if !ok {
		return time.ParseDuration(s)
	}
	var n int
	if _, err := fmt.Sscanf(days, "%d", &n); err != nil || fmt.Sprint(n) != days || n > 100000 {
		return 0, fmt.Errorf("bad day count %q", days)
	}
	return time.Duration(n) * 24 * time.Hour, nil
}

// printLogs prints each line of each entry with the entry's time, stream
// and request id, so that grep keeps the context of a line.
func (a *app) printLogs(entries []client.LogEntry) error {
	var b strings.Builder
	for _, e := range entries {
		req := e.RequestID
		if req == "" {
			req = "-"
		}
		prefix := fmt.Sprintf("%s %-6s %s ", e.Time.UTC().Format("2006-01-02T15:04:05.000Z"), e.Stream, req)
		text := strings.TrimSuffix(e.Text, "\n")
		for line := range strings.SplitSeq(text, "\n") {
			b.WriteString(prefix + line + "\n")
		}
	}
	return a.print(b.String())
}
