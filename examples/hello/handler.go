// Package function greets the caller: GET /?name=Ada answers
// "Hello, Ada!".
package function

import (
	"fmt"
	"log"
	"net/http"
)

// Handle answers every call with a greeting for the name in the query,
// "world" when there is none.
func Handle(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "world"
	}
	// Lines written during a call are recorded with the call.
	log.Printf("greeting %q", name)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Hello, %s!\n", name)
}
