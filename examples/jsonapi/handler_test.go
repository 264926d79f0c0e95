package function

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// step is one call of a scripted conversation with the API.
type step struct {
	method, target, body string
	wantStatus           int
	wantBody             string
	wantHeader           map[string]string
}

func TestAPI(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "create_get_list_delete",
			steps: []step{
				{method: "GET", target: "/items", wantStatus: 200, wantBody: "[]"},
				{method: "POST", target: "/items", body: `{"name":" pen "}`, wantStatus: 201,
					wantBody: `{"id":1,"name":"pen"}`, wantHeader: map[string]string{"Location": "/items/1"}},
				{method: "POST", target: "/items", body: `{"name":"ink"}`, wantStatus: 201, wantBody: `{"id":2,"name":"ink"}`},
				{method: "GET", target: "/items/2", wantStatus: 200, wantBody: `{"id":2,"name":"ink"}`},
				{method: "GET", target: "/items", wantStatus: 200, wantBody: `[{"id":1,"name":"pen"},{"id":2,"name":"ink"}]`},
				{method: "DELETE", target: "/items/1", wantStatus: 204},
				{method: "DELETE", target: "/items/1", wantStatus: 404, wantBody: `{"error":"no item 1"}`},
				{method: "GET", target: "/items", wantStatus: 200, wantBody: `[{"id":2,"name":"ink"}]`},
			},
		},
		{
			name: "errors",
			steps: []step{
				{method: "GET", target: "/items/7", wantStatus: 404, wantBody: `{"error":"no item 7"}`},
				{method: "GET", target: "/items/x", wantStatus: 404, wantBody: `{"error":"no item \"x\""}`},
				{method: "GET", target: "/nothing", wantStatus: 404, wantBody: `{"error":"no route for /nothing"}`},
				{method: "PUT", target: "/items", wantStatus: 405,
					wantBody:   `{"error":"PUT is not allowed here; use GET, POST"}`,
					wantHeader: map[string]string{"Allow": "GET, POST"}},
				{method: "PATCH", target: "/items/1", wantStatus: 405, wantHeader: map[string]string{"Allow": "GET, DELETE"}},
				{method: "POST", target: "/items", body: ``, wantStatus: 400, wantBody: `{"error":"invalid item: empty body"}`},
				{method: "POST", target: "/items", body: `{"name":""}`, wantStatus: 400, wantBody: `{"error":"invalid item: name is required"}`},
				{method: "POST", target: "/items", body: `{"nam":"x"}`, wantStatus: 400},
				{method: "POST", target: "/items", body: `{"name":"` + strings.Repeat("a", maxBody) + `"}`, wantStatus: 400},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newMux(&store{nextID: 1, items: make(map[int]Item)})
			for _, s := range tt.steps {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(s.method, s.target, strings.NewReader(s.body)))
				if rec.Code != s.wantStatus {
					t.Fatalf("%s %s: status %d (%s), want %d", s.method, s.target, rec.Code, rec.Body.String(), s.wantStatus)
				}
				if s.wantBody != "" && strings.TrimSpace(rec.Body.String()) != s.wantBody {
					t.Errorf("%s %s = %s, want %s", s.method, s.target, rec.Body.String(), s.wantBody)
				}
				if rec.Code != http.StatusNoContent && rec.Header().Get("Content-Type") != "application/json" {
					t.Errorf("%s %s: Content-Type %q, want application/json", s.method, s.target, rec.Header().Get("Content-Type"))
				}
				for k, v := range s.wantHeader {
					if got := rec.Header().Get(k); got != v {
						t.Errorf("%s %s: header %s = %q, want %q", s.method, s.target, k, got, v)
					}
				}
			}
		})
	}
}

// TestHandleUsesSharedStore checks that Handle keeps state between calls.
func TestHandleUsesSharedStore(t *testing.T) {
	rec := httptest.NewRecorder()
	Handle(rec, httptest.NewRequest("POST", "/items", strings.NewReader(`{"name":"kept"}`)))
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /items: status %d, want 201", rec.Code)
	}
	rec = httptest.NewRecorder()
	Handle(rec, httptest.NewRequest("GET", "/items", nil))
	if !strings.Contains(rec.Body.String(), `"name":"kept"`) {
		t.Errorf("GET /items = %s, want the item added before", rec.Body.String())
	}
}
