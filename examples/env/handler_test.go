package function

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func TestHandle(t *testing.T) {
	t.Setenv("GREETING", "Hi")
	t.Setenv("TARGET", "")
	rec := httptest.NewRecorder()
	Handle(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var got map[string]*string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("decode %q: %v", rec.Body.String(), err)
	}
	if len(got) != 2 || got["GREETING"] == nil || *got["GREETING"] != "Hi" ||
		got["TARGET"] == nil || *got["TARGET"] != "" {
		t.Errorf("Handle() = %s, want GREETING Hi and TARGET empty", rec.Body.String())
	}
}

func TestHandleUnset(t *testing.T) {
	t.Setenv("GREETING", "x")
	// t.Setenv restores the variable; unsetting it shows the null case.
	t.Setenv("TARGET", "x")
	if err := os.Unsetenv("TARGET"); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	Handle(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got, want := rec.Body.String(), `{"GREETING":"x","TARGET":null}`+"\n"; got != want {
		t.Errorf("Handle() = %q, want %q", got, want)
	}
}
