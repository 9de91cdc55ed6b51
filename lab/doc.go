// Package lab is a simulated NSX world on loopback: an NSX Manager over HTTPS (lab/nsxsim),
// an Edge's CLI over SSH (lab/edgesim) and a strongSwan peer over SSH (lab/peersim), all
// staging one failure scenario whose content comes from real strongSwan captures and logs
// (testdata/fixtures) rewritten to the lab's addresses. `bot lab` runs it standalone,
// `bot demo` and the tests of every client run it in-process.
package lab
