package function

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandle(t *testing.T) {
	tests := []struct {
		name   string
		method string
		target string
	}{
		{name: "root", method: http.MethodGet, target: "/"},
		{name: "path", method: http.MethodGet, target: "/a/b?c=d"},
		{name: "post", method: http.MethodPost, target: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Handle(rec, httptest.NewRequest(tt.method, tt.target, nil))
			if rec.Code != http.StatusOK {
				t.Errorf("%s %s: status %d, want 200", tt.method, tt.target, rec.Code)
			}
			if got := rec.Body.String(); got != "ok" {
				t.Errorf("%s %s = %q, want %q", tt.method, tt.target, got, "ok")
			}
		})
	}
}
