package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Environment variables the CLI reads. They override the config file.
const (
	// EnvURL is the backend's URL.
	EnvURL = "DART_CLOUD_URL"
	// EnvToken is the session token to send instead of the saved one.
	EnvToken = "DART_CLOUD_TOKEN" //nolint:gosec // G101: the variable's name, not a token.
	// EnvConfig is the path of the config file, replacing the default
	// os.UserConfigDir()/dart_cloud/config.json.
	EnvConfig = "DART_CLOUD_CONFIG"
)

// DefaultURL is the backend used when neither --url, EnvURL nor the
// config file names one.
const DefaultURL = "http://127.0.0.1:8080"

// Config is the CLI's saved state, written by login and register.
type Config struct {
	// URL is the backend the token belongs to.
	URL string `json:"url,omitempty"`
	// Token is the session token.
	Token string `json:"token,omitempty"`
	// Email is the logged in account, for whoami without a round trip.
	Email string `json:"email,omitempty"`
}

// configFile is where the config lives and whether its directory is the
// CLI's own, whose permissions it may tighten.
type configFile struct {
	path   string
	ownDir bool
}

// locateConfig finds the config file: EnvConfig, else the user's config
// directory.
func locateConfig(env func(string) string) (configFile, error) {
	if p := env(EnvConfig); p != "" {
		return configFile{path: p}, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return configFile{}, fmt.Errorf("find config directory: %w (set %s)", err, EnvConfig)
	}
	return configFile{path: filepath.Join(dir, "dart_cloud", "config.json"), ownDir: true}, nil
}

// load reads the config; a missing file is an empty config. A token must
// stay private, so a file or directory others can read is tightened.
func (c configFile) load() (Config, error) {
	var cfg Config
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	if err := c.tighten(); err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("read config %s: %w", c.path, err)
	}
	return cfg, nil
}

// save writes the config atomically with mode 0600.
func (c configFile) save(cfg Config) error {
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	if err := c.tighten(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	// CreateTemp makes the file 0600, so the token is never readable by
	// others, not even between the write and the rename.
	tmp, err := os.CreateTemp(dir, ".config-*.json")
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	// Best effort, and a no-op once renamed: a failed save reports its
	// own error.
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		_ = tmp.Close() // the write's error is the one to report
		return fmt.Errorf("write config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// tighten sets the file to 0600 and the CLI's own directory to 0700 when
// they are looser. A directory named by EnvConfig is left alone: it may
// be shared, such as /tmp.
func (c configFile) tighten() error {
	if c.ownDir {
		if err := tightenMode(filepath.Dir(c.path), 0o700); err != nil {
			return err
		}
	}
	return tightenMode(c.path, 0o600)
}

// tightenMode chmods p to mode when others or the group have any access.
func tightenMode(p string, mode fs.FileMode) error {
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check config permissions: %w", err)
	}
	if info.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(p, mode); err != nil {
		return fmt.Errorf("restrict permissions of %s: %w", p, err)
	}
	return nil
}
