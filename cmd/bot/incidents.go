package main

import "context"

func runIncidents(_ context.Context, _ *env, _ []string) error { return errNotYet("incidents") }
