// Command worker is the Go side of the side-by-side benchmark
// (bench/compare.py): it loads one SavedModel and answers timing requests,
// one JSON object per line on stdin and stdout, with the protocol of
// bench/peers.py.
//
//	worker -model DIR [-threads 2]
//
// It first prints {"ready": true, "load_seconds": …}. A request
//
//	{"method": "smoothgrad", "inputs": "x.npy", "reps": 3, "options": {"samples": 50}}
//
// runs the method once to warm up (unless "warmup": false), then reps
// times, and answers
// {"ok": true, "times": [seconds…], "rss_peak_bytes": …, "map_shape": […]}.
// "forward" times the logits alone. "raw-gradient" times tfgraph's
// Flat.Gradient of the top classes (found by an untimed forward) under the
// plain rule set, or with the option "composite" under that LRP composite's
// rule set (methods.LRP.RuleSet): the backward engine without a method
// around it. The option "layer" is the target layer of CAM methods; the
// others are the method's own options. "given_classes": true gives the
// method each image's top class, found by a forward pass outside the timed
// calls, as bench/peers.py gives the Python tools theirs (bench/compare.py
// sends it). The reply's "info" is the last
// call's Maps.Info (e.g. forward-passes, backward-passes per image). The
// peak RSS is
// the process's, reset before the warm-up (/proc/self/clear_refs).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

type request struct {
	Method  string         `json:"method"`
	Inputs  string         `json:"inputs"`
	Reps    int            `json:"reps"`
	Options map[string]any `json:"options"`
	// Profile traces one more call with TensorFlow's step statistics and
	// returns the kernel time by op type.
	Profile bool `json:"profile"`
	// Warmup false skips the untimed first call (default true).
	Warmup *bool `json:"warmup"`
	// Save, when set, writes the last call's raw map (per channel, before
	// the channel reduction; the signal of "raw-gradient") to this .npy
	// file.
	Save string `json:"save"`
	// GivenClasses gives the method the classes to explain (Target.Classes:
	// each image's top class, from a forward pass outside the timed calls),
	// as bench/peers.py gives them to the Python tools; without it the
	// method finds the predicted classes inside its call.
	GivenClasses bool `json:"given_classes"`
	// SaveMap saves the map (Maps.Map) instead of the raw map: for
	// methods whose raw map is something else (XRAI's is the attribution
	// it ranks the regions by).
	SaveMap bool `json:"save_map"`
}

type reply struct {
	OK       bool      `json:"ok"`
	Error    string    `json:"error,omitempty"`
	Times    []float64 `json:"times,omitempty"`
	RSSPeak  int64     `json:"rss_peak_bytes,omitempty"`
	MapShape []int     `json:"map_shape,omitempty"`
	Runs     int64     `json:"session_runs,omitempty"`
	Profile  string    `json:"profile,omitempty"`
	// ProfileOps is the profile by op type and direction: nodes and kernel
	// seconds of the one profiled call, and its wall time.
	ProfileOps  []profileOp `json:"profile_ops,omitempty"`
	ProfileWall float64     `json:"profile_wall_seconds,omitempty"`
	ProfileRuns int         `json:"profile_runs,omitempty"`
	// ProfileCall is the wall time of the profiled call: beyond
	// ProfileWall (inside session runs) it is the method's own Go work.
	ProfileCall float64 `json:"profile_call_seconds,omitempty"`
	// Info is the last call's Maps.Info (per-image diagnostics, e.g.
	// forward-passes and backward-passes).
	Info map[string][]float64 `json:"info,omitempty"`
}

type profileOp struct {
	Type     string  `json:"type"`
	Backward bool    `json:"backward"`
	Nodes    int     `json:"nodes"`
	Kernel   float64 `json:"kernel_seconds"`
}

func main() {
	dir := flag.String("model", "", "SavedModel folder")
	threads := flag.Int("threads", 2, "TensorFlow intra-op threads (inter-op 1)")
	grappler := flag.Bool("grappler", false, "run TensorFlow's graph optimizer (tfgraph.Options.Grappler)")
	exactConv := flag.Bool("exact-conv", false, "the same as -conv-backward exact")
	convName := flag.String("conv-backward", "auto", "auto, derived or exact (tfgraph.Options.ConvBackward)")
	flag.Parse()
	if *dir == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: worker -model DIR [-threads N]")
		os.Exit(2)
	}
	t0 := time.Now()
	conv, err := tfgraph.ParseConvBackward(*convName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker: -conv-backward:", err)
		os.Exit(2)
	}
	if *exactConv {
		conv = tfgraph.ConvBackwardExact
	}
	m, _, err := experiments.LoadModel(*dir, tfgraph.Options{IntraOpThreads: *threads, InterOpThreads: 1, Grappler: *grappler, ConvBackward: conv})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer m.Close()
	fl, err := m.Flat()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := json.NewEncoder(os.Stdout)
	out.Encode(map[string]any{"ready": true, "tool": "go", "model": *dir, "load_seconds": time.Since(t0).Seconds()})
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			out.Encode(reply{Error: "bad request: " + err.Error()})
			continue
		}
		rep, err := serve(fl, r)
		if err != nil {
			rep = reply{Error: err.Error()}
		}
		out.Encode(rep)
	}
}

