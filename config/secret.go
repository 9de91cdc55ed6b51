package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrNoSecret is returned by Secret when neither the *_env nor the *_file key is set.
var ErrNoSecret = errors.New("no secret configured")

// Secret reads a secret named by an environment variable (env) or a file (file, relative to
// the configuration's directory). One trailing newline is trimmed from a file; an empty value
// is an error. Errors name the variable or the file, never the value.
func (c *Config) Secret(env, file string) (string, error) {
	switch {
	case env != "":
		lookup := c.LookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		v, ok := lookup(env)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is not set", env)
		}
		return v, nil
	case file != "":
		path := c.Path(file)
		data, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		v := strings.TrimSuffix(string(data), "\n")
		v = strings.TrimSuffix(v, "\r")
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", path)
		}
		return v, nil
	}
	return "", ErrNoSecret
}

// namedSecret reads a secret and prefixes errors with the keys that name it.
func (c *Config) namedSecret(key, env, file string) (string, error) {
	v, err := c.Secret(env, file)
	if errors.Is(err, ErrNoSecret) {
		return "", fmt.Errorf("%s_env or %s_file is required", key, key)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return v, nil
}

// BotToken is the Slack bot token (xoxb-...).
func (c *Config) BotToken() (string, error) {
	return c.namedSecret("slack.bot_token", c.Slack.BotTokenEnv, c.Slack.BotTokenFile)
}

// AppToken is the Slack app-level token for Socket Mode (xapp-...).
func (c *Config) AppToken() (string, error) {
	return c.namedSecret("slack.app_token", c.Slack.AppTokenEnv, c.Slack.AppTokenFile)
}

// SigningSecret is the Slack request signing secret.
func (c *Config) SigningSecret() (string, error) {
	return c.namedSecret("slack.signing_secret", c.Slack.SigningSecretEnv, c.Slack.SigningSecretFile)
}

// ManagerPassword is the NSX Manager's API password.
func (c *Config) ManagerPassword(m *Manager) (string, error) {
	return c.namedSecret("managers["+m.Name+"].password", m.PasswordEnv, m.PasswordFile)
}

// SSHPassword is the password of an SSH block; ErrNoSecret when it has none (key auth).
func (c *Config) SSHPassword(s *SSH) (string, error) {
	if s == nil {
		return "", ErrNoSecret
	}
	return c.Secret(s.PasswordEnv, s.PasswordFile)
}

// EnablePassword is the edge's enable-mode password, which defaults to its SSH login password.
func (c *Config) EnablePassword(e *Edge) (string, error) {
	if e.EnablePasswordEnv == "" && e.EnablePasswordFile == "" {
		return c.SSHPassword(e.SSH)
	}
	return c.namedSecret("edges["+e.Name+"].enable_password", e.EnablePasswordEnv, e.EnablePasswordFile)
}

// CheckSecrets reads every secret and key file the inventory names (Manager passwords,
// Edge and peer SSH passwords and keys, enable passwords) and returns one error naming the
// key of each that cannot be read, joined with "; " so it stays one line. The values read are
// dropped. `bot serve` calls it at start, so a missing variable or a mistyped file is found
// then, not by the first diagnosis that needs it.
func (c *Config) CheckSecrets() error {
	var problems []string
	add := func(err error) {
		if err != nil && !errors.Is(err, ErrNoSecret) {
			problems = append(problems, err.Error())
		}
	}
	for i := range c.Managers {
		_, err := c.ManagerPassword(&c.Managers[i])
		add(err)
	}
	for i := range c.Edges {
		e := &c.Edges[i]
		add(c.sshSecrets("edges["+e.Name+"].ssh", e.SSH))
		if e.EnablePasswordEnv != "" || e.EnablePasswordFile != "" {
			_, err := c.EnablePassword(e)
			add(err)
		}
		for j := range e.Peers {
			p := &e.Peers[j]
			add(c.sshSecrets("edges["+e.Name+"].peers["+p.Name+"].ssh", p.SSH))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// sshSecrets checks an SSH block's password and key file.
func (c *Config) sshSecrets(key string, s *SSH) error {
	if s == nil {
		return nil
	}
	var errs []string
	if _, err := c.SSHPassword(s); err != nil && !errors.Is(err, ErrNoSecret) {
		errs = append(errs, fmt.Sprintf("%s.password: %v", key, err))
	}
	if s.KeyFile != "" {
		if f, err := os.Open(c.Path(s.KeyFile)); err != nil {
			errs = append(errs, fmt.Sprintf("%s.key_file: %v", key, err))
		} else {
			f.Close()
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "; "))
}
