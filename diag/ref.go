package diag

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
)

// RefKind says what part of a file an evidence reference points at.
type RefKind uint8

// The forms of a reference (Evidence.Ref), as docs/design.md's `analyze --json` writes them.
const (
	RefFile    RefKind = iota + 1 // PATH: a whole file
	RefLine                       // PATH:LINE, a line of a text file (1-based)
	RefFrame                      // PATH#FRAME, a frame of a capture (1-based)
	RefElement                    // PATH:element/path[1]/leaf, an element of an XML or API document
	RefField                      // interop:FIELD, a compared setting not (yet) placed on a line
)

// fieldPrefix opens a RefField reference.
const fieldPrefix = "interop:"

// Ref is one evidence reference. Build it with the constructors and write it with String:
// Evidence.Ref holds that string, so report.json keeps its plain string form.
//
// PATH may name a member of a tar.gz bundle, BUNDLE!MEMBER: Path is then the bundle and
// Member the member's name inside it.
type Ref struct {
	Kind    RefKind
	Path    string
	Member  string
	Line    int64  // RefLine
	Frame   int64  // RefFrame
	Element string // RefElement: the element path, without ':'
	Field   string // RefField
}

// FileRef points at a whole file.
func FileRef(path string) Ref { return withMember(Ref{Kind: RefFile}, path) }

// LineRef points at line (1-based) of a text file; path may be BUNDLE!MEMBER as a log
// scanner names a bundle's member.
func LineRef(path string, line int64) Ref { return withMember(Ref{Kind: RefLine, Line: line}, path) }

// FrameRef points at frame (1-based) of a capture.
func FrameRef(path string, frame int64) Ref {
	return withMember(Ref{Kind: RefFrame, Frame: frame}, path)
}

// ElementRef points at an element of an XML or API document, e.g.
// "siteStatistics[1]/tunnelStats[1]/failureMessage".
func ElementRef(path, element string) Ref {
	return withMember(Ref{Kind: RefElement, Element: element}, path)
}

// MemberLineRef points at line of member inside the tar.gz bundle.
func MemberLineRef(bundle, member string, line int64) Ref {
	return Ref{Kind: RefLine, Path: bundle, Member: member, Line: line}
}

// ConfigFieldRef points at a compared setting of the configuration comparison while its line
// of the written table is unknown.
func ConfigFieldRef(field string) Ref { return Ref{Kind: RefField, Field: field} }

// withMember splits a scanner's "BUNDLE!MEMBER" name into r's Path and Member.
func withMember(r Ref, path string) Ref {
	r.Path, r.Member = splitMember(path)
	return r
}

func splitMember(loc string) (path, member string) {
	if p, m, ok := strings.Cut(loc, "!"); ok && p != "" && m != "" {
		return p, m
	}
	return loc, ""
}

// Location is the file part of the reference: PATH or BUNDLE!MEMBER.
func (r Ref) Location() string {
	if r.Member != "" {
		return r.Path + "!" + r.Member
	}
	return r.Path
}

// String writes the reference in its JSON form.
func (r Ref) String() string {
	switch r.Kind {
	case RefLine:
		return r.Location() + ":" + strconv.FormatInt(r.Line, 10)
	case RefFrame:
		return r.Location() + "#" + strconv.FormatInt(r.Frame, 10)
	case RefElement:
		return r.Location() + ":" + r.Element
	case RefField:
		return fieldPrefix + r.Field
	}
	return r.Location()
}

// MarshalText writes the JSON form.
func (r Ref) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads the JSON form.
func (r *Ref) UnmarshalText(b []byte) error {
	p, err := ParseRef(string(b))
	if err != nil {
		return err
	}
	*r = p
	return nil
}

var (
	errEmptyRef   = errors.New("empty evidence reference")
	errRefNoPath  = errors.New("evidence reference without a file")
	errRefNoField = errors.New("evidence reference interop: without a field")
)

// ParseRef reads a reference String wrote. The last "#N" makes a frame, else the last ":N" a
// line, else the last ":X" an element; a string without either names a whole file. Numbers
// are positive and written without leading zeros, so ParseRef(s).String() == s.
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, errEmptyRef
	}
	if field, ok := strings.CutPrefix(s, fieldPrefix); ok {
		if field == "" {
			return Ref{}, errRefNoField
		}
		return ConfigFieldRef(field), nil
	}
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		if n, ok := position(s[i+1:]); ok {
			return located(Ref{Kind: RefFrame, Frame: n}, s[:i])
		}
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && i < len(s)-1 {
		if n, ok := position(s[i+1:]); ok {
			return located(Ref{Kind: RefLine, Line: n}, s[:i])
		}
		return located(Ref{Kind: RefElement, Element: s[i+1:]}, s[:i])
	}
	return located(Ref{Kind: RefFile}, s)
}

func located(r Ref, loc string) (Ref, error) {
	if loc == "" {
		return Ref{}, errRefNoPath
	}
	return withMember(r, loc), nil
}

// position reads a 1-based line or frame number written canonically.
func position(s string) (int64, bool) {
	if s == "" || s[0] == '0' || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// RelativeTo makes the reference's file relative to dir when it lies inside it (a report's
// artifacts are cited relative to the report's directory), in forward slashes. A member's name
// inside a bundle is left as it is.
func (r Ref) RelativeTo(dir string) Ref {
	if r.Kind == RefField || dir == "" {
		return r
	}
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	rel, ok := strings.CutPrefix(r.Path, prefix)
	if !ok || rel == "" {
		return r
	}
	out := r
	out.Path = filepath.ToSlash(rel)
	if back, err := ParseRef(out.String()); err != nil || back != out {
		return r // the shorter path would read as another reference ("interop:...")
	}
	return out
}

// RelativeRef is RelativeTo on a reference in its string form; a string that is no reference
// comes back unchanged.
func RelativeRef(ref, dir string) string {
	r, err := ParseRef(ref)
	if err != nil {
		return ref
	}
	return r.RelativeTo(dir).String()
}
