package client

import (
	"context"
	"net/http"
)

// Register creates an account and returns a session for it.
func (c *Client) Register(ctx context.Context, cred Credentials) (Session, error) {
	var s Session
	err := c.doJSON(ctx, http.MethodPost, c.path("api", "auth", "register"), cred, &s)
	return s, err
}

// Login returns a new session for an existing account.
func (c *Client) Login(ctx context.Context, cred Credentials) (Session, error) {
	var s Session
	err := c.doJSON(ctx, http.MethodPost, c.path("api", "auth", "login"), cred, &s)
	return s, err
}

// Logout ends the session of the client's token.
func (c *Client) Logout(ctx context.Context) error {
	return c.doJSON(ctx, http.MethodPost, c.path("api", "auth", "logout"), nil, nil)
}

// Me returns the user the client's token belongs to.
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	err := c.doJSON(ctx, http.MethodGet, c.path("api", "auth", "me"), nil, &u)
	return u, err
}
