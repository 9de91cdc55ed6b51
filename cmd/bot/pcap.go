package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"ipsecbot/diag"
	"ipsecbot/diag/ike"
)

// runPcap is `bot pcap decode FILE --json` and `bot pcap summary FILE [--json]`.
// A capture cut short still gets its output (what was read), then exits 1 with one line.
func runPcap(_ context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("want 'decode FILE --json' or 'summary FILE [--json]'")
	}
	sub := args[0]
	if sub == "-h" || sub == "-help" || sub == "--help" {
		// The flags belong to the subcommands; show them with the shared help.
		fs := newFlags("pcap", e)
		fs.Bool("json", false, "print JSON")
		_, err := parseFlags(fs, []string{"--help"})
		return err
	}
	if sub != "decode" && sub != "summary" {
		return usagef("unknown pcap subcommand %q (decode or summary)", sub)
	}
	fs := newFlags("pcap "+sub, e)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("pcap %s takes one capture file", sub)
	}
	file := pos[0]
	if fi, err := os.Stat(file); err != nil {
		return err
	} else if fi.IsDir() {
		return fmt.Errorf("%s is a directory, not a capture file", file)
	}
	switch sub {
	case "decode":
		msgs, err := ike.DecodeFile(file)
		if msgs == nil {
			return fileErr(err)
		}
		if *asJSON {
			if werr := writeJSONArray(e.stdout, msgs); werr != nil {
				return werr
			}
		} else {
			printMessages(e.stdout, msgs)
		}
		return fileErr(err)
	default: // summary
		s, err := ike.AnalyzeFile(file)
		if s == nil {
			return fileErr(err)
		}
		if *asJSON {
			if werr := writeJSON(e.stdout, s); werr != nil {
				return werr
			}
		} else {
			printSummary(e.stdout, s)
		}
		return fileErr(err)
	}
}

// fileErr keeps an error to one line that says what went wrong with the file.
func fileErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ike.ErrTruncated):
		return fmt.Errorf("%v (the output covers what was read before)", err)
	}
	return err
}

// writeJSONArray writes a JSON array an element at a time, so a capture with many messages
// never needs its whole document in memory.
func writeJSONArray[T any](w io.Writer, items []T) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for i, it := range items {
		b, err := json.MarshalIndent(it, "  ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n  ")
		bw.Write(b)
	}
	if len(items) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// writeJSON writes v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printMessages is one line per IKE message, in the manner of tshark's summary line.
func printMessages(w io.Writer, msgs []ike.MessageInfo) {
	for _, m := range msgs {
		dir := "request"
		if m.Response {
			dir = "response"
		}
		if m.Version == 1 {
			dir = ""
		}
		var notes []string
		for _, n := range m.Notify {
			notes = append(notes, n.Name)
		}
		extra := ""
		if m.InICMP {
			extra += " (quoted in ICMP error)"
		}
		if m.Error != "" {
			extra += " error: " + m.Error
		}
		fmt.Fprintf(w, "%5d %s %s -> %s IKEv%d %s MID=%d %s [%s]%s%s\n", m.Frame, diag.FormatTimeMicro(m.Time), m.Src, m.Dst,
			m.Version, m.Exchange, m.MessageID, dir, strings.Join(m.Payloads, " "), notifyText(notes), extra)
	}
}

func notifyText(n []string) string {
	if len(n) == 0 {
		return ""
	}
	return " N(" + strings.Join(n, ",") + ")"
}

