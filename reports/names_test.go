package reports

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every method the methods package registers has a paper name. The
// package is read as source (importing it would link TensorFlow).
func TestMethodNamesCoverRegistry(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "methods", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("methods sources: %v (%d files)", err, len(files))
	}
	register := regexp.MustCompile(`Register\("([^"]+)"`)
	loop := regexp.MustCompile(`range \[\]string\{([^}]*)\}`)
	literal := regexp.MustCompile(`"([^"]+)"`)
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range register.FindAllSubmatch(src, -1) {
			names = append(names, string(m[1]))
		}
		// smoothgrad.go registers smoothgrad, squaregrad and vargrad in a
		// loop over their names.
		if strings.Contains(string(src), "Register(n,") {
			for _, m := range loop.FindAllSubmatch(src, -1) {
				for _, l := range literal.FindAllSubmatch(m[1], -1) {
					names = append(names, string(l[1]))
				}
			}
		}
	}
	for _, want := range []string{"gradient", "squaregrad", "vargrad", "gradcam++", "feature-visualization"} {
		if !slices.Contains(names, want) {
			t.Errorf("the registry as read from ../methods lacks %q; read: %q", want, names)
		}
	}
	for _, n := range names {
		if _, ok := MethodNames[n]; !ok {
			t.Errorf("method %q has no paper name in MethodNames", n)
		}
	}
}

func TestMethodName(t *testing.T) {
	for _, tc := range []struct{ in, want, tex string }{
		{"gradient", "Gradient", "Gradient"},
		{"gradient-x-input", "Gradient × Input", `Gradient $\times$ Input`},
		{"squaregrad", "SmoothGrad²", `SmoothGrad\textsuperscript{2}`},
		{"gradcam++", "Grad-CAM++", "Grad-CAM++"},
		{"scorecam", "Score-CAM", "Score-CAM"},
		{"smoothgrad-2", "SmoothGrad (2)", "SmoothGrad (2)"},
		{"smoothgrad-", "smoothgrad-", "smoothgrad-"},
		{"my_label", "my_label", `my\_label`},
		{"gradient-x", "gradient-x", "gradient-x"},
		{"random-order", "Random order", "Random order"},
		{"", "", ""},
	} {
		if got := MethodName(tc.in); got != tc.want {
			t.Errorf("MethodName(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := MethodNameTeX(tc.in); got != tc.tex {
			t.Errorf("MethodNameTeX(%q) = %q, want %q", tc.in, got, tc.tex)
		}
	}
}
