package reports_test

import (
	"fmt"

	"github.com/saliencykit/saliency/reports"
)

// The papers' names of methods, for the legends and tables of a paper.
func ExampleMethodName() {
	for _, m := range []string{"gradient-x-input", "squaregrad", "gradcam++", "smoothgrad-2", "my-label"} {
		fmt.Printf("%-16s → %-20s %s\n", m, reports.MethodName(m), reports.MethodNameTeX(m))
	}
	// Output:
	// gradient-x-input → Gradient × Input     Gradient $\times$ Input
	// squaregrad       → SmoothGrad²          SmoothGrad\textsuperscript{2}
	// gradcam++        → Grad-CAM++           Grad-CAM++
	// smoothgrad-2     → SmoothGrad (2)       SmoothGrad (2)
	// my-label         → my-label             my-label
}
