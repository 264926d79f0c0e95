package build

import (
	"cmp"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/containerpub/containerpub/client"
)

// Bound is the default and the allowed range of one manifest setting. A
// zero value in a manifest takes Default; any other value must lie within
// [Min, Max].
type Bound[T int | float64 | client.Duration] struct {
	Default, Min, Max T
}

// resolve fills a zero v with the default and checks the range, naming
// the field in its complaint.
func (b Bound[T]) resolve(field string, v *T, problems *[]string) {
	var zero T
	if *v == zero {
		*v = b.Default
		return
	}
	switch {
	case *v != *v: // NaN, which YAML can spell .nan
		*problems = append(*problems, fmt.Sprintf("%s is not a number", field))
	case *v < b.Min:
		*problems = append(*problems, fmt.Sprintf("%s %v is under the minimum %v", field, *v, b.Min))
	case *v > b.Max:
		*problems = append(*problems, fmt.Sprintf("%s %v is over the maximum %v", field, *v, b.Max))
	}
}

// Policy is what a backend accepts and how it builds: archive limits, the
// defaults and ranges of every manifest setting, and the Go builder's
// settings. DefaultPolicy returns a usable one; zero fields are not
// filled in later, so start from it.
type Policy struct {
	// MaxUploadBytes caps the archive as uploaded. Default 50 MiB.
	MaxUploadBytes int64
	// MaxUnpackedBytes caps the total size of the files unpacked from an
	// archive, checked while unpacking. Default 200 MiB.
	MaxUnpackedBytes int64
	// MaxEntries caps the number of files, directories and links in an
	// archive. Default 10000.
	MaxEntries int
	// MaxPathLen caps the length of a path in an archive, in bytes.
	// Default 1024.
	MaxPathLen int
	// TempDir holds the Builder's work directories. Default "", the
	// system's temporary directory.
	TempDir string

	// Manifest settings, named as in containerpub.yaml.
	MemoryMB      Bound[int]
	CPUs          Bound[float64]
	Pids          Bound[int]
	OpenFiles     Bound[int]
	Timeout       Bound[client.Duration]
	MaxRequestKB  Bound[int]
	MaxResponseKB Bound[int]
	Concurrency   Bound[int]
	MinInstances  Bound[int]
	MaxInstances  Bound[int]
	IdleTimeout   Bound[client.Duration]
	MaxQueue      Bound[int]
	QueueTimeout  Bound[client.Duration]
	// MaxEnv caps the number of env variables of a function. Default 100.
	MaxEnv int
	// MaxEnvBytes caps the total size of env names and values. Default
	// 64 KiB.
	MaxEnvBytes int

	// Go configures the Go runtime's builds.
	Go GoPolicy
}

// GoPolicy configures Go builds.
type GoPolicy struct {
	// BuilderImage, when set, names an existing builder image to use
	// instead of building one from GOROOT.
	BuilderImage string
	// GOROOT is the Go installation copied into the builder image.
	// Default: the backend's own runtime.GOROOT().
	GOROOT string
	// Busybox is a statically linked busybox, the builder's shell and
	// tools. Default /bin/busybox (Debian's busybox-static).
	Busybox string
	// CABundle is copied into the builder and into every function image.
	// Default /etc/ssl/certs/ca-certificates.crt.
	CABundle string
	// GOPROXY and GOSUMDB are passed to builds as build arguments; the
	// backend sets them from its own environment. Defaults are Go's own.
	GOPROXY string
	GOSUMDB string
	// BuildMemoryBytes caps the memory of a function build; 0 is no cap.
	// Default 2 GiB.
	BuildMemoryBytes int64
	// BuildTimeout stops a function build that runs longer; 0 is no
	// limit. Default 10m.
	BuildTimeout time.Duration
}

// Manifest defaults and bounds of DefaultPolicy.
const (
	defaultMemoryMB = 128
	defaultKB       = 6 * 1024
	maxKB           = 100 * 1024
)

// DefaultPolicy returns the policy a backend uses unless configured
// otherwise. The CPU maximum is the machine's core count, since Podman
// refuses a container more CPUs than the host has.
func DefaultPolicy() Policy {
	sec := func(n int) client.Duration { return client.Duration(time.Duration(n) * time.Second) }
	return Policy{
		MaxUploadBytes:   50 << 20,
		MaxUnpackedBytes: 200 << 20,
		MaxEntries:       10000,
		MaxPathLen:       1024,

		MemoryMB:      Bound[int]{Default: defaultMemoryMB, Min: 16, Max: 4096},
		CPUs:          Bound[float64]{Default: 1, Min: 0.05, Max: float64(runtime.NumCPU())},
		Pids:          Bound[int]{Default: 128, Min: 16, Max: 4096},
		OpenFiles:     Bound[int]{Default: 1024, Min: 64, Max: 16384},
		Timeout:       Bound[client.Duration]{Default: sec(30), Min: sec(1), Max: sec(3600)},
		MaxRequestKB:  Bound[int]{Default: defaultKB, Min: 1, Max: maxKB},
		MaxResponseKB: Bound[int]{Default: defaultKB, Min: 1, Max: maxKB},
		Concurrency:   Bound[int]{Default: 1, Min: 1, Max: 1000},
		MinInstances:  Bound[int]{Default: 0, Min: 0, Max: 10},
		MaxInstances:  Bound[int]{Default: 10, Min: 1, Max: 100},
		IdleTimeout:   Bound[client.Duration]{Default: sec(120), Min: sec(1), Max: sec(86400)},
		MaxQueue:      Bound[int]{Default: 1000, Min: 1, Max: 100000},
		QueueTimeout:  Bound[client.Duration]{Default: sec(30), Min: client.Duration(time.Millisecond), Max: sec(600)},
		MaxEnv:        100,
		MaxEnvBytes:   64 << 10,

		Go: GoPolicy{
			// Right for tests and a backend run where it was built; the
			// server replaces it with the GOROOT its config finds.
			GOROOT:           runtime.GOROOT(), //nolint:staticcheck // SA1019: only a default, see above.
			Busybox:          "/bin/busybox",
			CABundle:         "/etc/ssl/certs/ca-certificates.crt",
			GOPROXY:          "https://proxy.golang.org,direct",
			GOSUMDB:          "sum.golang.org",
			BuildMemoryBytes: 2 << 30,
			BuildTimeout:     10 * time.Minute,
		},
	}
}

