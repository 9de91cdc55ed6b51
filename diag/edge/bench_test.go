package edge_test

import (
	"testing"

	"ipsecbot/diag/edge"
)

// diagnosisCommands are the show commands one diagnosis records.
var diagnosisCommands = []string{
	edge.CmdServiceIPsec, edge.CmdServiceIPsecSA, edge.CmdServiceIPsecSP,
	edge.CmdIPRoute, edge.CmdInterface, edge.CmdConfigIPsec, edge.CmdLog,
}

// BenchmarkShowCommands compares one session for all of a diagnosis' show commands with a
// new SSH connection (handshake, auth, shell, prompt) per command. One op = all commands.
func BenchmarkShowCommands(b *testing.B) {
	_, target := startEdge(b, nil)
	b.Run("one-session", func(b *testing.B) {
		for b.Loop() {
			s, err := edge.Dial(b.Context(), target)
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range diagnosisCommands {
				if _, err := s.Run(b.Context(), c); err != nil {
					b.Fatal(err)
				}
			}
			s.Close()
		}
	})
	b.Run("connection-per-command", func(b *testing.B) {
		for b.Loop() {
			for _, c := range diagnosisCommands {
				s, err := edge.Dial(b.Context(), target)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Run(b.Context(), c); err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		}
	})
}

// BenchmarkParseServiceIPsec measures the parser on a 64-site output.
func BenchmarkParseServiceIPsec(b *testing.B) {
	st := sampleStatus()
	for len(st.Sites) < 64 {
		st.Sites = append(st.Sites, st.Sites[:2]...)
	}
	out := renderStatus(st)
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, err := edge.ParseServiceIPsec(out); err != nil {
			b.Fatal(err)
		}
	}
}
