package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// errHelpShown ends a command after --help printed its usage: exit status 0.
var errHelpShown = errors.New("help shown")

// flagSet is a command's flags plus how to print its usage on --help.
type flagSet struct {
	*flag.FlagSet
	help func()
}

// newFlags returns a flag set that reports errors as usage errors instead of exiting, and
// prints the command's usage and flags to stdout on --help. name is the command as typed
// after "bot" ("pcap summary"); its first word names the entry in the command table.
func newFlags(name string, e *env) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // the flag package calls it on every error; we print only on --help
	help := func() {
		if c, ok := lookup(strings.Fields(name)[0]); ok {
			fmt.Fprintf(e.stdout, "usage: bot %s %s\n\n%s\n", c.name, c.args, c.summary)
		}
		fmt.Fprintln(e.stdout, "\nflags:")
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return &flagSet{FlagSet: fs, help: help}
}

// parseFlags parses args, allowing flags and positional arguments in any order
// ("diagnose edge-01 --config f" and "diagnose --config f edge-01"), and returns the positionals.
func parseFlags(fs *flagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				fs.help()
				return nil, errHelpShown
			}
			return nil, usagef("%s", strings.TrimSpace(err.Error()))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// multiFlag collects a flag given several times (--pcap a --pcap b).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
