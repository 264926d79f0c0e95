package gateway

import (
	"net/http"
	"testing"
)

func TestSplitCallPath(t *testing.T) {
	for _, tc := range []struct {
		sent, name, path string
		ok               bool
	}{
		{"/f/fn/x", "fn", "/x", true},
		{"/f/fn", "fn", "/", true},
		{"/f/fn/", "fn", "/", true},
		{"/f/fn//x/./y/../z", "fn", "//x/./y/../z", true},
		{"/f/fn/x%2Fy?q=1", "fn", "/x%2Fy", true},
		{"/f/f%6E/x%2541", "fn", "/x%2541", true},
		// A name with an escaped slash is one (invalid) name, not a
		// name and a path.
		{"/f/fn%2Fadmin/x", "fn/admin", "/x", true},
		// "/f/" written escaped: the decoded path, escaped again.
		{"/%66/fn/x/%2541", "fn", "/x/%2541", true},
		{"/api/functions", "", "", false},
		{"/fx/fn", "", "", false},
	} {
		r, err := http.NewRequest(http.MethodGet, "http://backend"+tc.sent, nil)
		if err != nil {
			t.Fatal(err)
		}
		name, path, ok := SplitCallPath(r)
		if name != tc.name || path != tc.path || ok != tc.ok {
			t.Errorf("SplitCallPath(%s) = %q, %q, %v; want %q, %q, %v", tc.sent, name, path, ok, tc.name, tc.path, tc.ok)
		}
	}
}

func FuzzSplitCallPath(f *testing.F) {
	for _, s := range []string{"/f/fn/x", "/f/a%2Fb/c", "/%66/x/%25", "/f//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := http.NewRequest(http.MethodGet, "http://backend"+p, nil)
		if err != nil || r.URL.Host != "backend" {
			return
		}
		_, path, ok := SplitCallPath(r)
		if ok && (path == "" || path[0] != '/') {
			t.Fatalf("SplitCallPath(%q) path %q does not start with /", p, path)
		}
	})
}
