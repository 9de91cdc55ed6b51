package nsx_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"ipsecbot/diag/nsx"
)

// sameAsXML fails unless ParseStatistics and its own decoder agree with encoding/xml on doc:
// equal documents, or errors with the same message. It reports whether the own decoder took
// doc (rather than handing it to encoding/xml).
func sameAsXML(t testing.TB, doc []byte) (fast bool) {
	t.Helper()
	want, wantErr := nsx.DecodeStatisticsXML(doc)
	got, fast := nsx.DecodeStatisticsFast(doc)
	if fast && wantErr != nil {
		t.Fatalf("own decoder accepts what encoding/xml refuses (%v):\n%q", wantErr, doc)
	}
	if fast && !reflect.DeepEqual(got, want) {
		t.Fatalf("decoders differ on\n%q\nown: %+v\nxml: %+v", doc, got, want)
	}
	parsed, err := nsx.ParseStatistics(bytes.NewReader(doc))
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("ParseStatistics error %v, encoding/xml %v on\n%q", err, wantErr, doc)
	case err != nil && err.Error() != wantErr.Error():
		t.Fatalf("ParseStatistics error %q, encoding/xml %q", err, wantErr)
	case err == nil && !reflect.DeepEqual(plain(parsed), want):
		t.Fatalf("ParseStatistics differs from encoding/xml on\n%q\n%+v\n%+v", doc, parsed, want)
	}
	return fast
}

// plain is s without the lazy nested-message state, which only ParseStatistics adds.
func plain(s *nsx.Statistics) *nsx.Statistics {
	c := &nsx.Statistics{XMLName: s.XMLName, ServerStatus: s.ServerStatus, Sites: s.Sites, TimeStamp: s.TimeStamp,
		GlobalDrops: s.GlobalDrops, IKEStatistics: s.IKEStatistics, Nested: s.Nested}
	return c
}

