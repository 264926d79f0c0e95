package podman

import (
	"context"
	"fmt"
)

// Info describes the Podman service a Driver talks to.
type Info struct {
	// Version is Podman's version, for example 4.3.1.
	Version string
	// OCIRuntime is the default OCI runtime's name, for example runc.
	OCIRuntime string
	// CgroupVersion is v1 or v2.
	CgroupVersion string
	// Rootless is true when the service runs as an unprivileged user.
	Rootless bool
}

type infoAnswer struct {
	Host struct {
		CgroupVersion string `json:"cgroupVersion"`
		OCIRuntime    struct {
			Name string `json:"name"`
		} `json:"ociRuntime"`
		Security struct {
			Rootless bool `json:"rootless"`
		} `json:"security"`
	} `json:"host"`
	Version struct {
		Version string `json:"Version"`
	} `json:"version"`
}

// info reads the service's description: GET /info.
func (c *client) info(ctx context.Context) (Info, error) {
	var ans infoAnswer
	if err := c.doJSON(ctx, request{method: "GET", path: "/info"}, nil, &ans); err != nil {
		return Info{}, fmt.Errorf("podman info: %w", err)
	}
	return Info{
		Version:       ans.Version.Version,
		OCIRuntime:    ans.Host.OCIRuntime.Name,
		CgroupVersion: ans.Host.CgroupVersion,
		Rootless:      ans.Host.Security.Rootless,
	}, nil
}
