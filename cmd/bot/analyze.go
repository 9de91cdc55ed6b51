package main

import "context"

func runAnalyze(_ context.Context, _ *env, _ []string) error { return errNotYet("analyze") }
