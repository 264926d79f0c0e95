package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/containerpub/containerpub/client"
)

func (a *app) registerCommand() *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Create an account on the backend and log in",
		Long: `Create an account on the backend and log in.

On a terminal the email (unless --email is given) and the password are
asked for, the password twice. Otherwise they are read as lines of
standard input, which lets a script pipe them in.`,
		Args: needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.settings()
			if err != nil {
				return err
			}
			cred, err := a.credentials(email, true)
			if err != nil {
				return err
			}
			sess, err := a.newClient(s).Register(cmd.Context(), cred)
			if err != nil {
				return fmt.Errorf("register: %w", err)
			}
			if err := a.saveSession(s, sess); err != nil {
				return err
			}
			return a.printf("registered and logged in as %s at %s\n", sess.User.Email, s.url)
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the account's email (asked for when not given)")
	return cmd
}

func (a *app) loginCommand() *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in and save the session token",
		Long: `Log in and save the session token for the backend in the config file.

On a terminal the email (unless --email is given) and the password are
asked for. Otherwise they are read as lines of standard input.`,
		Args: needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.settings()
			if err != nil {
				return err
			}
			cred, err := a.credentials(email, false)
			if err != nil {
				return err
			}
			sess, err := a.newClient(s).Login(cmd.Context(), cred)
			if client.IsUnauthorized(err) {
				// Not wrapped: the advice to log in, added for a 401
				// elsewhere, makes no sense for the login itself.
				return fmt.Errorf("log in: %s", err.Error())
			}
			if err != nil {
				return fmt.Errorf("log in: %w", err)
			}
			if err := a.saveSession(s, sess); err != nil {
				return err
			}
			return a.printf("logged in as %s at %s\n", sess.User.Email, s.url)
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the account's email (asked for when not given)")
	return cmd
}

// credentials asks for what --email did not give, and for the password;
// twice on a terminal when confirm is set.
func (a *app) credentials(email string, confirm bool) (client.Credentials, error) {
	var err error
	if email == "" {
		if email, err = a.ask("Email: "); err != nil {
			return client.Credentials{}, err
		}
	}
	if email == "" {
		return client.Credentials{}, errors.New("no email given")
	}
	password, err := a.askSecret("Password: ")
	if err != nil {
		return client.Credentials{}, err
	}
	if confirm && a.isTerminal(a.stdin) {
		again, err := a.askSecret("Repeat password: ")
		if err != nil {
			return client.Credentials{}, err
		}
		if again != password {
			return client.Credentials{}, errors.New("the passwords differ")
		}
	}
	return client.Credentials{Email: email, Password: password}, nil
}

// saveSession remembers the backend, token and email in the config file.
func (a *app) saveSession(s settings, sess client.Session) error {
	cfg := Config{URL: s.url, Token: sess.Token, Email: sess.User.Email}
	if err := s.file.save(cfg); err != nil {
		return fmt.Errorf("logged in, but could not save the session: %w", err)
	}
	return nil
}

func (a *app) logoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "End the session and forget its token",
		Args:  needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.settings()
			if err != nil {
				return err
			}
			if s.token == "" {
				return a.printf("not logged in to %s\n", s.url)
			}
			// Forget the token locally first: even when the backend cannot
			// be told, the user asked for this machine to be logged out.
			if s.saved.Token == s.token {
				s.saved.Token = ""
				if err := s.file.save(s.saved); err != nil {
					return err
				}
			}
			err = a.newClient(s).Logout(cmd.Context())
			if err != nil && !client.IsUnauthorized(err) {
				return fmt.Errorf("token forgotten here, but the backend did not end the session: %w", err)
			}
			return a.printf("logged out of %s\n", s.url)
		},
	}
}

func (a *app) whoamiCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show the logged in account",
		Args:  needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, s, err := a.loggedIn()
			if err != nil {
				return err
			}
			u, err := c.Me(cmd.Context())
			if err != nil {
				return fmt.Errorf("who am i: %w", err)
			}
			if a.jsonOutput() {
				return a.printJSON(u)
			}
			return a.printf("%s\nid:      %s\nserver:  %s\nsince:   %s\n",
				u.Email, u.ID, s.url, timeText(u.CreatedAt))
		},
	}
}
