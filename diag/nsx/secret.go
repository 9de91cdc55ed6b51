package nsx

import (
	"encoding/json"
	"encoding/xml"
	"log/slog"
)

// Secret is a pre-shared key or password. It never prints: String, GoString, JSON, YAML and
// slog show "<secret>", and XML shows NSX's own mask, so a document re-encoded by the bot
// (an artifact, the lab's answer) carries no key even if the Manager sent one in clear.
type Secret string

const (
	secretShown = "<secret>"
	// secretMask is what NSX returns for a PSK when showSensitiveData is not asked for.
	secretMask = "******"
)

// String implements fmt.Stringer (also used by %v, %s and %q).
func (s Secret) String() string { return s.shown() }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return "nsx.Secret(" + s.shown() + ")" }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.shown()) }

// MarshalYAML implements yaml.Marshaler (go.yaml.in/yaml/v3) without importing it.
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }

// MarshalXML implements xml.Marshaler: a non-empty secret is written as NSX's mask.
func (s Secret) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	v := ""
	if s != "" {
		v = secretMask
	}
	return e.EncodeElement(v, start)
}

// Set reports whether the secret holds anything (masked or not).
func (s Secret) Set() bool { return s != "" }

// Masked reports whether the value is NSX's mask (asterisks only) rather than a key.
func (s Secret) Masked() bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r != '*' {
			return false
		}
	}
	return true
}

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return secretShown
}
