package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseFlags(t *testing.T) {
	defaults := Config{
		Backend: "bin/dart_cloud_backend", CLI: "bin/dart_cloud", Repo: ".", BackendLogLevel: "info",
		WarmRuns: 5, WarmDuration: 5 * time.Second, WarmWarmup: 500 * time.Millisecond,
		ColdRuns: 25, BurstCalls: 100, BurstRepeats: 3, DeployRuns: 5, Timeout: 20 * time.Minute,
	}
	tests := []struct {
		name    string
		args    []string
		want    func(*Config)
		wantErr bool
	}{
		{name: "defaults", args: nil, want: func(*Config) {}},
		{name: "short_run", args: []string{"-warm-runs", "1", "-warm-duration", "1s", "-cold-runs", "3", "-keep"},
			want: func(c *Config) { c.WarmRuns, c.WarmDuration, c.ColdRuns, c.Keep = 1, time.Second, 3, true }},
		{name: "profile", args: []string{"-profile-dir", "/tmp/p"}, want: func(c *Config) { c.ProfileDir = "/tmp/p" }},
		{name: "bare_proxy", args: []string{"-bare-proxy-socket", "/run/x.sock"},
			want: func(c *Config) { c.BareProxySocket = "/run/x.sock" }},
		{name: "zero_runs", args: []string{"-cold-runs", "0"}, wantErr: true},
		{name: "negative_duration", args: []string{"-warm-duration", "-1s"}, wantErr: true},
		{name: "stray_argument", args: []string{"now"}, wantErr: true},
		{name: "unknown_flag", args: []string{"-fast"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr {
				if err == nil {
					t.Errorf("parseFlags(%q) = nil error, want one", tt.args)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tt.args, err)
			}
			want := defaults
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("parseFlags(%q) (-want +got):\n%s", tt.args, diff)
			}
		})
	}
	var help strings.Builder
	if _, err := parseFlags([]string{"-h"}, &help); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("parseFlags(-h) error = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(help.String(), "-warm-runs int") || !strings.Contains(help.String(), "(default 5)") ||
		strings.Contains(help.String(), bareProxyFlag) {
		t.Errorf("usage shows the hidden flag or lacks the others:\n%s", help.String())
	}
}
