// Package function is a small JSON API over items held in memory:
//
//	GET    /items       list items
//	POST   /items       add an item: {"name": "..."}
//	GET    /items/{id}  one item
//	DELETE /items/{id}  remove an item
//
// Errors are JSON too: {"error": "..."} with 400, 404 or 405.
package function

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Item is one stored item.
type Item struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// store holds the items of one instance; a new instance starts empty.
type store struct {
	mu     sync.Mutex
	nextID int
	items  map[int]Item
}

var (
	items = &store{nextID: 1, items: make(map[int]Item)}
	mux   = newMux(items)
)

// Handle routes a call to the API.
func Handle(w http.ResponseWriter, r *http.Request) {
	mux.ServeHTTP(w, r)
}

func newMux(s *store) *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /items", s.list)
	m.HandleFunc("POST /items", s.add)
	m.HandleFunc("GET /items/{id}", s.get)
	m.HandleFunc("DELETE /items/{id}", s.remove)
	// Patterns without a method catch the other methods, so that a 405
	// is JSON like every other answer; "/" catches unknown paths.
	m.HandleFunc("/items", methodNotAllowed("GET, POST"))
	m.HandleFunc("/items/{id}", methodNotAllowed("GET, DELETE"))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route for "+r.URL.Path)
	})
	return m
}

func (s *store) list(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	list := make([]Item, 0, len(s.items))
	for id := 1; id < s.nextID; id++ {
		if it, ok := s.items[id]; ok {
			list = append(list, it)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}

// maxBody bounds a request body; an item is a name.
const maxBody = 64 << 10

func (s *store) add(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("empty body")
		}
		writeError(w, http.StatusBadRequest, "invalid item: "+err.Error())
		return
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		writeError(w, http.StatusBadRequest, "invalid item: name is required")
		return
	}
	s.mu.Lock()
	it := Item{ID: s.nextID, Name: in.Name}
	s.items[it.ID] = it
	s.nextID++
	s.mu.Unlock()
	w.Header().Set("Location", "/items/"+strconv.Itoa(it.ID))
	writeJSON(w, http.StatusCreated, it)
}

func (s *store) get(w http.ResponseWriter, r *http.Request) {
	id, ok := itemID(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	it, found := s.items[id]
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "no item "+strconv.Itoa(id))
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (s *store) remove(w http.ResponseWriter, r *http.Request) {
	id, ok := itemID(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	_, found := s.items[id]
	delete(s.items, id)
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "no item "+strconv.Itoa(id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// itemID reads the {id} of the path, answering 404 when it is no number.
func itemID(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id < 1 {
		writeError(w, http.StatusNotFound, "no item "+strconv.Quote(r.PathValue("id")))
		return 0, false
	}
	return id, true
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use "+allow)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
