package handlers

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"ipsecbot/config"
)

// Permission is one entry of the access list.
type Permission string

// The permissions of config.Access.
const (
	PermDiagnose Permission = "diagnose"
	PermCapture  Permission = "capture"
	PermEscalate Permission = "escalate"
	PermResolve  Permission = "resolve"
)

var allPermissions = []Permission{PermDiagnose, PermCapture, PermEscalate, PermResolve}

// groupTTL is how long a user group's member list is trusted.
const groupTTL = 5 * time.Minute

// accessList decides who may do what. Entries are "*", user IDs (U.../W...), user group IDs
// (S...) or channel IDs (C.../G.../D...); only IDs, never names. Absent means deny.
type accessList struct {
	rules map[Permission][]string
	api   interface {
		groupMembers(ctx context.Context, group string) ([]string, error)
	}

	mu     sync.Mutex
	groups map[string]groupEntry
}

type groupEntry struct {
	members []string
	fetched time.Time
}

func newAccessList(a config.Access, api *slackAPI) *accessList {
	return &accessList{
		rules: map[Permission][]string{
			PermDiagnose: a.Diagnose, PermCapture: a.Capture, PermEscalate: a.Escalate, PermResolve: a.Resolve,
		},
		api:    api,
		groups: map[string]groupEntry{},
	}
}

// allowed reports whether user, in channel, holds p. A user group whose members cannot be
// read (within ctx: the caller bounds it) grants nothing (fail closed).
func (a *accessList) allowed(ctx context.Context, p Permission, user, channel string) bool {
	for _, e := range a.rules[p] {
		switch {
		case e == "*", e == user, e == channel && channel != "":
			return true
		case strings.HasPrefix(e, "S") && a.inGroup(ctx, e, user):
			return true
		}
	}
	return false
}

// any reports whether the user holds at least one permission: what read-only commands need.
func (a *accessList) any(ctx context.Context, user, channel string) bool {
	for _, p := range allPermissions {
		if a.allowed(ctx, p, user, channel) {
			return true
		}
	}
	return false
}

func (a *accessList) inGroup(ctx context.Context, group, user string) bool {
	a.mu.Lock()
	g, ok := a.groups[group]
	a.mu.Unlock()
	if !ok || time.Since(g.fetched) > groupTTL {
		members, err := a.api.groupMembers(ctx, group)
		if err != nil {
			return false
		}
		g = groupEntry{members: members, fetched: time.Now()}
		a.mu.Lock()
		a.groups[group] = g
		a.mu.Unlock()
	}
	return slices.Contains(g.members, user)
}
