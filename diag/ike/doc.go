// Package ike reads IKEv1 (ISAKMP) and IKEv2 from packet captures: a gopacket layer for IKE
// messages with an encoder, the NAT-T demultiplexer of UDP 4500, and a one-pass analyzer that
// turns a pcap or pcapng file into the Summary the classifier reads (exchanges, retransmissions,
// notifies, IKE SA life, NAT-T, fragments, ESP flows, ICMP errors, pings).
//
// What is encrypted stays encrypted: an IKEv2 SK payload or an IKEv1 message with the E flag is
// reported as such, never guessed at. Counts follow tshark: ike_messages is what its isakmp
// filter matches (including IKE quoted in ICMP errors), esp_packets what its esp filter matches.
// Memory stays flat however large the capture: records are read in place, and the lists in the
// Summary are capped (with counts of what was left out).
package ike
