package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	h := newHarness(t, offlineURL)
	h.env[EnvToken] = "tok"
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"bad-output", []string{"list", "-o", "xml"}, "error: unknown --output \"xml\": want text or json\n"},
		{"unknown-flag", []string{"list", "--nope"}, "error: unknown flag: --nope (see dart_cloud list --help)\n"},
		{"missing-arg", []string{"info"}, "error: missing FUNCTION (usage: dart_cloud info FUNCTION [flags])\n"},
		{"extra-arg", []string{"versions", "a", "b"}, "error: unexpected argument \"b\" (usage: dart_cloud versions FUNCTION [flags])\n"},
		{"unknown-command", []string{"deplo"}, "error: unknown command \"deplo\" for \"dart_cloud\"\n\nDid you mean this?\n\tdeploy\n\n"},
		{"bad-header", []string{"invoke", "f", "-H", "no colon"}, "error: bad --header \"no colon\": want 'Name: value'\n"},
		{"bad-since", []string{"logs", "f", "--since", "yesterday"}, "error: bad --since \"yesterday\": want a duration such as 1h or 2d, or a time such as 2026-12-03T13:00:00Z\n"},
		{"bad-limit", []string{"logs", "f", "--limit", "-1"}, "error: bad --limit -1: want 0 or more\n"},
		{"bad-data-file", []string{"invoke", "f", "-d", "@/nonexistent/x"}, "error: read --data file: open /nonexistent/x: no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.run("", tt.args...)
			if r.code != 1 || r.stderr != tt.wantErr || r.stdout != "" {
				t.Errorf("%v = %d out %q err %q, want 1 err %q", tt.args, r.code, r.stdout, r.stderr, tt.wantErr)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name      string
		flag      string
		env       map[string]string
		saved     Config
		wantURL   string
		wantToken string
	}{
		{name: "default", wantURL: DefaultURL},
		{name: "saved", saved: Config{URL: "http://saved:1/", Token: "t"}, wantURL: "http://saved:1", wantToken: "t"},
		{name: "env-url-same-backend", env: map[string]string{EnvURL: "http://saved:1"},
			saved: Config{URL: "http://saved:1", Token: "t"}, wantURL: "http://saved:1", wantToken: "t"},
		{name: "env-url-other-backend-gets-no-token", env: map[string]string{EnvURL: "http://other:1"},
			saved: Config{URL: "http://saved:1", Token: "t"}, wantURL: "http://other:1"},
		{name: "flag-beats-env", flag: "http://flag:1", env: map[string]string{EnvURL: "http://env:1"},
			wantURL: "http://flag:1"},
		{name: "env-token-beats-saved", env: map[string]string{EnvToken: "envtok"},
			saved: Config{URL: "http://saved:1", Token: "t"}, wantURL: "http://saved:1", wantToken: "envtok"},
		{name: "env-token-any-backend", flag: "http://flag:1", env: map[string]string{EnvToken: "envtok"},
			wantURL: "http://flag:1", wantToken: "envtok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := filepath.Join(t.TempDir(), "c.json")
			if err := (configFile{path: config}).save(tt.saved); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{EnvConfig: config}
			for k, v := range tt.env {
				env[k] = v
			}
			a := newApp(func(k string) string { return env[k] }, nil, nil, nil)
			a.urlFlag = tt.flag
			s, err := a.settings()
			if err != nil {
				t.Fatal(err)
			}
			if s.url != tt.wantURL || s.token != tt.wantToken {
				t.Errorf("settings() = %q %q, want %q %q", s.url, s.token, tt.wantURL, tt.wantToken)
			}
		})
	}
}

func TestConfigPermissions(t *testing.T) {
	// The default location is under the user's config directory, which
	// os.UserConfigDir takes from XDG_CONFIG_HOME on Unix.
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("HOME", home)
	f, err := locateConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if f.path != filepath.Join(home, "dart_cloud", "config.json") || !f.ownDir {
		t.Fatalf("locateConfig() = %+v, want the dart_cloud directory under %s", f, home)
	}
	if err := f.save(Config{URL: "http://x", Token: "t"}); err != nil {
		t.Fatal(err)
	}
	checkMode(t, filepath.Dir(f.path), 0o700)
	checkMode(t, f.path, 0o600)

	// Loosen both, as a careless copy would; loading fixes them.
	os.Chmod(filepath.Dir(f.path), 0o755)
	os.Chmod(f.path, 0o644)
	cfg, err := f.load()
	if err != nil || cfg.Token != "t" {
		t.Fatalf("load() = %+v, %v", cfg, err)
	}
	checkMode(t, filepath.Dir(f.path), 0o700)
	checkMode(t, f.path, 0o600)
}

func TestConfigInSharedDirectory(t *testing.T) {
	shared := t.TempDir()
	os.Chmod(shared, 0o777)
	f, err := locateConfig(func(k string) string {
		if k == EnvConfig {
			return filepath.Join(shared, "c.json")
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.save(Config{Token: "t"}); err != nil {
		t.Fatal(err)
	}
	checkMode(t, shared, 0o777)
	checkMode(t, f.path, 0o600)
}

func TestConfigCorrupt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(p, []byte("{not json"), 0o600)
	if _, err := (configFile{path: p}).load(); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("load(corrupt) error = %v, want one naming the file", err)
	}
}

func checkMode(t *testing.T, p string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %v, want %v", p, got, want)
	}
}
