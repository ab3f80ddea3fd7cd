package pbwire

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoProtobufInBinaries guards the reason this package exists: the
// extension and functions using the library must not link
// google.golang.org/protobuf, whose detrand init reads the executable at
// start-up. Tests may import protowire; non-test code must use pbwire.
func TestNoProtobufInBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	pkgs := []string{
		"github.com/lambdaotel/lambdaotel/cmd/lambdaotel-extension",
		"github.com/lambdaotel/lambdaotel/examples/httpapi",
	}
	out, err := exec.Command(goTool, append([]string{"list", "-deps"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		if strings.HasPrefix(dep, "google.golang.org/protobuf/") {
			t.Errorf("%s is linked into the extension or the library", strings.TrimSpace(dep))
		}
	}
}