func serve(base *tfgraph.Flat, r request) (reply, error) {
	fl := base
	ctx := context.Background()
	x, err := savedmodels.ReadNpy(r.Inputs)
	if err != nil {
		return reply{}, err
	}
	opts := map[string]any{}
	var tg methods.Target
	for k, v := range r.Options {
		if k == "layer" {
			tg.Layer, _ = v.(string)
			continue
		}
		if f, ok := v.(float64); ok && f == float64(int(f)) && k != "noise" && k != "lr" && k != "fill" {
			v = int(f)
		}
		opts[k] = v
	}
	if r.GivenClasses && tg.Unit == nil {
		logits, _ := fl.Logits()
		res, err := fl.Run(ctx, x, tfgraph.Query{Fetch: []string{logits}})
		if err != nil {
			return reply{}, err
		}
		tg.Classes = make([]int, x.Shape[0])
		for i := range tg.Classes {
			tg.Classes[i] = tensor.Argmax(res.Fetched[0].Slice(i, i+1).Data)
		}
	}
	var call func() ([]int, error)
	var last *tensor.Tensor // the raw map of the last call
	var info map[string][]float64
	if r.Method == "raw-gradient" {
		rules := tfgraph.Plain
		if c, _ := opts["composite"].(string); c != "" {
			rules = (&methods.LRP{Composite: c}).RuleSet()
		}
		logits, _ := fl.Logits()
		res, err := fl.Run(ctx, x, tfgraph.Query{Fetch: []string{logits}})
		if err != nil {
			return reply{}, err
		}
		classes := make([]int, x.Shape[0])
		for i := range classes {
			classes[i] = tensor.Argmax(res.Fetched[0].Slice(i, i+1).Data)
		}
		call = func() ([]int, error) {
			g, err := fl.Gradient(x, classes, "", rules)
			if err != nil {
				return nil, err
			}
			last = g
			return g.Shape, nil
		}
	} else if r.Method == "forward" {
		logits, _ := fl.Logits()
		call = func() ([]int, error) {
			res, err := fl.Run(ctx, x, tfgraph.Query{Fetch: []string{logits}})
			if err != nil {
				return nil, err
			}
			return res.Fetched[0].Shape, nil
		}
	} else {
		m, err := methods.New(r.Method, opts)
		if err != nil {
			return reply{}, err
		}
		call = func() ([]int, error) {
			res, err := m.Explain(ctx, fl, methods.Batch{X: x}, tg)
			if err != nil {
				return nil, err
			}
			last, info = res.Raw, res.Info
			if last == nil || r.SaveMap {
				last = res.Map
			}
			return res.Map.Shape, nil
		}
	}
	resetPeak()
	var shape []int
	if r.Warmup == nil || *r.Warmup {
		if shape, err = call(); err != nil {
			return reply{}, err
		}
	}
	rep := reply{OK: true}
	runs := fl.Runs()
	for i := 0; i < max(1, r.Reps); i++ {
		t0 := time.Now()
		if shape, err = call(); err != nil {
			return reply{}, err
		}
		rep.Times = append(rep.Times, time.Since(t0).Seconds())
	}
	rep.MapShape = shape
	if r.Save != "" && last != nil {
		if err := reports.WriteNpy(r.Save, last); err != nil {
			return reply{}, err
		}
	}
	rep.Runs = (fl.Runs() - runs) / int64(len(rep.Times))
	rep.Info = info
	rep.RSSPeak = peak()
	if r.Profile {
		p := &tfgraph.Profile{}
		fl = base.Profiled(p)
		t0 := time.Now()
		if _, err := call(); err != nil {
			return reply{}, err
		}
		rep.ProfileCall = time.Since(t0).Seconds()
		rep.Profile = p.String()
		runs, wall := p.Runs()
		rep.ProfileWall, rep.ProfileRuns = wall.Seconds(), runs
		for _, o := range p.Ops() {
			rep.ProfileOps = append(rep.ProfileOps, profileOp{Type: o.Type, Backward: o.Backward, Nodes: o.Nodes, Kernel: o.Kernel.Seconds()})
		}
	}
	return rep, nil
}

// resetPeak resets the process's peak RSS (VmHWM), Linux ≥ 4.0.
func resetPeak() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peak is VmHWM in bytes.
func peak() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