// statisticsDocs gathers every statistics document of the repository: testdata files and the
// examples in docs/.
func statisticsDocs(t *testing.T) map[string][]byte {
	t.Helper()
	docs := map[string][]byte{}
	span := regexp.MustCompile(`(?s)<ipsecStatusAndStats>.*?</ipsecStatusAndStats>`)
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != "../.." {
				return filepath.SkipDir
			}
			return nil
		}
		// Fuzz corpus files are Go-quoted inputs, not documents NSX wrote.
		inTestdata := strings.Contains(filepath.ToSlash(path), "/testdata/") && !strings.Contains(filepath.ToSlash(path), "/testdata/fuzz/")
		inDocs := strings.HasPrefix(filepath.ToSlash(path), "../../docs/") && strings.HasSuffix(path, ".md")
		if !inTestdata && !inDocs {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(filepath.ToSlash(path), "../../")
		if inTestdata && bytes.Contains(b, []byte("<ipsecStatusAndStats")) {
			docs[name] = b
		}
		if inDocs {
			for i, m := range span.FindAll(b, -1) {
				docs[fmt.Sprintf("%s#%d", name, i+1)] = m
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 5 {
		t.Fatalf("found %d statistics documents, want the testdata and docs ones", len(docs))
	}
	return docs
}

// The repository's statistics documents decode alike both ways, and all of them take the own
// decoder: it exists for what NSX writes.
func TestStatisticsDecodersAgreeOnFixtures(t *testing.T) {
	for name, doc := range statisticsDocs(t) {
		t.Run(name, func(t *testing.T) {
			if !sameAsXML(t, doc) {
				t.Fatal("the own decoder gave up on a plain document")
			}
		})
	}
	for _, size := range []struct{ sites, tunnels int }{{1, 1}, {10, 6}} {
		if !sameAsXML(t, bigStatistics(t, size.sites, size.tunnels)) {
			t.Fatal("the own decoder gave up on an encoded document")
		}
	}
}

// The corners of encoding/xml's Unmarshal the own decoder follows, and the documents it hands
// over. Each case states whether it takes the document.
func TestStatisticsDecodersAgreeOnCorners(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		fast      bool
	}{
		{"empty root", `<ipsecStatusAndStats/>`, true},
		{"self-closed fields", `<ipsecStatusAndStats><serverStatus/><siteStatistics/><timeStamp /></ipsecStatusAndStats>`, true},
		{"repeated string and counter: last wins", `<ipsecStatusAndStats><serverStatus>a</serverStatus><serverStatus>b</serverStatus><timeStamp>1</timeStamp><timeStamp>x</timeStamp></ipsecStatusAndStats>`, true},
		{"repeated ikeStatus merges", `<ipsecStatusAndStats><siteStatistics><ikeStatus><peerId>p</peerId><localSubnets><string>a</string></localSubnets></ikeStatus><ikeStatus><channelState>s</channelState><localSubnets><string>b</string><other>o</other></localSubnets></ikeStatus></siteStatistics></ipsecStatusAndStats>`, true},
		{"empty wrapper stays nil", `<ipsecStatusAndStats><siteStatistics><ikeStatus><peerSubnets></peerSubnets></ikeStatus></siteStatistics></ipsecStatusAndStats>`, true},
		{"text around children", `<ipsecStatusAndStats><serverStatus> u<x>skipped<y/></x>p <!-- c --> </serverStatus><timeStamp>1<b>2</b>3</timeStamp></ipsecStatusAndStats>`, true},
		{"counter corners", `<ipsecStatusAndStats><siteStatistics><rxBytesOnSite> 18446744073709551615 </rxBytesOnSite><txBytesFromSite>18446744073709551616</txBytesFromSite><tunnelStats><packetsIn>+1</packetsIn><packetsOut>-1</packetsOut><replayErrors>1_0</replayErrors><integrityErrors>` + "\u00a07\u2003" + `</integrityErrors><packetSentErrors>0x10</packetSentErrors></tunnelStats></siteStatistics></ipsecStatusAndStats>`, true},
		{"entities", `<ipsecStatusAndStats><siteStatistics><failureMessage>a &lt;b&gt; &amp; &apos;c&quot;</failureMessage></siteStatistics></ipsecStatusAndStats>`, true},
		{"doubly nested ikeStatistics", `<ipsecStatusAndStats><ikeStatistics>t<ikeStatistics><ikeVersion>2</ikeVersion><ikeInInvalid>3</ikeInInvalid></ikeStatistics><x/><ikeStatistics/></ikeStatistics><ikeStatistics><ikeStatistics><ikeVersion>1</ikeVersion></ikeStatistics></ikeStatistics></ipsecStatusAndStats>`, true},
		{"drops merge", `<ipsecStatusAndStats><globalPacketDropStatistics><inNoPols>4</inNoPols></globalPacketDropStatistics><globalPacketDropStatistics><outError>5</outError></globalPacketDropStatistics></ipsecStatusAndStats>`, true},
		{"vti and unknown elements", `<ipsecStatusAndStats><siteStatistics><virtualTunnelInterfaceStats><label>vti-1</label><rxBytes>9</rxBytes><deep><deeper>z</deeper></deep></virtualTunnelInterfaceStats></siteStatistics><unknown><siteStatistics/></unknown></ipsecStatusAndStats>`, true},
		{"non-ASCII text", "<ipsecStatusAndStats><siteStatistics><siteId>sité-☃</siteId></siteStatistics></ipsecStatusAndStats>", true},
		{"trailing content ignored", `<ipsecStatusAndStats/><garbage`, true},
		{"comments and no root", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- a -- b -->", false},
		{"comment before root", "<?xml version=\"1.0\"?>\n<!-- x -->\n<ipsecStatusAndStats><serverStatus>up</serverStatus></ipsecStatusAndStats>", true},
		{"space before the declaration", " \n<?xml version=\"1.0\"?><ipsecStatusAndStats/>", true},
		{"two declarations", `<?xml version="1.0"?><?xml version="1.0"?><ipsecStatusAndStats/>`, false},
		{"byte order mark", "\ufeff<ipsecStatusAndStats/>", false},
		{"text before root", `up<ipsecStatusAndStats/>`, false},
		{"slash space", `<ipsecStatusAndStats><serverStatus / ></ipsecStatusAndStats>`, false},
		{"attributes", `<ipsecStatusAndStats version="1"><serverStatus>up</serverStatus></ipsecStatusAndStats>`, false},
		{"default namespace", `<ipsecStatusAndStats xmlns="urn:x"><serverStatus>up</serverStatus></ipsecStatusAndStats>`, false},
		{"prefixed root", `<n:ipsecStatusAndStats xmlns:n="urn:x"><serverStatus>up</serverStatus></n:ipsecStatusAndStats>`, false},
		{"prefixed field", `<ipsecStatusAndStats><n:serverStatus>up</n:serverStatus></ipsecStatusAndStats>`, false},
		{"CDATA", `<ipsecStatusAndStats><serverStatus><![CDATA[up]]></serverStatus></ipsecStatusAndStats>`, false},
		{"character reference", `<ipsecStatusAndStats><serverStatus>&#117;p</serverStatus></ipsecStatusAndStats>`, false},
		{"carriage return", "<ipsecStatusAndStats><serverStatus>u\r\np</serverStatus></ipsecStatusAndStats>", false},
		{"mismatched end tag", `<ipsecStatusAndStats><serverStatus>up</siteId></ipsecStatusAndStats>`, false},
		{"ends early", `<ipsecStatusAndStats><siteStatistics><siteId>x`, false},
		{"invalid UTF-8", "<ipsecStatusAndStats><serverStatus>\xff</serverStatus></ipsecStatusAndStats>", false},
		{"control character", "<ipsecStatusAndStats><serverStatus>\x01</serverStatus></ipsecStatusAndStats>", false},
		{"]]> in text", `<ipsecStatusAndStats><serverStatus>a]]>b</serverStatus></ipsecStatusAndStats>`, false},
		{"unknown entity", `<ipsecStatusAndStats><serverStatus>&nbsp;</serverStatus></ipsecStatusAndStats>`, false},
		{"wrong root", `<ipsecStatusAndStatistics/>`, false},
		{"API error", `<error><details>denied</details><errorCode>403</errorCode></error>`, false},
		{"empty", ``, false},
		{"invalid name", `<ipsecStatusAndStats><1a>x</1a></ipsecStatusAndStats>`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if fast := sameAsXML(t, []byte(c.doc)); fast != c.fast {
				t.Fatalf("own decoder took it: %v, want %v", fast, c.fast)
			}
		})
	}
}
