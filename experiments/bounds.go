package experiments

import (
	"context"
	"fmt"
	"runtime"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
	"gopkg.in/yaml.v3"
)

// MaxThreads is the largest TensorFlow intra-op thread count a run accepts
// (threads: in the file, -threads on the command line): the CPUs this process
// may run on, runtime.NumCPU. On Linux that is the size of the process's
// affinity mask (sched_getaffinity(2)), which taskset, a Slurm task's cpuset
// and Kubernetes' static CPU manager set; a CPU quota without pinning (a
// Kubernetes CPU limit, cgroup cpu.max) does not lower it. More threads than
// CPUs make TensorFlow's threads wait for each other and cost memory:
// -threads 1000 took the 23 s lecture run past 14 minutes, -threads 100000
// reached 4 GB.
func MaxThreads() int { return runtime.NumCPU() }

// CheckThreads says whether n TensorFlow threads may be asked for: 0 (one
// per CPU) to MaxThreads. A larger value is an error rather than clamped,
// because the thread count changes the last bits of some results and is
// recorded in plan.json: clamping would change a run's bytes without a
// word.
func CheckThreads(n int) error {
	if n < 0 {
		return fmt.Errorf("experiments: threads %d: want ≥ 0", n)
	}
	if limit := MaxThreads(); n > limit {
		return fmt.Errorf("experiments: threads %d: this process may use %d CPUs; want 0 (one per CPU) to %d (more threads than CPUs only slow TensorFlow down)", n, limit, limit)
	}
	return nil
}

// MaxBatch is the largest batch: (images per unit of work) an experiment
// accepts. A unit's images, maps and the signals its methods share are held
// in memory together, and a unit is the grain of resuming and sharding;
// the model itself sees chunks sized by the memory budget whatever the
// batch.
const MaxBatch = 1024

// MaxRepeats is the most draws of the random weights a randomization test
// may ask for (repeats:). A plan draws the weights of a step only when its
// units run, but it lists every step of every repeat.
const MaxRepeats = 1000

// MaxUnits is the most units of work a plan may have: models × steps ×
// methods × batches, and the evaluation units. Each unit is two files of the
// run folder, and a plan lists them all in memory.
const MaxUnits = 1_000_000

// checkUnits refuses a plan of more than MaxUnits units before listing them.
func checkUnits(pf *PlanFile) error {
	batches := (len(pf.Images) + pf.Batch - 1) / pf.Batch
	steps, evals := 0, 0
	for _, m := range pf.Models {
		steps += len(m.Steps)
	}
	for _, t := range pf.Tests {
		if evaluates(t.Kind) {
			evals += len(pf.Models) * (len(pf.Methods) + 1)
		}
	}
	if n := (steps*len(pf.Methods)+evals)*batches + len(pf.Layers); n > MaxUnits || n < 0 {
		return fmt.Errorf("experiments: %s: %d steps × %d methods × %d batches of %d images make more than %d units of work; use fewer, or split the experiment",
			pf.Name, steps, len(pf.Methods), batches, pf.Batch, MaxUnits)
	}
	return nil
}

// upTo is v.integer with an upper bound too.
func (v *validator) upTo(n *yaml.Node, what string, min, max int) int {
	i := v.integer(n, what, min)
	if i > max {
		v.errorf(n, "%s %d: want an integer from %d to %d", what, i, min, max)
	}
	return i
}

// runSize is the number of images of one forward run of the plan on fl:
// the batch, or fewer when the default memory budget holds fewer
// (methods.Chunking), so that a large batch does not make one large
// session run.
func (p *Plan) runSize(fl *tfgraph.Flat) int { return min(p.Batch, methods.Chunking{}.Size(fl)) }

// logitRows are fl's logits [N,K] for the images x, in session runs of at
// most size images.
func logitRows(ctx context.Context, fl *tfgraph.Flat, x *tensor.Tensor, size int) (*tensor.Tensor, error) {
	logits, _ := fl.Logits()
	n := x.Shape[0]
	var parts []*tensor.Tensor
	for lo := 0; lo < n; lo += size {
		res, err := fl.Run(ctx, x.Slice(lo, min(lo+size, n)), tfgraph.Query{Fetch: []string{logits}})
		if err != nil {
			return nil, err
		}
		parts = append(parts, res.Fetched[0])
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return tensor.Concat(parts...)
}
