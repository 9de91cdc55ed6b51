// Command bot diagnoses unstable IPsec VPN tunnels on NSX-v Edges, from Slack or the terminal.
//
// Each subcommand lives in its own file (demo.go, diagnose.go, ...) as a function with the
// signature of command.run; this file holds the table and the exit-status rules:
// 0 done (whatever cause was found), 1 failed, 2 usage, 3 nothing collected (bot diagnose).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"ipsecbot/diag/edge"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: its name, its arguments, one line on what it does, and what it runs.
type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what a subcommand may use of the process: its streams and environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// commands is the whole command line of docs/design.md, in the order help lists it.
// It is filled in init because help refers back to it.
var commands []command

func init() {
	commands = []command{
		{"demo", "[--scenario NAME] [--out DIR] [--list] [--capture-seconds N]",
			"run the whole procedure against the lab on loopback and print the verdict", runDemo},
		{"diagnose", "EDGE [--peer NAME] --config FILE [--json] [--out DIR] [--capture-seconds N] [--keys FILE]",
			"run the procedure against an edge of the configuration; exit 3 when no source could be collected", runDiagnose},
		{"analyze", "[--pcap F]... [--log F]... [--stats F]... [--show F]... [--since T] [--until T] [--json] [--keys FILE] | --print-patterns",
			"classify evidence already collected", runAnalyze},
		{"pcap", "decode FILE --json | summary FILE [--json]",
			"read IKE and ESP from a capture", runPcap},
		{"lab", "[--scenario NAME] [--listen ADDR] [--write-config FILE] [--edges N [--flap-every DUR]]",
			"run the simulated NSX world until interrupted", runLab},
		{"serve", "--config FILE",
			"run the bot: Slack, cron, store, /healthz, /metrics", runServe},
		{"incidents", "list|show ID|export ID --config FILE [--json] [--out FILE]",
			"read incident state from the store", runIncidents},
		{"watch", "--config FILE",
			"watch every edge's tunnels in the foreground and print state changes", runWatch},
		{"health", "--config FILE [--edge E] [--since DUR] [--png FILE] [--json]",
			"tunnel states (up, down, unstable, unknown), drops and last failures from the store; --png draws their timeline", runHealth},
		{"store", "check [FILE] | backup FILE | compact --config FILE",
			"check, back up (also while serving) or compact the store", runStore},
		{"version", "", "print version and build information", runVersion},
		{"help", "[COMMAND]", "show this text, or one command's flags", runHelp},
	}
}

// usageError marks a mistake in how the command was called: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A parent that bound the capture endpoint's port passes the socket on (diag/edge).
	if _, err := edge.InheritSCPListener(); err != nil {
		fmt.Fprintf(os.Stderr, "bot: %v\n", err)
		os.Exit(1)
	}
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and maps its error to an exit status.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "--help" {
		name = "help"
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(e.stderr, "bot: unknown command %q (run 'bot help')\n", name)
		return 2
	}
	err := runContained(ctx, e, cmd, args[1:])
	var ue usageError
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "bot %s: %s\n", name, ue.msg)
		return 2
	case errors.Is(err, errNothingCollected):
		fmt.Fprintf(e.stderr, "bot %s: %v\n", name, err)
		return 3
	default:
		fmt.Fprintf(e.stderr, "bot %s: %v\n", name, err)
		return 1
	}
}

// runContained runs cmd and turns a panic on its own goroutine into a one-line error (exit
// status 1) instead of a trace.
func runContained(ctx context.Context, e *env, cmd command, args []string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p)
		}
	}()
	return cmd.run(ctx, e, args)
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: bot COMMAND [ARGS]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "'bot help COMMAND' shows a command's arguments and flags.")
	fmt.Fprintln(w, "Exit status: 0 done (whatever cause was found), 1 failed, 2 usage.")
}

// runHelp prints the overview, or one command's usage and flags (by running it with --help,
// so the flags shown are exactly the ones it parses).
func runHelp(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		printUsage(e.stdout)
		return nil
	}
	c, ok := lookup(args[0])
	if !ok {
		return usagef("unknown command %q", args[0])
	}
	if c.name == "help" || c.name == "version" {
		fmt.Fprintf(e.stdout, "usage: bot %s %s\n\n%s\n", c.name, c.args, c.summary)
		return nil
	}
	return c.run(ctx, e, append(args[1:], "--help"))
}
