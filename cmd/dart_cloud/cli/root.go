// Package cli implements the dart_cloud commands on top of the public
// client package. Commands read and write only the streams and the
// environment they are given, so tests drive them like a user would.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/containerpub/containerpub/client"
)

// Output formats of --output.
const (
	outputText = "text"
	outputJSON = "json"
)

// app is the state every command shares: its streams, its environment
// and the global flags.
type app struct {
	env    func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	// isTerminal reports whether a stream is an interactive terminal.
	// Tests replace it to reach the interactive paths.
	isTerminal func(any) bool
	// pollInterval is how often deploy asks for a deployment's status
	// when the build log ended before the build did.
	pollInterval time.Duration

	urlFlag string
	output  string
	verbose bool
	// lines reads stdin line by line; shared so that a prompt for an
	// email and one for a password read consecutive lines.
	lines *lineReader
}

// Run executes the command line args and returns the process's exit
// code, printing any error as "error: <message>" on stderr.
func Run(
	ctx context.Context, args []string,
	env func(string) string, stdin io.Reader, stdout, stderr io.Writer,
) int {
	return newApp(env, stdin, stdout, stderr).run(ctx, args)
}

// NewRootCommand returns the dart_cloud command tree reading stdin, the
// environment through env, and writing stdout and stderr. Executing it
// returns the error to report; it prints none itself.
func NewRootCommand(env func(string) string, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	return newApp(env, stdin, stdout, stderr).rootCommand()
}

func newApp(env func(string) string, stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{
		env: env, stdin: stdin, stdout: stdout, stderr: stderr,
		isTerminal:   isTerminal,
		pollInterval: time.Second,
		lines:        newLineReader(stdin),
	}
}

// run executes args and prints the error, if any, returning the exit
// code.
func (a *app) run(ctx context.Context, args []string) int {
	cmd := a.rootCommand()
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		a.notef("error: %s\n", explain(err))
		return 1
	}
	return 0
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "dart_cloud",
		Short: "Deploy and run functions on a ContainerPub backend",
		Long: `dart_cloud deploys functions to a ContainerPub backend and calls them.

The backend is --url, else $` + EnvURL + `, else the one login saved,
else ` + DefaultURL + `. The token is $` + EnvToken + `, else the one
login saved for that backend. Login saves to $` + EnvConfig + `, else to
dart_cloud/config.json in the user's config directory.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: a.checkGlobalFlags,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())
	})
	f := root.PersistentFlags()
	f.StringVar(&a.urlFlag, "url", "", "backend URL")
	f.StringVarP(&a.output, "output", "o", outputText, "output format of commands that print data: text or json")
	f.BoolVarP(&a.verbose, "verbose", "v", false, "log each HTTP request to stderr")
	root.AddCommand(
		a.registerCommand(), a.loginCommand(), a.logoutCommand(), a.whoamiCommand(),
		a.initCommand(), a.deployCommand(),
		a.listCommand(), a.infoCommand(), a.versionsCommand(), a.deleteCommand(),
		a.invokeCommand(), a.logsCommand(),
	)
	return root
}

func (a *app) checkGlobalFlags(*cobra.Command, []string) error {
	if a.output != outputText && a.output != outputJSON {
		return fmt.Errorf("unknown --output %q: want text or json", a.output)
	}
	return nil
}

// settings is the backend and token a command talks to.
type settings struct {
	file   configFile
	saved  Config
	url    string
	token  string
	urlSet bool // the URL came from --url or the environment
}

// settings resolves the backend URL and token from the flag, the
// environment and the config file, in that order.
func (a *app) settings() (settings, error) {
	file, err := locateConfig(a.env)
	if err != nil {
		return settings{}, err
	}
	saved, err := file.load()
	if err != nil {
		return settings{}, err
	}
	s := settings{file: file, saved: saved, url: DefaultURL}
	switch {
	case a.urlFlag != "":
		s.url, s.urlSet = a.urlFlag, true
	case a.env(EnvURL) != "":
		s.url, s.urlSet = a.env(EnvURL), true
	case saved.URL != "":
		s.url = saved.URL
	}
	s.url = strings.TrimRight(s.url, "/")
	// A saved token is only sent to the backend it came from, so that
	// pointing --url elsewhere cannot leak it.
	switch {
	case a.env(EnvToken) != "":
		s.token = a.env(EnvToken)
	case saved.Token != "" && strings.TrimRight(saved.URL, "/") == s.url:
		s.token = saved.Token
	}
	return s, nil
}

// newClient returns a client for the resolved backend and token.
func (a *app) newClient(s settings) *client.Client {
	opts := []client.Option{client.WithUserAgent("dart_cloud/1")}
	if a.verbose {
		h := slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
		opts = append(opts, client.WithLogger(slog.New(h)))
	}
	return client.New(s.url, s.token, opts...)
}

// loggedIn resolves the settings and returns a client for commands that
// need a token, failing early with advice when there is none.
func (a *app) loggedIn() (*client.Client, settings, error) {
	s, err := a.settings()
	if err != nil {
		return nil, s, err
	}
	if s.token == "" {
		return nil, s, fmt.Errorf("not logged in to %s: run dart_cloud login, or set %s", s.url, EnvToken)
	}
	return a.newClient(s), s, nil
}

// jsonOutput reports whether --output json was asked for.
func (a *app) jsonOutput() bool { return a.output == outputJSON }

// printJSON writes v as indented JSON to stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// print writes s to stdout. Stdout carries a command's result, so a
// write that fails there fails the command.
func (a *app) print(s string) error {
	if _, err := io.WriteString(a.stdout, s); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// printf formats to stdout, failing like print.
func (a *app) printf(format string, args ...any) error {
	return a.print(fmt.Sprintf(format, args...))
}

// printTable writes rows of cells to stdout in aligned columns.
func (a *app) printTable(rows [][]string) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		// A tabwriter over a strings.Builder has no write to fail.
		_, _ = io.WriteString(tw, strings.Join(r, "\t")+"\n")
	}
	_ = tw.Flush()
	return a.print(b.String())
}

// notef writes progress, a warning, a prompt or an error to stderr, best
// effort: stderr is where failures are reported, so a write failing
// there has nowhere left to be reported.
func (a *app) notef(format string, args ...any) {
	_, _ = fmt.Fprintf(a.stderr, format, args...)
}

// explain adds advice to errors a user can act on.
func explain(err error) string {
	msg := err.Error()
	switch {
	case client.IsUnauthorized(err):
		return msg + ": run dart_cloud login"
	case errors.Is(err, syscall.ECONNREFUSED):
		return msg + " (is the backend running? set --url or " + EnvURL + ")"
	}
	return msg
}

// isTerminal reports whether v is a file attached to a terminal.
func isTerminal(v any) bool {
	f, ok := v.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// needArgs accepts exactly the named positional arguments and says which
// one is missing.
func needArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return fmt.Errorf("missing %s (usage: %s)", names[len(args)], cmd.UseLine())
		}
		if len(args) > len(names) {
			return fmt.Errorf("unexpected argument %q (usage: %s)", args[len(names)], cmd.UseLine())
		}
		return nil
	}
}

// timeText formats a time for tables, in UTC so output does not depend
// on where it runs.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
