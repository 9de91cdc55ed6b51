package nsx

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// The watcher parses every edge's statistics document on each sweep, and encoding/xml's
// reflection decoder was most of its CPU. decodeStatisticsFast decodes the plain XML NSX writes
// (an optional <?xml?> declaration, elements without attributes or prefixes, text with the
// five predefined entities, comments) straight into Statistics. Anything else (CDATA,
// attributes, namespaces, character references, \r, a malformed or early-ended document, a
// root other than <ipsecStatusAndStats>) makes it give up, and ParseStatistics decodes with
// encoding/xml, which keeps the last word on errors. On what it accepts it must give what
// encoding/xml's Unmarshal gives: the same fields, the same merge of a repeated element, the
// same text (an element's own character data, its children's skipped).

// decodeStatisticsFast returns false when doc is outside the subset it reads.
func decodeStatisticsFast(doc []byte) (*Statistics, bool) {
	sc := scanner{doc: doc}
	if !sc.prolog("ipsecStatusAndStats") {
		return nil, false
	}
	s := &Statistics{XMLName: xml.Name{Local: "ipsecStatusAndStats"}}
	if !sc.statistics(s) {
		return nil, false
	}
	return s, true
}

// scanner reads the subset token by token. The open element names are kept so that a
// mismatched end tag gives up, as encoding/xml refuses it.
type scanner struct {
	doc        []byte
	pos        int
	open       [][]byte // names of the open elements, outermost first
	selfClosed bool     // the last start tag was <name/>: the next token is its end
	text       []byte   // an entity-decoded text run
	acc        []byte   // an element's text, gathered by elementText
}

const (
	tokStart = iota
	tokEnd
	tokText
)

