package cli

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseHeaders(t *testing.T) {
	tests := []struct {
		in      []string
		want    http.Header
		wantErr bool
	}{
		{in: nil, want: http.Header{}},
		{in: []string{"X-A: 1", "x-a:2", "Accept:  text/plain "},
			want: http.Header{"X-A": {"1", "2"}, "Accept": {"text/plain"}}},
		{in: []string{"X-Empty:"}, want: http.Header{"X-Empty": {""}}},
		{in: []string{"X-Url: http://a:b/c"}, want: http.Header{"X-Url": {"http://a:b/c"}}},
		{in: []string{"no colon"}, wantErr: true},
		{in: []string{": value"}, wantErr: true},
		{in: []string{"Bad Name: v"}, wantErr: true},
		{in: []string{"X: a\r\nInjected: 1"}, wantErr: true},
		{in: []string{"Ünïcode: v"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseHeaders(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseHeaders(%q) error = %v, want error: %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
			t.Errorf("parseHeaders(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func FuzzParseHeaders(f *testing.F) {
	f.Add("X-A: 1")
	f.Add("bad")
	f.Add("X: a\nb")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHeaders([]string{s})
		if err != nil {
			return
		}
		// Whatever is accepted must be sendable: net/http refuses to
		// write an invalid header, which would fail the call later.
		req, _ := http.NewRequest("GET", "http://x/", nil)
		req.Header = h
		var sb strings.Builder
		if err := req.Write(&sb); err != nil {
			t.Errorf("parseHeaders(%q) accepted a header net/http cannot send: %v", s, err)
		}
		if len(h) != 1 {
			t.Errorf("parseHeaders(%q) = %v, want one header", s, h)
		}
	})
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 3, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "", want: time.Time{}},
		{in: "1h", want: now.Add(-time.Hour)},
		{in: "90s", want: now.Add(-90 * time.Second)},
		{in: "2d", want: now.Add(-48 * time.Hour)},
		{in: "0d", want: now},
		{in: "2026-12-01T10:00:00Z", want: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},
		{in: "2026-12-01T10:00:00.5+01:00", want: time.Date(2026, 12, 1, 9, 0, 0, 5e8, time.UTC)},
		{in: "-1h", wantErr: true},
		{in: "1.5d", wantErr: true},
		{in: "d", wantErr: true},
		{in: "+2d", wantErr: true},
		{in: "yesterday", wantErr: true},
		{in: "2026-12-01", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseSince(%q) error = %v, want error: %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"1h", "2d", "2026-12-01T10:00:00Z", "-5m", "99999999999d"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 3, 13, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSince(s, now)
		if err != nil {
			return
		}
		// A duration back never lands in the future.
		if _, perr := time.Parse(time.RFC3339Nano, s); perr != nil && got.After(now) {
			t.Errorf("parseSince(%q) = %v, after now", s, got)
		}
	})
}

func TestLineReader(t *testing.T) {
	tests := []struct {
		name string
		src  io.Reader
		want []string
	}{
		{name: "lines", src: strings.NewReader("a\nb\r\nc"), want: []string{"a", "b", "c"}},
		{name: "one-byte-reads", src: iotest.OneByteReader(strings.NewReader("ab\ncd\n")), want: []string{"ab", "cd"}},
		{name: "empty-line", src: strings.NewReader("\nx\n"), want: []string{"", "x"}},
		{name: "long-line", src: strings.NewReader(strings.Repeat("x", 10000) + "\n"), want: []string{strings.Repeat("x", 10000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLineReader(tt.src)
			var got []string
			for {
				line, err := l.next()
				if errors.Is(err, io.ErrUnexpectedEOF) {
					break
				}
				if err != nil {
					t.Fatalf("next() error = %v", err)
				}
				got = append(got, line)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
	l := newLineReader(strings.NewReader(strings.Repeat("x", maxLine+10)))
	if _, err := l.next(); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("next() on an endless line error = %v, want too long", err)
	}
}
