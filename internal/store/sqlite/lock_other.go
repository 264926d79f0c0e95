//go:build !unix

package sqlite

import "context"

// lockFile does nothing where flock is missing: there, two processes must
// not open a new database file at the same moment.
func lockFile(context.Context, string) (func(), error) {
	return func() {}, nil
}