// xmlDecls are the XML declarations the subset takes: encoding/xml accepts them without a
// CharsetReader.
var xmlDecls = [][]byte{
	[]byte(`<?xml version="1.0" encoding="UTF-8"?>`),
	[]byte(`<?xml version="1.0" encoding="utf-8"?>`),
	[]byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`),
	[]byte(`<?xml version="1.0"?>`),
}

// prolog reads up to and including the root's start tag, which must be root.
func (sc *scanner) prolog(root string) bool {
	sc.skipSpace()
	for _, d := range xmlDecls {
		if bytes.HasPrefix(sc.doc[sc.pos:], d) {
			sc.pos += len(d)
			break
		}
	}
	for {
		sc.skipSpace()
		if !bytes.HasPrefix(sc.doc[sc.pos:], commentOpen) {
			break
		}
		if !sc.comment() {
			return false
		}
	}
	kind, name, ok := sc.next()
	return ok && kind == tokStart && string(name) == root
}

func (sc *scanner) skipSpace() {
	for sc.pos < len(sc.doc) {
		switch sc.doc[sc.pos] {
		case ' ', '\t', '\n', '\r':
			sc.pos++
		default:
			return
		}
	}
}

// next returns the next token: a start or end tag's name, or a text run (entities decoded).
// ok is false where the subset ends.
func (sc *scanner) next() (kind int, data []byte, ok bool) {
	if sc.selfClosed {
		sc.selfClosed = false
		name := sc.open[len(sc.open)-1]
		sc.open = sc.open[:len(sc.open)-1]
		return tokEnd, name, true
	}
	for bytes.HasPrefix(sc.doc[sc.pos:], commentOpen) {
		if !sc.comment() {
			return 0, nil, false
		}
	}
	if sc.pos >= len(sc.doc) {
		return 0, nil, false
	}
	if sc.doc[sc.pos] != '<' {
		data, ok = sc.textRun()
		return tokText, data, ok
	}
	sc.pos++
	if sc.pos < len(sc.doc) && sc.doc[sc.pos] == '/' {
		sc.pos++
		name, ok := sc.name()
		if !ok || !sc.expect('>') || len(sc.open) == 0 || !bytes.Equal(name, sc.open[len(sc.open)-1]) {
			return 0, nil, false
		}
		sc.open = sc.open[:len(sc.open)-1]
		return tokEnd, name, true
	}
	name, ok := sc.name()
	if !ok {
		return 0, nil, false
	}
	sc.skipSpace()
	if sc.pos+1 < len(sc.doc) && sc.doc[sc.pos] == '/' && sc.doc[sc.pos+1] == '>' {
		sc.pos += 2
		sc.selfClosed = true
	} else if !sc.expect('>') {
		return 0, nil, false // attributes, or the document ends
	}
	sc.open = append(sc.open, name)
	return tokStart, name, true
}

var commentOpen = []byte("<!--")

// comment skips a comment, which encoding/xml ends at the first "--", to be followed by '>'.
func (sc *scanner) comment() bool {
	body := sc.pos + len(commentOpen)
	end := bytes.Index(sc.doc[body:], []byte("--"))
	if end < 0 || body+end+2 >= len(sc.doc) || sc.doc[body+end+2] != '>' {
		return false
	}
	sc.pos = body + end + 3
	return true
}

// expect skips space and reads c.
func (sc *scanner) expect(c byte) bool {
	sc.skipSpace()
	if sc.pos < len(sc.doc) && sc.doc[sc.pos] == c {
		sc.pos++
		return true
	}
	return false
}

// name reads an ASCII element name without a prefix.
func (sc *scanner) name() ([]byte, bool) {
	start := sc.pos
	for sc.pos < len(sc.doc) {
		c := sc.doc[sc.pos]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' ||
			sc.pos > start && ('0' <= c && c <= '9' || c == '.' || c == '-') {
			sc.pos++
			continue
		}
		if c == ':' || c >= utf8.RuneSelf {
			return nil, false // a prefix, or a name encoding/xml checks rune by rune
		}
		break
	}
	return sc.doc[start:sc.pos], sc.pos > start
}

// entities are XML's predefined entities, the only ones the subset decodes.
var entities = map[string]byte{"lt": '<', "gt": '>', "amp": '&', "apos": '\'', "quot": '"'}

// textRun reads character data up to the next '<'. It gives up on what encoding/xml would
// rewrite or refuse: \r, control characters, "]]", invalid UTF-8 or a character outside
// XML's range, and any entity but the predefined five.
func (sc *scanner) textRun() ([]byte, bool) {
	start, decoded, wide := sc.pos, false, false
	for sc.pos < len(sc.doc) {
		c := sc.doc[sc.pos]
		switch {
		case c == '<':
			return sc.run(start, decoded, wide)
		case c == '&':
			end := bytes.IndexByte(sc.doc[sc.pos:], ';')
			if end < 0 {
				return nil, false
			}
			r, ok := entities[string(sc.doc[sc.pos+1:sc.pos+end])]
			if !ok {
				return nil, false
			}
			if !decoded {
				sc.text = append(sc.text[:0], sc.doc[start:sc.pos]...)
				decoded = true
			}
			sc.text = append(sc.text, r)
			sc.pos += end + 1
			continue
		case c == ']':
			if sc.pos+1 < len(sc.doc) && sc.doc[sc.pos+1] == ']' {
				return nil, false
			}
		case c >= utf8.RuneSelf:
			wide = true
		case c < 0x20 && c != '\t' && c != '\n':
			return nil, false
		}
		if decoded {
			sc.text = append(sc.text, c)
		}
		sc.pos++
	}
	return nil, false // the document ends inside its root
}

func (sc *scanner) run(start int, decoded, wide bool) ([]byte, bool) {
	raw := sc.doc[start:sc.pos]
	if wide && !xmlChars(raw) {
		return nil, false
	}
	if decoded {
		return sc.text, true
	}
	return raw, true
}

// xmlChars reports whether b is valid UTF-8 of characters XML allows.
func xmlChars(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			return false
		}
		b = b[size:]
		if !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
			r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
	}
	return true
}

// children reads the element just opened through its end tag, handing each child's start
// tag to child, which must read that child through its end tag.
func (sc *scanner) children(child func(name []byte) bool) bool {
	for {
		kind, name, ok := sc.next()
		switch {
		case !ok:
			return false
		case kind == tokStart:
			if !child(name) {
				return false
			}
		case kind == tokEnd:
			return true
		}
	}
}

// skip reads the element just opened through its end tag.
func (sc *scanner) skip() bool {
	for depth := 1; depth > 0; {
		kind, _, ok := sc.next()
		if !ok {
			return false
		}
		switch kind {
		case tokStart:
			depth++
		case tokEnd:
			depth--
		}
	}
	return true
}

// elementText reads the element just opened through its end tag and returns its own
// character data, as encoding/xml gives a string or a TextUnmarshaler.
func (sc *scanner) elementText() ([]byte, bool) {
	sc.acc = sc.acc[:0]
	for {
		kind, data, ok := sc.next()
		switch {
		case !ok:
			return nil, false
		case kind == tokText:
			sc.acc = append(sc.acc, data...)
		case kind == tokStart:
			if !sc.skip() {
				return nil, false
			}
		default:
			return sc.acc, true
		}
	}
}

// scalars maps the element names of a struct's string and Counter fields to their indexes.
type scalars map[string]scalarField

type scalarField struct {
	index   int
	counter bool
}

// scalarFields reads t's xml tags. Every other element field must be among composite, which
// the decoder reads by hand: a new kind of field panics here rather than decode wrong.
func scalarFields(t reflect.Type, composite ...string) scalars {
	m := scalars{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("xml"), ",")
		switch {
		case name == "" || name == "-" || f.Name == "XMLName" || !f.IsExported():
		case f.Type == reflect.TypeFor[Counter]():
			m[name] = scalarField{index: i, counter: true}
		case f.Type.Kind() == reflect.String:
			m[name] = scalarField{index: i}
		default:
			root, _, _ := strings.Cut(name, ">")
			if !contains(composite, root) {
				panic(fmt.Sprintf("nsx: the statistics decoder does not read %s.%s", t.Name(), f.Name))
			}
		}
	}
	return m
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var (
	statisticsFields = scalarFields(reflect.TypeFor[Statistics](), "siteStatistics", "globalPacketDropStatistics", "ikeStatistics")
	siteFields       = scalarFields(reflect.TypeFor[SiteStatistics](), "ikeStatus", "tunnelStats", "virtualTunnelInterfaceStats")
	ikeStatusFields  = scalarFields(reflect.TypeFor[IKEStatus](), "localSubnets", "peerSubnets")
	tunnelFields     = scalarFields(reflect.TypeFor[TunnelStats]())
	vtiFields        = scalarFields(reflect.TypeFor[VTIStats]())
	dropFields       = scalarFields(reflect.TypeFor[PacketDropStatistics]())
	ikeCounterFields = scalarFields(reflect.TypeFor[IKECounters]())
)

// scalar reads the child element name of the struct v into its field, or skips it.
func (sc *scanner) scalar(v reflect.Value, fields scalars, name []byte) bool {
	f, ok := fields[string(name)]
	if !ok {
		return sc.skip()
	}
	text, ok := sc.elementText()
	if !ok {
		return false
	}
	if f.counter {
		v.Field(f.index).SetUint(uint64(parseCounter(text)))
	} else {
		v.Field(f.index).SetString(string(text))
	}
	return true
}

// scalarStruct reads the element just opened into v, a struct of scalar fields only.
func (sc *scanner) scalarStruct(v reflect.Value, fields scalars) bool {
	return sc.children(func(name []byte) bool { return sc.scalar(v, fields, name) })
}

// list reads a wrapper element (<localSubnets>) whose item children each add to *dst;
// encoding/xml's "wrapper>item" tags read the same way.
func (sc *scanner) list(item string, add func() bool) bool {
	return sc.children(func(name []byte) bool {
		if string(name) != item {
			return sc.skip()
		}
		return add()
	})
}

func (sc *scanner) statistics(s *Statistics) bool {
	v := reflect.ValueOf(s).Elem()
	return sc.children(func(name []byte) bool {
		switch string(name) {
		case "siteStatistics":
			s.Sites = append(s.Sites, SiteStatistics{})
			return sc.site(&s.Sites[len(s.Sites)-1])
		case "globalPacketDropStatistics":
			if s.GlobalDrops == nil {
				s.GlobalDrops = new(PacketDropStatistics)
			}
			return sc.scalarStruct(reflect.ValueOf(s.GlobalDrops).Elem(), dropFields)
		case "ikeStatistics":
			return sc.list("ikeStatistics", func() bool {
				s.IKEStatistics = append(s.IKEStatistics, IKECounters{})
				return sc.scalarStruct(reflect.ValueOf(&s.IKEStatistics[len(s.IKEStatistics)-1]).Elem(), ikeCounterFields)
			})
		}
		return sc.scalar(v, statisticsFields, name)
	})
}

func (sc *scanner) site(site *SiteStatistics) bool {
	v := reflect.ValueOf(site).Elem()
	return sc.children(func(name []byte) bool {
		switch string(name) {
		case "ikeStatus":
			if site.IKEStatus == nil {
				site.IKEStatus = new(IKEStatus)
			}
			return sc.ikeStatus(site.IKEStatus)
		case "tunnelStats":
			site.Tunnels = append(site.Tunnels, TunnelStats{})
			return sc.scalarStruct(reflect.ValueOf(&site.Tunnels[len(site.Tunnels)-1]).Elem(), tunnelFields)
		case "virtualTunnelInterfaceStats":
			site.VTIs = append(site.VTIs, VTIStats{})
			return sc.scalarStruct(reflect.ValueOf(&site.VTIs[len(site.VTIs)-1]).Elem(), vtiFields)
		}
		return sc.scalar(v, siteFields, name)
	})
}

func (sc *scanner) ikeStatus(ike *IKEStatus) bool {
	v := reflect.ValueOf(ike).Elem()
	subnets := func(dst *[]string) bool {
		return sc.list("string", func() bool {
			text, ok := sc.elementText()
			*dst = append(*dst, string(text))
			return ok
		})
	}
	return sc.children(func(name []byte) bool {
		switch string(name) {
		case "localSubnets":
			return subnets(&ike.LocalSubnets)
		case "peerSubnets":
			return subnets(&ike.PeerSubnets)
		}
		return sc.scalar(v, ikeStatusFields, name)
	})
}

// parseCounter is Counter.UnmarshalText without its allocation: a base-10 uint64 between
// optional space, else 0.
func parseCounter(b []byte) Counter {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0 // overflow: ParseUint fails
		}
		n = n*10 + d
	}
	return Counter(n)
}
