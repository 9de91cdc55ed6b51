package main

import "context"

func runDiagnose(_ context.Context, _ *env, _ []string) error { return errNotYet("diagnose") }
