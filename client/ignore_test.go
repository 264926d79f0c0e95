package client

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestIgnoreMatch(t *testing.T) {
	tests := []struct {
		name    string
		rules   string
		path    string
		isDir   bool
		ignored bool
	}{
		{name: "glob-any-depth", rules: "*.log", path: "a/b/c.log", ignored: true},
		{name: "glob-root", rules: "*.log", path: "c.log", ignored: true},
		{name: "glob-miss", rules: "*.log", path: "c.go"},
		{name: "dir-only-dir", rules: "tmp/", path: "a/tmp", isDir: true, ignored: true},
		{name: "dir-only-file", rules: "tmp/", path: "a/tmp"},
		{name: "anchored-root", rules: "/secret.json", path: "secret.json", ignored: true},
		{name: "anchored-not-deeper", rules: "/secret.json", path: "a/secret.json"},
		{name: "inner-slash-anchors", rules: "docs/*.md", path: "docs/a.md", ignored: true},
		{name: "inner-slash-not-deeper", rules: "docs/*.md", path: "x/docs/a.md"},
		{name: "star-one-segment", rules: "docs/*", path: "docs/a/b.md"},
		{name: "anchored-dir", rules: "/vendor/", path: "vendor", isDir: true, ignored: true},
		{name: "class", rules: "[ab].txt", path: "b.txt", ignored: true},
		{name: "question", rules: "?.txt", path: "ab.txt"},
		{name: "comment-and-blank", rules: "# *.go\n\n  \n", path: "a.go"},
		{name: "crlf", rules: "*.tmp\r\n*.bak\r\n", path: "x.bak", ignored: true},
		{name: "second-rule", rules: "*.tmp\nfoo", path: "a/foo", isDir: true, ignored: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := parseIgnore([]byte(tt.rules))
			if err != nil {
				t.Fatalf("parseIgnore(%q) error = %v", tt.rules, err)
			}
			if got := l.match(tt.path, tt.isDir); got != tt.ignored {
				t.Errorf("match(%q, dir=%v) with %q = %v, want %v", tt.path, tt.isDir, tt.rules, got, tt.ignored)
			}
		})
	}
}

func TestIgnoreParseErrors(t *testing.T) {
	tests := []struct {
		name, rules, want string
	}{
		{name: "negation", rules: "a\n!b", want: "line 2"},
		{name: "double-star", rules: "**/x", want: "** is not supported"},
		{name: "bad-class", rules: "[a", want: "syntax error in pattern"},
		{name: "only-slashes", rules: "//", want: "matches nothing"},
		{name: "line-too-long", rules: strings.Repeat("a", 70000), want: "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseIgnore([]byte(tt.rules))
			if !errors.Is(err, errBadIgnore) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseIgnore(%.20q) error = %v, want one containing %q", tt.rules, err, tt.want)
			}
		})
	}
}

func FuzzParseIgnore(f *testing.F) {
	f.Add([]byte("*.log\ntmp/\n/docs/*.md\n# c\n"), "docs/a.md")
	f.Add([]byte("[a-"), "a")
	f.Add([]byte("!x"), "x")
	f.Fuzz(func(t *testing.T, data []byte, p string) {
		l, err := parseIgnore(data)
		if err != nil {
			if !errors.Is(err, errBadIgnore) {
				t.Fatalf("parseIgnore() error = %v, want it to wrap errBadIgnore", err)
			}
			return
		}
		for _, r := range l {
			if r.pattern == "" || strings.HasPrefix(r.pattern, "/") || strings.HasSuffix(r.pattern, "/") {
				t.Errorf("rule %+v keeps an empty or slash-bounded pattern", r)
			}
		}
		if !utf8.ValidString(p) {
			return
		}
		// Matching must never panic, whatever the rules and path.
		l.match(p, false)
		l.match(p, true)
	})
}
