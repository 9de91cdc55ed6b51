package incident

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// incidentWrites are the store's methods that write an incident or what hangs off it.
var incidentWrites = map[string]bool{
	"CreateIncident": true, "UpdateIncident": true, "ChangeIncident": true, "AppendEvent": true, "AddArtifact": true,
}

// Ensure no Go file of the module outside this package and the store itself (tests included)
// calls the store's incident writes: everything goes through a Lifecycle, so its transitions,
// its kinds and its order of writes hold everywhere.
func TestNothingElseWritesIncidents(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	owners := map[string]bool{filepath.Join(root, "incident"): true, filepath.Join(root, "store"): true}
	fset := token.NewFileSet()
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || owners[path]) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && incidentWrites[sel.Sel.Name] {
				t.Errorf("%s: %s writes an incident past the incident package", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read %d Go files under %s; the scan missed the module", files, root)
	}
}
