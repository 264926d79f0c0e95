package function

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandle(t *testing.T) {
	tests := []struct {
		name   string
		target string
		want   string
	}{
		{name: "default", target: "/", want: "Hello, world!\n"},
		{name: "named", target: "/?name=Ada", want: "Hello, Ada!\n"},
		{name: "escaped", target: "/?name=J%C3%BCrgen+M", want: "Hello, Jürgen M!\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Handle(rec, httptest.NewRequest(http.MethodGet, tt.target, nil))
			if rec.Code != http.StatusOK {
				t.Errorf("GET %s: status %d, want 200", tt.target, rec.Code)
			}
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("GET %s = %q, want %q", tt.target, got, tt.want)
			}
		})
	}
}
