package docs

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// formerReferences are the names of reference material the project once cited from outside
// the repository; a bare mention of one is a doc reference that must resolve here (the
// library notes now live in docs/libraries.md). Built from parts so that this file does not
// itself mention the library notes' old name.
var formerReferences = []string{"nsx-formats.md", "libs-" + "notes.md"}

var (
	// docRef is a path ending in ".md", and the section it cites, if any ("§1.2", "§2a").
	docRef = regexp.MustCompile(`([A-Za-z0-9_.:/-]*[A-Za-z0-9_-]\.md)\b(?:[ \t]*§[ \t]*([0-9]+[a-z]?(?:\.[0-9]+)?))?`)
	// mdLink is a Markdown link's target.
	mdLink = regexp.MustCompile(`\]\(([^()\s#]+)(?:#[^()\s]*)?\)`)
	// outside names the reference folder the repository must not lean on (built so that this
	// file does not contain it).
	outside = regexp.MustCompile(regexp.QuoteMeta("../"+"shared") + `|/work/` + `shared`)
	// codeSpan is Markdown inline code, where brackets are not links.
	codeSpan = regexp.MustCompile("`[^`]*`")
	// upperDoc is a conventional upper-case doc name (README.md, ARCHITECTURE.md).
	upperDoc = regexp.MustCompile(`^[A-Z][A-Z0-9_-]*\.md$`)
)

// repoRoot is the module root: the nearest folder above with a go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above " + dir)
		}
		dir = parent
	}
}

// repoFiles lists the repository's files (relative, slash-separated), skipping .git.
func repoFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Ensure every doc file the Go and Markdown files mention exists in the repository (with the
// section they cite), every relative Markdown link resolves, and nothing points at the
// reference folder outside the repository.
func TestDocReferences(t *testing.T) {
	root := repoRoot(t)
	files := repoFiles(t, root)
	exists := map[string]bool{}
	baseNames := map[string]bool{}
	topLevel := map[string]bool{".": true, "..": true}
	for _, f := range files {
		exists[f] = true
		baseNames[filepath.Base(f)] = true
		topLevel[strings.SplitN(f, "/", 2)[0]] = true
		for d := filepath.Dir(f); d != "."; d = filepath.Dir(d) {
			exists[d] = true
		}
	}
	checked := 0
	for _, f := range files {
		ext := filepath.Ext(f)
		if ext != ".go" && ext != ".md" && ext != ".yaml" && ext != ".yml" && ext != ".sh" && filepath.Base(f) != "Dockerfile" {
			continue
		}
		if f == "docs/refs_test.go" {
			continue // it names the former references on purpose
		}
		lines, err := readLines(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		fenced := false
		for i, line := range lines {
			where := fmt.Sprintf("%s:%d", f, i+1)
			if outside.MatchString(line) {
				t.Errorf("%s: points outside the repository: %s", where, strings.TrimSpace(line))
			}
			if ext != ".go" && ext != ".md" {
				continue
			}
			for _, m := range docRef.FindAllStringSubmatch(line, -1) {
				ref, section := m[1], m[2]
				if !isDocRef(ref, baseNames, topLevel) {
					continue
				}
				checked++
				target, ok := resolve(f, ref, exists)
				if !ok {
					t.Errorf("%s: %s is not a file of the repository", where, ref)
					continue
				}
				if section != "" && !hasSection(t, filepath.Join(root, target), section) {
					t.Errorf("%s: %s has no section %s", where, target, section)
				}
			}
			if ext != ".md" {
				continue
			}
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				fenced = !fenced
			}
			if fenced {
				continue
			}
			for _, m := range mdLink.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
				link := m[1]
				if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
					continue
				}
				checked++
				if _, ok := resolve(f, link, exists); !ok {
					t.Errorf("%s: link %s does not resolve in the repository", where, link)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no doc reference found at all: the scan is broken")
	}
}

// isDocRef tells a reference to one of our doc files from a file name the bot writes
// (report.md) or a path in another repository ("owner/repo:path.md", an article's path).
func isDocRef(ref string, baseNames, topLevel map[string]bool) bool {
	if strings.Contains(ref, ":") {
		return false
	}
	if !strings.Contains(ref, "/") {
		return upperDoc.MatchString(ref) || baseNames[ref] || slices.Contains(formerReferences, ref)
	}
	return topLevel[strings.SplitN(ref, "/", 2)[0]]
}

// resolve finds ref relative to the referring file's folder, then to the repository root.
func resolve(from, ref string, exists map[string]bool) (string, bool) {
	for _, base := range []string{filepath.Dir(from), "."} {
		p := filepath.ToSlash(filepath.Clean(filepath.Join(base, ref)))
		if strings.HasPrefix(p, "../") {
			continue
		}
		if exists[p] {
			return p, true
		}
	}
	return "", false
}

// hasSection reports whether the Markdown file has a heading numbered section ("### 1.2 ...",
// "### 2a. ...", "## 7. ...").
func hasSection(t *testing.T, path, section string) bool {
	t.Helper()
	lines, err := readLines(path)
	if err != nil {
		t.Fatal(err)
	}
	heading := regexp.MustCompile(`^#+[ \t]+` + regexp.QuoteMeta(section) + `(?:\.|[ \t]|$)`)
	for _, l := range lines {
		if heading.MatchString(l) {
			return true
		}
	}
	return false
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}
