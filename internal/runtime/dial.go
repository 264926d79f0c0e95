package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// ErrNotSocket is returned by Dial when a unix endpoint's path is not a
// socket: a symbolic link, a file, or nothing yet.
var ErrNotSocket = errors.New("not a socket")

// Dial connects to an endpoint. The directory of a unix endpoint is
// writable by the function, which could replace its socket with a link to
// any socket on the host (Podman's API, another function's instance): so
// the path is opened without following links, must be a socket, and is
// connected to through the opened file, never by name again.
func Dial(ctx context.Context, ep Endpoint) (net.Conn, error) {
	var d net.Dialer
	if ep.Network != "unix" {
		return d.DialContext(ctx, ep.Network, ep.Address)
	}
	fd, err := unix.Open(ep.Address, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open socket %s: %w", ep.Address, err)
	}
	defer unix.Close(fd) //nolint:errcheck // an O_PATH descriptor holds nothing to flush
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("stat socket %s: %w", ep.Address, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return nil, fmt.Errorf("%s: %w", ep.Address, ErrNotSocket)
	}
	return d.DialContext(ctx, "unix", fmt.Sprintf("/proc/self/fd/%d", fd))
}
