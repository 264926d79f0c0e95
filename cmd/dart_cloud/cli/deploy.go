package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/containerpub/containerpub/client"
)

func (a *app) deployCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "deploy [DIR]",
		Short: "Upload a function's source and build it as a new version",
		Long: `Upload the function in DIR (default: the current directory) and build it
as a new version. The name comes from DIR/` + client.ManifestFile + `; the
function is created on the backend if it does not exist yet.

Before uploading, a Go function is checked for mistakes that would fail
its build. The tree is packed without .git/, node_modules/, a root bin/
and build/, and what ` + client.IgnoreFile + ` lists. When it is the same as
the active version, nothing is uploaded unless --force is given.

The build log streams to stderr. The final status, version and URL go to
stdout; the exit code is 1 when the build failed.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return a.deploy(cmd.Context(), dir, force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "deploy even when the source matches the active version")
	return cmd
}

// deploy runs the whole deployment of dir: check, pack, upload, follow
// the build, report.
func (a *app) deploy(ctx context.Context, dir string, force bool) error {
	cfg, err := readManifest(dir)
	if err != nil {
		return err
	}
	if err := a.checkSource(dir, cfg); err != nil {
		return err
	}
	c, _, err := a.loggedIn()
	if err != nil {
		return err
	}
	archive, res, err := a.packTemp(dir)
	if err != nil {
		return err
	}
	defer removeTemp(archive)

	fn, err := a.ensureFunction(ctx, c, cfg.Name)
	if err != nil {
		return err
	}
	if fn.SourceHash == res.Hash && !force {
		return a.print("no changes since the active version (use --force)\n")
	}
	d, err := a.upload(ctx, c, cfg.Name, archive)
	if err != nil {
		return err
	}
	d, err = a.followBuild(ctx, c, cfg.Name, d)
	if err != nil {
		return err
	}
	return a.reportDeployment(c, cfg.Name, d)
}

// readManifest reads and checks DIR/containerpub.yaml.
func readManifest(dir string) (client.FunctionConfig, error) {
	p := filepath.Join(dir, client.ManifestFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return client.FunctionConfig{}, fmt.Errorf(
			"no %s in %s: run dart_cloud init there, or pass the function's directory", client.ManifestFile, dir)
	}
	if err != nil {
		return client.FunctionConfig{}, fmt.Errorf("read manifest: %w", err)
	}
	cfg, err := client.ParseConfig(data)
	if err != nil {
		return client.FunctionConfig{}, fmt.Errorf("%s: %w", p, err)
	}
	if cfg.Name == "" {
		return client.FunctionConfig{}, fmt.Errorf("%s has no name", p)
	}
	if err := client.ValidateName(cfg.Name); err != nil {
		return client.FunctionConfig{}, fmt.Errorf("%s: %w", p, err)
	}
	return cfg, nil
}

// checkSource runs the Go checks, printing warnings and stopping on
// errors, before anything is uploaded.
func (a *app) checkSource(dir string, cfg client.FunctionConfig) error {
	if cfg.Runtime != "" && cfg.Runtime != client.RuntimeGo {
		return nil // the backend knows its other runtimes; it will say
	}
	report := client.CheckGo(os.DirFS(dir))
	for _, w := range report.Warnings {
		a.notef("warning: %s\n", w)
	}
	for _, e := range report.Errors {
		a.notef("go check: %s\n", e)
	}
	if n := len(report.Errors); n > 0 {
		return fmt.Errorf("the Go source has %d problem(s); nothing was uploaded", n)
	}
	return nil
}

// packTemp packs dir into a temporary file, rewound for reading.
func (a *app) packTemp(dir string) (*os.File, client.PackResult, error) {
	f, err := os.CreateTemp("", "dart_cloud-*.tar.gz")
	if err != nil {
		return nil, client.PackResult{}, fmt.Errorf("create archive: %w", err)
	}
	res, err := client.Pack(dir, f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		removeTemp(f)
		return nil, client.PackResult{}, err
	}
	for _, w := range res.Warnings {
		a.notef("warning: %s\n", w)
	}
	a.notef("packed %d files (%s), %s\n", res.Files, sizeText(res.Bytes), res.Hash)
	return f, res, nil
}

// removeTemp closes and deletes a temporary file, best effort: it holds
// nothing the user needs, and the command's own outcome is what to
// report.
func removeTemp(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// ensureFunction returns the function, creating it on first deploy.
func (a *app) ensureFunction(
	ctx context.Context, c *client.Client, name string,
) (client.Function, error) {
	fn, err := c.GetFunction(ctx, name)
	if err == nil {
		return fn, nil
	}
	if !client.IsNotFound(err) {
		return fn, fmt.Errorf("get function %s: %w", name, err)
	}
	fn, err = c.CreateFunction(ctx, client.CreateFunctionRequest{Name: name})
	if err != nil {
		return fn, fmt.Errorf("create function %s: %w", name, err)
	}
	a.notef("created function %s\n", name)
	return fn, nil
}

// upload sends the archive, with a progress bar on a terminal.
func (a *app) upload(
	ctx context.Context, c *client.Client, name string, archive *os.File,
) (client.Deployment, error) {
	info, err := archive.Stat()
	if err != nil {
		return client.Deployment{}, fmt.Errorf("stat archive: %w", err)
	}
	size := info.Size()
	var body io.Reader = archive
	var bar *progressbar.ProgressBar
	if a.isTerminal(a.stderr) {
		bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(a.stderr),
			progressbar.OptionSetDescription("uploading"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		// A tee, unlike the bar's own reader, has no Close for the HTTP
		// transport to call from its goroutine: the bar is finished here,
		// before anything else is written to stderr.
		body = io.TeeReader(archive, bar)
	} else {
		a.notef("uploading %s\n", sizeText(size))
	}
	d, err := c.Deploy(ctx, name, body, size, client.ContentTypeTarGz)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return d, fmt.Errorf("deploy %s: %w", name, err)
	}
	a.notef("uploaded version %d; building\n", d.Version)
	return d, nil
}

// followBuild streams the build log to stderr and waits until the
// deployment is done.
func (a *app) followBuild(
	ctx context.Context, c *client.Client, name string, d client.Deployment,
) (client.Deployment, error) {
	if err := c.BuildLog(ctx, name, d.Version, true, a.stderr); err != nil {
		if ctx.Err() != nil {
			return d, stoppedWaiting(name, d.Version, ctx.Err())
		}
		// The log is a convenience; the status below is what counts.
		a.notef("warning: build log interrupted: %v\n", err)
	}
	for {
		var err error
		d, err = c.GetDeployment(ctx, name, d.Version)
		if ctx.Err() != nil {
			return d, stoppedWaiting(name, d.Version, ctx.Err())
		}
		if err != nil {
			return d, fmt.Errorf("get version %d of %s: %w", d.Version, name, err)
		}
		if d.Done() {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return d, stoppedWaiting(name, d.Version, ctx.Err())
		case <-time.After(a.pollInterval):
		}
	}
}

// stoppedWaiting says that the build goes on without the CLI watching.
func stoppedWaiting(name string, version int, err error) error {
	return fmt.Errorf("stopped waiting for version %d, which goes on building; see dart_cloud versions %s: %w",
		version, name, err)
}

// reportDeployment prints the outcome and fails for a failed build.
func (a *app) reportDeployment(c *client.Client, name string, d client.Deployment) error {
	if err := a.printf("status:  %s\nversion: %d\n", d.Status, d.Version); err != nil {
		return err
	}
	if d.Status == client.DeploymentFailed {
		msg := d.Error
		if msg == "" {
			msg = "no reason given; see the build log above"
		}
		return fmt.Errorf("version %d of %s failed: %s", d.Version, name, msg)
	}
	return a.printf("url:     %s\n", c.FunctionURL(name))
}

// sizeText formats a byte count for people.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
