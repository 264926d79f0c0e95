// Package function returns the environment variables its manifest sets,
// as a JSON object.
package function

import (
	"encoding/json"
	"net/http"
	"os"
)

// Names are the variables set under env in containerpub.yaml. Only these
// are shown: the instance's other variables are the platform's business.
var Names = []string{"GREETING", "TARGET"}

// Handle answers {"GREETING": "...", "TARGET": "..."}; a variable that is
// not set is null.
func Handle(w http.ResponseWriter, r *http.Request) {
	values := make(map[string]*string, len(Names))
	for _, name := range Names {
		if v, ok := os.LookupEnv(name); ok {
			values[name] = &v
		} else {
			values[name] = nil
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(values)
}
