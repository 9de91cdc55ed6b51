// Package logscan finds the lines of IPsec logs that say something about a tunnel, in one pass
// over plain, gzipped or tar.gz (tech support bundle) files of any size.
//
//   - What it looks for is a table of patterns (patterns.go), each a POSIX ERE naming an Event.
//     Patterns() prints exactly that set, so `grep -c -E -f` with it counts the same lines as
//     Stats.MatchedLines.
//   - Every pattern carries a literal that all its matches contain; a multi-string search for
//     the literals of the patterns that apply to the file's dialects (prefilter.go) skips most
//     bytes and reports each line holding one with the literals it holds. A regular expression
//     only runs on such a line, and only when it also holds the other literals its ERE
//     requires. A line is reported once, with the first matching pattern.
//   - Input is cut into chunks at line ends and matched on several cores; the results are put
//     back in line order. Memory is a few chunks plus a capped number of hits per pattern.
//   - Lines longer than a chunk, NUL bytes and invalid UTF-8 are tolerated; compressed input
//     has a size cap; a truncated file yields what was read and an error.
//
// References are PATH:LINE, or bundle.tgz!member/path:LINE inside a bundle. ParseLine reads the
// time, host and program of the syslog, charon, pluto and SonicWall line forms.
package logscan