// printSummary is the readable table of `bot pcap summary`.
func printSummary(w io.Writer, s *ike.Summary) {
	fmt.Fprintf(w, "%s: %d packets, %d IKE messages, %d ESP packets", s.File, s.Packets, s.IKEMessages, s.ESPPackets)
	if !s.First.IsZero() {
		fmt.Fprintf(w, ", %s to %s", diag.FormatTimeMicro(s.First), diag.FormatTimeMicro(s.Last))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(s.Exchanges) > 0 {
		fmt.Fprintln(tw, "\nEXCHANGE\tMID\tINITIATOR\tRESPONDER\tREQ FRAME\tRESP FRAME\tRETRANS\tNOTIFY")
		for _, x := range s.Exchanges {
			resp := "NONE"
			if x.Answered {
				resp = fmt.Sprint(x.ResponseFrame)
			} else if x.OneWay {
				resp = "(one-way)"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%d\t%s\n", x.Exchange, x.MessageID, x.Initiator, x.Responder, x.RequestFrame, resp,
				x.Retransmissions, strings.Join(x.Notify, ","))
		}
		if s.ExchangesOmitted > 0 {
			fmt.Fprintf(tw, "(%d more exchanges not listed)\n", s.ExchangesOmitted)
		}
	}
	if len(s.IKESAs) > 0 {
		fmt.Fprintln(tw, "\nIKE SA\tVERSION\tINITIATOR\tRESPONDER\tESTABLISHED\tREKEYS\tFAILED REKEYS\tDPD (UNANSWERED)\tDELETED")
		for _, sa := range s.IKESAs {
			fmt.Fprintf(tw, "%s\tv%d\t%s\t%s\t%t\t%d\t%d\t%d (%d)\t%t\n", sa.ISPI, sa.Version, sa.Initiator, sa.Responder, sa.Established,
				sa.Rekeys, sa.FailedRekeys, sa.DPDRequests, sa.DPDUnanswered, sa.Deleted)
		}
	}
	if len(s.ESPFlows) > 0 {
		fmt.Fprintln(tw, "\nESP SPI\tSRC\tDST\tUDP\tPACKETS\tBYTES\tSEQ\tLOST\tONE-WAY")
		for _, f := range s.ESPFlows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%d\t%d\t%d-%d\t%d\t%t\n", f.SPI, f.Src, f.Dst, f.UDPEncap, f.Packets, f.Bytes, f.FirstSeq, f.LastSeq, f.Lost, f.OneWay)
		}
	}
	if len(s.Notifies) > 0 {
		fmt.Fprintln(tw, "\nFRAME\tNOTIFY\tTYPE\tEXCHANGE\tFROM")
		for _, n := range s.Notifies {
			kind := ""
			if n.Error {
				kind = " (error)"
			}
			fmt.Fprintf(tw, "%d\t%s%s\t%d\t%s\t%s\n", n.Frame, n.Name, kind, n.Type, n.Exchange, n.Src)
		}
	}
	if len(s.ICMPErrors) > 0 {
		fmt.Fprintln(tw, "\nICMP ERROR\tFROM\tTO\tABOUT\tCOUNT\tFIRST FRAME")
		for _, x := range s.ICMPErrors {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", x.Name, x.From, x.To, x.Quoted, x.Count, x.FirstFrame)
		}
	}
	if len(s.Pings) > 0 {
		fmt.Fprintln(tw, "\nPING\tTO\tREQUESTS\tREPLIES\tMAX SIZE\tMAX ANSWERED\tDF UNANSWERED")
		for _, p := range s.Pings {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", p.Src, p.Dst, p.Requests, p.Replies, p.MaxSize, p.MaxAnswered, p.DFUnanswered)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nNAT-T: detection payloads %t, floated to 4500 %t", s.NATT.NATDetectionPayloads, s.NATT.FloatedTo4500)
	if s.NATT.FloatedTo4500 {
		fmt.Fprintf(w, " (frame %d)", s.NATT.FloatFrame)
	}
	fmt.Fprintf(w, ", keepalives %d\n", s.NATT.Keepalives)
	fr := s.Fragments
	fmt.Fprintf(w, "Fragments: IP %d, ICMP fragmentation needed %d, IKE fragments %d (IKE fragmentation supported %t)\n",
		fr.IPFragments, fr.ICMPFragNeeded, fr.IKEFragments, fr.IKEFragSupported)
	if s.MalformedIKE > 0 {
		fmt.Fprintf(w, "Malformed IKE messages: %d (first: %s)\n", s.MalformedIKE, s.FirstMalformed)
	}
}
