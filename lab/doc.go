// Package lab is a simulated NSX world on loopback: an NSX Manager over HTTPS (lab/nsxsim),
// an Edge's CLI over SSH (lab/edgesim) and a strongSwan peer over SSH (lab/peersim), the two
// sharing one SSH server core (lab/sshserver), all staging one failure scenario. `bot lab` runs it standalone; `bot demo` and the tests of
// every client run it in-process with Start.
//
// A scenario's content comes from a real strongSwan fixture (testdata/fixtures, copied from
// the lab runs: edgeA played the Edge, peerB the third-party gateway), rewritten from the
// fixtures' 192.0.2.1/192.0.2.2 to the lab's EdgeUplinkIP and PeerIP:
//   - the Edge's `show log` and tech support bundle: edgeA's charon log in the Edge's
//     year-less syslog form ("Nov 27 04:18:39 edge-01-0 charon: 15[IKE] <s2s|1> ...");
//   - the peer's log (`cat /var/log/charon.log`), `swanctl --list-conns` (rendered from
//     peerB's swanctl.conf) and `swanctl --list-sas` (peerB's own, or edgeA's mirrored);
//   - the capture the Edge hands out: edgeA's WAN capture;
//   - channel and tunnel state (statistics, `show service ipsec[ sa| sp]`): edgeA's SAs at
//     the end of the run, with the procedure's failure message only where its table has a
//     row for the cause (see failureMessage);
//   - ipsec/config and peerconfig: edgeA's swanctl.conf in NSX's terms.
//
// The `unknown` scenario has no fixture and is synthesized (see unknownContent).
package lab
