// Package syslog receives the Edges' remote syslog (the procedure's prerequisite: the Edge
// sends its IPsec logs to a syslog server) on UDP and TCP, RFC 3164 and RFC 5424, TCP framed
// by octet counting or a trailing newline (RFC 6587). It keeps a bounded rolling log per edge
// beside the store, says whether that log covers a time range (a diagnosis then reads it
// instead of the tech support bundle), and reports charon/pluto lines that mark a drop as they
// arrive. Senders are mapped to edges by the configured addresses; anything else, and anything
// malformed, oversize or hostile, is dropped and counted, never kept.
package syslog
