package main

import "context"

func runLab(_ context.Context, _ *env, _ []string) error { return errNotYet("lab") }
