package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is a problem with the configuration, at a line of its file when one is known.
// It prints as one line: "bot.yaml:12: edges[0].ssh: unknown key ...".
type Error struct {
	File string // the file name as given to Load or Parse
	Line int    // 1-based; 0 when unknown (a Config built in code)
	Path string // the key path, e.g. edges[0].ssh.address; empty for the whole file
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads, parses and structurally checks the configuration file at path. Relative paths in
// it resolve against its directory. Load does not call Validate: what must be present depends on
// the command.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return Parse(data, path, dir)
}

// Parse reads a configuration from data. name is used in error messages and dir is the
// directory relative paths resolve against. Unknown keys, literal secrets and values of the
// wrong type are errors carrying their line.
func Parse(data []byte, name, dir string) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(name, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{File: name, Msg: "the configuration is empty"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: root.Line, Msg: "the configuration must be a mapping of keys"}
	}
	if err := checkLiteralSecrets(root, name); err != nil {
		return nil, err
	}
	if err := checkKeys(root, reflect.TypeFor[Config](), "", name); err != nil {
		return nil, err
	}
	// The strict decoder is the backstop for anything checkKeys does not model, and reports
	// values of the wrong type and duplicated keys.
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, err)
	}
	c.Dir, c.name, c.root = dir, name, root
	return c, nil
}

// Write stores c as YAML at path atomically: a temporary file in the same directory, synced,
// then renamed over path. Readers see the old file or the new one, never half of one.
func Write(path string, c *Config) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write configuration: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write configuration: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	return nil
}

// literalSecretKeys are keys that would hold a secret's value; the file may only name where the
// value is (NAME_env or NAME_file).
var literalSecretKeys = map[string]string{
	"password":        "password_env or password_file",
	"secret":          "secret_env or secret_file",
	"token":           "token_env or token_file",
	"bot_token":       "bot_token_env or bot_token_file",
	"app_token":       "app_token_env or app_token_file",
	"signing_secret":  "signing_secret_env or signing_secret_file",
	"enable_password": "enable_password_env or enable_password_file",
	"psk":             "psk_env or psk_file",
	"key":             "key_file",
}

// checkLiteralSecrets refuses any mapping key, anywhere, that would hold a secret's value.
func checkLiteralSecrets(n *yaml.Node, file string) error {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if use, ok := literalSecretKeys[strings.ToLower(k.Value)]; ok {
				return &Error{File: file, Line: k.Line, Msg: "literal secrets are not allowed: use " + use}
			}
			if err := checkLiteralSecrets(n.Content[i+1], file); err != nil {
				return err
			}
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			if err := checkLiteralSecrets(c, file); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkKeys walks the document beside the Go type it decodes into and reports the first key
// the type does not have, naming its path. Shapes that do not fit the type are left to the
// decoder, which reports them with their line.
func checkKeys(n *yaml.Node, t reflect.Type, path, file string) error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" { // a merge key: check what it merges in
				if err := checkKeys(v, t, path, file); err != nil {
					return err
				}
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				where := path
				if where == "" {
					where = "the top level"
				}
				return &Error{File: file, Line: k.Line, Msg: fmt.Sprintf("unknown key %q in %s", k.Value, where)}
			}
			if err := checkKeys(v, ft, joinPath(path, k.Value), file); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, item := range n.Content {
			if err := checkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), file); err != nil {
				return err
			}
		}
	}
	return nil
}

// yamlFields maps a struct's YAML key names to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlLine matches the "line N: message" form of the YAML library's errors.
var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError turns the YAML library's error into an Error naming the file and line.
func yamlError(file string, err error) error {
	msg := err.Error()
	if te, ok := errors.AsType[*yaml.TypeError](err); ok && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: m[2]}
	}
	return &Error{File: file, Msg: msg}
}
