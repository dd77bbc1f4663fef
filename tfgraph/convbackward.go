package tfgraph

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"sync"
)

// ConvBackward is how the backward pass differentiates a stride-1,
// undilated NHWC Conv2D with respect to its input (Options.ConvBackward).
// Strided and dilated convolutions always take TensorFlow's
// Conv2DBackpropInput.
type ConvBackward int

const (
	// ConvBackwardAuto chooses by the CPU's vendor, read once per process:
	// TensorFlow's own kernels on Intel, the derived forward convolutions on
	// every other CPU. oneDNN's backward-data convolutions are the faster on
	// the Intel Xeon measured (AVX-512: ResNet50's gradient at batch 8,
	// 1049 against 1135 ms derived, 12 interleaved rounds), the forward
	// convolutions on the AMD EPYC (2.1× faster than Conv2DBackpropInput).
	// The choice is fixed for a machine, never timed, so that one machine
	// gives the same bytes on every run; docs/performance.md has the
	// measurements.
	ConvBackwardAuto ConvBackward = iota
	// ConvBackwardDerived differentiates the convolution as a forward
	// Conv2D of the signal with the kernel flipped in space and its channel
	// axes swapped: the same sums as Conv2DBackpropInput in another order,
	// equal to within float rounding (1e-6 relative); a long gradient
	// ascent (class model visualisation) may drift from TensorFlow's
	// trajectory.
	ConvBackwardDerived
	// ConvBackwardExact uses Conv2DBackpropInput, as tf.GradientTape does:
	// gradients bit-identical to TensorFlow's.
	ConvBackwardExact
)

// String is the name ParseConvBackward reads: auto, derived or exact.
func (c ConvBackward) String() string {
	switch c {
	case ConvBackwardAuto:
		return "auto"
	case ConvBackwardDerived:
		return "derived"
	case ConvBackwardExact:
		return "exact"
	}
	return fmt.Sprintf("ConvBackward(%d)", int(c))
}

// ParseConvBackward reads auto, derived or exact.
func ParseConvBackward(s string) (ConvBackward, error) {
	for _, c := range []ConvBackward{ConvBackwardAuto, ConvBackwardDerived, ConvBackwardExact} {
		if s == c.String() {
			return c, nil
		}
	}
	return 0, fmt.Errorf("convolution backward %q: want auto, derived or exact", s)
}

// Resolve is the choice c makes on this machine: ConvBackwardDerived or
// ConvBackwardExact.
func (c ConvBackward) Resolve() ConvBackward {
	if c != ConvBackwardAuto {
		return c
	}
	return convBackwardFor(cpuVendor())
}

// convBackwardFor is ConvBackwardAuto's choice on a CPU of the vendor
// (/proc/cpuinfo's vendor_id).
func convBackwardFor(vendor string) ConvBackward {
	if vendor == "GenuineIntel" {
		return ConvBackwardExact
	}
	return ConvBackwardDerived
}

var cpuVendorOnce = sync.OnceValue(func() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "vendor_id" {
			return strings.TrimSpace(v)
		}
	}
	return ""
})

// cpuVendor is /proc/cpuinfo's vendor_id ("GenuineIntel", "AuthenticAMD"),
// or "" where there is none.
func cpuVendor() string { return cpuVendorOnce() }
