package main

import "context"

func runPcap(_ context.Context, _ *env, _ []string) error { return errNotYet("pcap") }
