package nsx

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The Parse functions decode one document each. They check the root element, turn an <error>
// document into an *APIError (some proxies answer 200 with one), and report anything else
// that is not the expected XML as a *DecodeError (errors.Is(err, ErrMalformed)).

// ParseStatistics reads an ipsec/statistics document (<ipsecStatusAndStats>), as `bot analyze
// --stats F` gives it. Plain documents (what NSX writes) take a decoder of their own, several
// times cheaper than encoding/xml's (statsxml.go); the rest go through encoding/xml.
// Messages found outside the typed elements are kept in Nested.
func ParseStatistics(r io.Reader) (*Statistics, error) {
	doc, err := readCapped(r, maxBodyBytes)
	if err != nil {
		return nil, &DecodeError{Doc: "ipsecStatusAndStats", Err: err}
	}
	s, ok := decodeStatisticsFast(doc)
	if !ok {
		if s, err = decodeStatisticsXML(doc); err != nil {
			return nil, err
		}
	}
	s.nested = &lazyNested{doc: doc}
	return s, nil
}

// decodeStatisticsXML decodes doc with encoding/xml: the reference decodeStatisticsFast must
// agree with, and the decoder of every document outside its subset.
func decodeStatisticsXML(doc []byte) (*Statistics, error) {
	var s Statistics
	if err := decodeDoc(bytes.NewReader(doc), "ipsecStatusAndStats", &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// ParseIPsecConfig reads an ipsec/config document (<ipsec>).
func ParseIPsecConfig(r io.Reader) (*IPsecConfig, error) {
	return parseDoc[IPsecConfig](r, "ipsec")
}

// ParseFirewallConfig reads a firewall/config document (<firewall>).
func ParseFirewallConfig(r io.Reader) (*FirewallConfig, error) {
	return parseDoc[FirewallConfig](r, "firewall")
}

// ParseSyslogConfig reads a syslog/config document (<syslog>).
func ParseSyslogConfig(r io.Reader) (*SyslogConfig, error) {
	return parseDoc[SyslogConfig](r, "syslog")
}

// ParseEdgeList reads one page of GET /api/4.0/edges (<pagedEdgeList>).
func ParseEdgeList(r io.Reader) (*PagedEdgeList, error) {
	return parseDoc[PagedEdgeList](r, "pagedEdgeList")
}

// ParseHealthSummary reads an edge's healthsummary document (<edgeHealthSummary>).
func ParseHealthSummary(r io.Reader) (*EdgeHealthSummary, error) {
	return parseDoc[EdgeHealthSummary](r, "edgeHealthSummary")
}

// ParseEdgeStatus reads an edge's status document (<edgeStatus>).
func ParseEdgeStatus(r io.Reader) (*EdgeStatus, error) {
	return parseDoc[EdgeStatus](r, "edgeStatus")
}

// parseDoc decodes one document whose root element is root.
func parseDoc[T any](r io.Reader, root string) (*T, error) {
	var v T
	if err := decodeDoc(r, root, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// ParseAPIError reads an error body: <error> or <errors> (several are joined with "; ";
// the first one's code and module are kept). It returns an *APIError without status.
func ParseAPIError(body []byte) (*APIError, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, decodeErr("error", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		return decodeErrorElement(d, se)
	}
}

func decodeErrorElement(d *xml.Decoder, se xml.StartElement) (*APIError, error) {
	var bodies []APIErrorBody
	switch se.Name.Local {
	case "error":
		var b APIErrorBody
		if err := d.DecodeElement(&b, &se); err != nil {
			return nil, decodeErr("error", err)
		}
		bodies = append(bodies, b)
	case "errors":
		var l apiErrorList
		if err := d.DecodeElement(&l, &se); err != nil {
			return nil, decodeErr("errors", err)
		}
		bodies = l.Errors
	default:
		return nil, &DecodeError{Doc: "error", Err: fmt.Errorf("root element is <%s>", se.Name.Local)}
	}
	if len(bodies) == 0 {
		return nil, &DecodeError{Doc: "errors", Err: errors.New("no <error> element")}
	}
	e := &APIError{Code: bodies[0].ErrorCode, Module: strings.TrimSpace(bodies[0].ModuleName)}
	var details []string
	for _, b := range bodies {
		if t := strings.TrimSpace(b.Details); t != "" {
			details = append(details, t)
		}
	}
	e.Details = strings.Join(details, "; ")
	return e, nil
}

// decodeDoc decodes the single document of r into v, whose root element must be root.
func decodeDoc(r io.Reader, root string, v any) error {
	d := xml.NewDecoder(r)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return &DecodeError{Doc: root, Err: errors.New("empty document")}
		}
		if err != nil {
			return decodeErr(root, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue // prolog, comments, whitespace
		}
		switch {
		case se.Name.Local == root:
			if err := d.DecodeElement(v, &se); err != nil {
				return decodeErr(root, err)
			}
			return nil
		case se.Name.Local == "error" || se.Name.Local == "errors":
			apiErr, err := decodeErrorElement(d, se)
			if err != nil {
				return err
			}
			return apiErr
		default:
			return &DecodeError{Doc: root, Err: fmt.Errorf("root element is <%s>", se.Name.Local)}
		}
	}
}

func decodeErr(root string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = errors.New("document ends early")
	}
	return &DecodeError{Doc: root, Err: err}
}

// ParsePeerConfig reads the text template of GET .../peerconfig?templateId=text:
// "# key : value" header lines, "# Phase 1"-style section lines and "key : value" lines.
// Keys are matched case-insensitively; lines it does not map go to Other. A line that is
// neither a comment nor "key : value", or a number that does not parse, is an error with its line.
func ParsePeerConfig(r io.Reader) (*PeerConfig, error) {
	pc := &PeerConfig{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	section, n, fields := "", 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == "" {
			continue
		}
		comment := strings.HasPrefix(line, "#")
		body := strings.TrimSpace(strings.TrimLeft(line, "#"))
		key, value, ok := strings.Cut(body, ":")
		if !ok {
			if !comment {
				return nil, fmt.Errorf("peerconfig line %d: want \"key : value\", have %q", n, line)
			}
			section = strings.ToLower(body) // "phase 1", "phase 2", "ipsec dead peer detection (dpd) settings"
			continue
		}
		key, value = strings.ToLower(strings.Join(strings.Fields(key), " ")), strings.TrimSpace(value)
		if err := pc.set(section, key, value); err != nil {
			return nil, fmt.Errorf("peerconfig line %d: %s: %w", n, key, err)
		}
		fields++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("peerconfig: %w", err)
	}
	if fields == 0 {
		return nil, &DecodeError{Doc: "peerconfig", Err: errors.New("no \"key : value\" line")}
	}
	return pc, nil
}

// set maps one key to its field. Phase 1 and phase 2 share key names ("SA life time"), so the
// section decides.
func (pc *PeerConfig) set(section, key, value string) (err error) {
	phase2 := strings.Contains(section, "phase 2")
	switch {
	case key == "ipsec site id":
		pc.SiteID = value
	case key == "ipsec site name":
		pc.SiteName = value
	case key == "ipsec site vpn type":
		pc.VPNType = value
	case key == "nsx edge id":
		pc.EdgeID = value
	case key == "connection initiation mode":
		pc.Phase1.InitiationMode = value
	case key == "ike version":
		pc.Phase1.IKEVersion = value
	case key == "authentication method":
		pc.Phase1.AuthMethod = value
	case key == "authentication algorithm":
		pc.Phase1.AuthAlgorithm = value
	case key == "encryption algorithm":
		pc.Phase1.EncryptionAlgorithm = value
	case key == "phase 1 negotiation mode":
		pc.Phase1.NegotiationMode = value
	case key == "dh group":
		pc.Phase1.DHGroup = value
	case key == "sa life time" && !phase2:
		pc.Phase1.SALifetime, err = parseSeconds(value)
	case key == "sa life time" && phase2:
		pc.Phase2.SALifetime, err = parseSeconds(value)
	case key == "protocol":
		pc.Phase2.Protocol = value
	case key == "encapsulation mode":
		pc.Phase2.EncapsulationMode = value
	case key == "enable perfect forward secrecy":
		pc.Phase2.PFS, err = strconv.ParseBool(value)
	case key == "perfect forward secrecy dh group":
		pc.Phase2.PFSDHGroup = value
	case key == "dpd enabled":
		pc.DPD.Enabled, err = strconv.ParseBool(value)
	case key == "dpd interval":
		pc.DPD.Interval, err = parseSeconds(value)
	case key == "dpd timeout":
		pc.DPD.Timeout, err = parseSeconds(value)
	case key == "tunnel interface mtu":
		pc.TunnelMTU, err = strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(value, "bytes")))
	case strings.Contains(key, "pre-shared") || strings.Contains(key, "psk") || strings.Contains(key, "secret"):
		pc.PSK = Secret(value)
	default:
		if pc.Other == nil {
			pc.Other = map[string]string{}
		}
		pc.Other[key] = value
	}
	return err
}

// parseSeconds reads "28800 seconds" (or a bare number of seconds).
func parseSeconds(v string) (time.Duration, error) {
	f := strings.Fields(v)
	if len(f) == 0 || len(f) > 2 || (len(f) == 2 && !strings.HasPrefix(strings.ToLower(f[1]), "sec")) {
		return 0, fmt.Errorf("want \"N seconds\", have %q", v)
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 || n > 1<<31 {
		return 0, fmt.Errorf("want \"N seconds\", have %q", v)
	}
	return time.Duration(n) * time.Second, nil
}
