// Package watch is the tunnel watcher: it sweeps every edge's IPsec statistics on a schedule,
// keeps a compact history of each tunnel in the store, catches drops between sweeps (a new SA
// without a rekey), and runs each tunnel through a state machine with hold timers:
//
//	up        the tunnel reads up (or has been down for less than DownAfter)
//	down      read down for at least DownAfter
//	unstable  at least Flaps drops within FlapWindow; cleared only after ClearAfter of stable up
//	unknown   the edge's API fails (the timers above are kept and go on when it answers)
//
// State changes go to a Notifier (the terminal today; Slack alerts and automatic diagnosis
// later). Timers live in the store, so a restart resumes them.
package watch
