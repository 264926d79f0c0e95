package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/containerpub/containerpub/client"
)

func (a *app) listCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List your functions",
		Args:    needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.loggedIn()
			if err != nil {
				return err
			}
			fns, err := c.ListFunctions(cmd.Context())
			if err != nil {
				return fmt.Errorf("list functions: %w", err)
			}
			if a.jsonOutput() {
				return a.printJSON(nonNil(fns))
			}
			if len(fns) == 0 {
				return a.print("no functions yet: create one with dart_cloud init, then dart_cloud deploy\n")
			}
			rows := [][]string{{"NAME", "STATUS", "VERSION", "URL", "UPDATED"}}
			for _, f := range fns {
				rows = append(rows, []string{f.Name, f.Status,
					versionText(f.ActiveVersion), c.FunctionURL(f.Name), timeText(f.UpdatedAt)})
			}
			return a.printTable(rows)
		},
	}
}

// functionInfo is what info prints with --output json.
type functionInfo struct {
	Function    client.Function     `json:"function"`
	URL         string              `json:"url"`
	Deployments []client.Deployment `json:"deployments"`
}

func (a *app) infoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "info FUNCTION",
		Short: "Show a function and its versions",
		Args:  needArgs("FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.loggedIn()
			if err != nil {
				return err
			}
			f, err := c.GetFunction(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("get function %s: %w", args[0], err)
			}
			ds, err := c.ListDeployments(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("list versions of %s: %w", args[0], err)
			}
			info := functionInfo{Function: f, URL: c.FunctionURL(f.Name), Deployments: nonNil(ds)}
			if a.jsonOutput() {
				return a.printJSON(info)
			}
			return a.printInfo(info)
		},
	}
}

func (a *app) printInfo(info functionInfo) error {
	f := info.Function
	rows := [][]string{
		{"name:", f.Name},
		{"id:", f.ID},
		{"status:", f.Status},
		{"version:", versionText(f.ActiveVersion)},
		{"url:", info.URL},
	}
	if f.Config != nil {
		rows = append(rows,
			[]string{"public:", strconv.FormatBool(f.Config.Public)},
			[]string{"network:", strconv.FormatBool(f.Config.Network)})
	}
	if f.SourceHash != "" {
		rows = append(rows, []string{"source:", f.SourceHash})
	}
	rows = append(rows,
		[]string{"created:", timeText(f.CreatedAt)},
		[]string{"updated:", timeText(f.UpdatedAt)})
	if err := a.printTable(rows); err != nil {
		return err
	}
	if err := a.print("\n"); err != nil {
		return err
	}
	return a.printDeployments(info.Deployments)
}

func (a *app) versionsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "versions FUNCTION",
		Short: "List the deployments of a function, newest first",
		Args:  needArgs("FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.loggedIn()
			if err != nil {
				return err
			}
			ds, err := c.ListDeployments(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("list versions of %s: %w", args[0], err)
			}
			if a.jsonOutput() {
				return a.printJSON(nonNil(ds))
			}
			return a.printDeployments(ds)
		},
	}
}

// printDeployments prints a table of deployments.
func (a *app) printDeployments(ds []client.Deployment) error {
	if len(ds) == 0 {
		return a.print("no versions yet: run dart_cloud deploy\n")
	}
	rows := [][]string{{"VERSION", "STATUS", "CREATED", "SOURCE", "ERROR"}}
	for _, d := range ds {
		rows = append(rows, []string{strconv.Itoa(d.Version), d.Status,
			timeText(d.CreatedAt), shortHash(d.SourceHash), oneLine(d.Error, 60)})
	}
	return a.printTable(rows)
}

func (a *app) deleteCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete FUNCTION",
		Short: "Delete a function with all its versions and records",
		Long: `Delete a function with all its versions, containers and records.

On a terminal it asks for confirmation. When standard input is not a
terminal it refuses unless --yes is given.`,
		Args: needArgs("FUNCTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.loggedIn()
			if err != nil {
				return err
			}
			name := args[0]
			if !yes {
				if !a.isTerminal(a.stdin) {
					return fmt.Errorf("refusing to delete %s without --yes: standard input is not a terminal", name)
				}
				ok, err := a.confirm(fmt.Sprintf("Delete function %s and all its versions?", name))
				if err != nil {
					return err
				}
				if !ok {
					return errors.New("not deleted")
				}
			}
			if err := c.DeleteFunction(cmd.Context(), name); err != nil {
				return fmt.Errorf("delete %s: %w", name, err)
			}
			return a.printf("deleted %s\n", name)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "delete without asking")
	return cmd
}

// nonNil turns a nil slice into an empty one, so JSON output is [] and
// never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// versionText shows version 0, which means none, as "-".
func versionText(v int) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprint(v)
}

// shortHash abbreviates "sha256:<hex>" for a table.
func shortHash(h string) string {
	h = strings.TrimPrefix(h, "sha256:")
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "-"
	}
	return h
}

// oneLine keeps the first line of s, cut to at most n runes.
func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-3]) + "..."
	}
	return s
}