// Resolve fills the zero settings of c with the policy's defaults and
// checks every setting against its bounds. The error wraps ErrInvalid
// and lists every problem, each naming its field as the manifest does.
func (p Policy) Resolve(c client.FunctionConfig) (client.FunctionConfig, error) {
	var problems []string
	if c.Name != "" {
		if err := ValidName(c.Name); err != nil {
			problems = append(problems, "name: "+err.Error())
		}
	}
	c.Runtime = cmp.Or(c.Runtime, client.RuntimeGo)
	p.resolveLimits(&c.Limits, &problems)
	p.resolveScaling(&c.Scaling, &problems)
	problems = append(problems, p.checkEnv(c.Env)...)
	if len(problems) > 0 {
		return client.FunctionConfig{}, invalid(manifestProblem(problems))
	}
	return c, nil
}

// manifestProblem joins problems into one message about the manifest.
func manifestProblem(problems []string) string {
	return client.ManifestFile + ": " + strings.Join(problems, "; ")
}

func (p Policy) resolveLimits(l *client.Limits, problems *[]string) {
	p.MemoryMB.resolve("limits.memory_mb", &l.MemoryMB, problems)
	p.CPUs.resolve("limits.cpus", &l.CPUs, problems)
	p.Pids.resolve("limits.pids", &l.Pids, problems)
	p.OpenFiles.resolve("limits.open_files", &l.OpenFiles, problems)
	p.Timeout.resolve("limits.timeout", &l.Timeout, problems)
	p.MaxRequestKB.resolve("limits.max_request_kb", &l.MaxRequestKB, problems)
	p.MaxResponseKB.resolve("limits.max_response_kb", &l.MaxResponseKB, problems)
}

func (p Policy) resolveScaling(s *client.Scaling, problems *[]string) {
	p.Concurrency.resolve("scaling.concurrency", &s.Concurrency, problems)
	p.MinInstances.resolve("scaling.min_instances", &s.MinInstances, problems)
	p.MaxInstances.resolve("scaling.max_instances", &s.MaxInstances, problems)
	p.IdleTimeout.resolve("scaling.idle_timeout", &s.IdleTimeout, problems)
	p.MaxQueue.resolve("scaling.max_queue", &s.MaxQueue, problems)
	p.QueueTimeout.resolve("scaling.queue_timeout", &s.QueueTimeout, problems)
	if s.MinInstances > s.MaxInstances {
		*problems = append(*problems, fmt.Sprintf("scaling.min_instances %d is over scaling.max_instances %d",
			s.MinInstances, s.MaxInstances))
	}
}

// reservedEnvPrefix starts the names of the variables the platform sets
// in an instance, such as runtime.SocketEnv.
const reservedEnvPrefix = "CONTAINERPUB_"

// checkEnv checks env names and sizes, reporting names in sorted order.
func (p Policy) checkEnv(env map[string]string) []string {
	var problems []string
	if len(env) > p.MaxEnv {
		problems = append(problems, fmt.Sprintf("env has %d variables, over the maximum %d", len(env), p.MaxEnv))
	}
	size := 0
	for _, name := range slices.Sorted(maps.Keys(env)) {
		value := env[name]
		size += len(name) + len(value)
		switch {
		case !isIdentifier(name):
			problems = append(problems, fmt.Sprintf("env %q is not a valid variable name: use letters, digits and _, not starting with a digit", name))
		case strings.HasPrefix(strings.ToUpper(name), reservedEnvPrefix):
			problems = append(problems, fmt.Sprintf("env %s: names starting with %s are reserved for the platform", name, reservedEnvPrefix))
		case strings.ContainsRune(value, 0):
			problems = append(problems, fmt.Sprintf("env %s: the value holds a NUL byte", name))
		}
	}
	if size > p.MaxEnvBytes {
		problems = append(problems, fmt.Sprintf("env is %d bytes, over the maximum %d", size, p.MaxEnvBytes))
	}
	return problems
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// ValidName checks a function name by client.ValidateName, the rule the
// CLI applies before it uploads anything. The error wraps ErrInvalid, so
// that the API answers 400, and its text is the user's message.
func ValidName(name string) error {
	if err := client.ValidateName(name); err != nil {
		return invalid(err.Error())
	}
	return nil
}
