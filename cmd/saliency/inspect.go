package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tfgraph"
)

var inspectCmd = &command{
	name:  "inspect",
	args:  "[flags] SAVEDMODEL_DIR",
	short: "describe a SavedModel: signatures, inputs, outputs, model card",
	long: `Inspect loads a SavedModel and prints its signatures with their inputs and
outputs, the summary of its model card (card.yaml) when it has one, and its
flat graph: the logits, the CAM layer, the rule sets' coverage, and each
layer with its output shape, parameters, receptive field (size in input
pixels and stride, from the graph: kernels, strides, padding, pooling,
resizing; "whole image" after global pooling, a Flatten or attention) and
ops.`,
	flags: func(fs *flag.FlagSet) func(*ctx, []string) error {
		var mf modelFlags
		mf.register(fs)
		mf.registerConv(fs)
		return func(c *ctx, args []string) error {
			if len(args) != 1 {
				return usagef("want one SavedModel folder, got %d arguments", len(args))
			}
			m, card, err := mf.load(args[0])
			if err != nil {
				return err
			}
			defer m.Close()
			printModel(c.stdout, m)
			if card != nil {
				printCard(c.stdout, card)
			}
			fl, err := m.Flat()
			if err != nil {
				return err
			}
			// The card's output.kind against the graph, as the other
			// commands check it (they refuse the model; inspect shows it).
			kindErr := experiments.ApplyCardKind(card, fl, args[0])
			printFlat(c.stdout, fl)
			if kindErr != nil {
				fmt.Fprintf(c.stdout, "\nrefused   %v\n", kindErr)
			}
			return nil
		}
	},
}

func printModel(w io.Writer, m *tfgraph.Model) {
	fmt.Fprintf(w, "SavedModel  %s\n", m.Dir)
	fmt.Fprintf(w, "  tags      %s\n", strings.Join(m.Tags, ","))
	fmt.Fprintf(w, "  written   TensorFlow %s (running %s)\n", m.TensorFlowVersion, tfgraph.Version())
	if m.ConvBackward() == tfgraph.ConvBackwardExact {
		fmt.Fprintf(w, "  conv grad TensorFlow's Conv2DBackpropInput: bit-identical to tf.GradientTape (-conv-backward)\n")
	} else {
		fmt.Fprintf(w, "  conv grad stride-1 convolutions as forward convolutions of the flipped kernels: tf.GradientTape's to float rounding (-conv-backward)\n")
	}
	fmt.Fprintf(w, "\nSignatures\n")
	for _, s := range m.Signatures {
		mark := ""
		if s.Name == m.Signature.Name {
			mark = "  (selected)"
		}
		fmt.Fprintf(w, "  %s%s\n", s.Name, mark)
		for i, in := range s.Inputs {
			fmt.Fprintf(w, "    %-8s %s\n", label(i, "inputs"), in)
		}
		for i, out := range s.Outputs {
			fmt.Fprintf(w, "    %-8s %s\n", label(i, "outputs"), out)
		}
		if mark != "" && m.ChannelAdded() {
			fmt.Fprintf(w, "    fed as   %s: a grayscale image batch without a channel axis, fed and explained with one\n", m.Input())
		}
	}
}

func label(i int, s string) string {
	if i == 0 {
		return s
	}
	return ""
}

func printCard(w io.Writer, c *savedmodels.Card) {
	fmt.Fprintf(w, "\nCard  %s\n", c.Name)
	if c.Description != "" {
		fmt.Fprintf(w, "  %s\n", c.Description)
	}
	fmt.Fprintf(w, "  classes     %d: %s\n", len(c.Classes), strings.Join(c.Classes, ", "))
	p := c.Preprocessing
	key := func(k string) string {
		if k == "" {
			return ""
		}
		return fmt.Sprintf("%q ", k)
	}
	in := fmt.Sprintf("  input       %s%d×%d×%d", key(c.Input.SignatureKey), c.Input.Shape[1], c.Input.Shape[2], c.Input.Shape[3])
	for _, s := range []string{c.Input.Color, c.Input.DType} {
		if s != "" {
			in += " " + s
		}
	}
	if len(c.Input.Range) == 2 {
		in += fmt.Sprintf(" in [%g, %g]", c.Input.Range[0], c.Input.Range[1])
	}
	if p.Formula != "" {
		in += "; " + p.Formula
	}
	fmt.Fprintln(w, in)
	fmt.Fprintf(w, "  output      %s%s\n", key(c.Output.SignatureKey), c.Output.Kind)
	var acc []string
	for _, k := range []string{"test", "train"} {
		if v, ok := c.Accuracy[k]; ok {
			acc = append(acc, fmt.Sprintf("%s %.4f", k, v))
		}
	}
	if len(acc) > 0 {
		fmt.Fprintf(w, "  accuracy    %s\n", strings.Join(acc, ", "))
	}
	var trained []string
	if len(c.Training) > 0 {
		t := fmt.Sprintf("seed %d", c.Seed)
		if e, ok := c.Training["epochs"]; ok {
			t += fmt.Sprintf(", %v epochs", e)
		}
		if s, ok := c.Training["seconds"]; ok {
			t += fmt.Sprintf(" in %v s", s)
		}
		if f, ok := c.Training["from"]; ok {
			t += fmt.Sprintf(", %v", f)
		}
		trained = append(trained, t)
	}
	if c.Framework != "" {
		trained = append(trained, c.Framework)
	}
	if len(trained) > 0 {
		fmt.Fprintf(w, "  trained     %s\n", strings.Join(trained, "; "))
	}
	// The names no layer has (a converted model's modules), by reason.
	var reasons []string
	byReason := map[string][]string{}
	for _, u := range c.UnnamedLayers {
		if byReason[u.Reason] == nil {
			reasons = append(reasons, u.Reason)
		}
		byReason[u.Reason] = append(byReason[u.Reason], u.Name)
	}
	for _, r := range reasons {
		names := byReason[r]
		list := strings.Join(names, ", ")
		if len(names) > 8 {
			list = fmt.Sprintf("%s and %d more", strings.Join(names[:8], ", "), len(names)-8)
		}
		fmt.Fprintf(w, "  no layer    %s: %s\n", list, r)
	}
}

func printFlat(w io.Writer, fl *tfgraph.Flat) {
	var params int64 // each weight once: a nested model's and a shared layer's are read by several layers
	for _, w := range fl.Weights {
		n := int64(1)
		for _, d := range w.Shape {
			n *= d
		}
		params += n
	}
	fmt.Fprintf(w, "\nFlat graph  %d nodes, %d weights, %d parameters\n", fl.Nodes, len(fl.Weights), params)
	logits, activated := fl.Logits()
	note := "the signature's output"
	_, binary := fl.BinaryLogit()
	switch {
	case binary && activated:
		note = "the final Sigmoid's input z, as the scores −z and z of class 0 and class 1: a binary classifier, each class's probability the sigmoid of its score"
	case binary:
		note += " z, as the scores −z and z of class 0 and class 1: the logit of a binary classifier, each class's probability the sigmoid of its score"
	case fl.Head() == "sigmoid":
		if !activated {
			note += ": logits of independent labels, each probability its logit's sigmoid (one column, a binary classifier's; or output.kind sigmoid)"
			break
		}
		note = "input of the final Sigmoid: a multi-label or binary head, output.kind sigmoid"
	case fl.Head() == "softmax":
		note = "input of the final Softmax"
	case fl.Head() == "log_softmax":
		note = "input of the final LogSoftmax"
	}
	if ops := fl.HeadOps(); len(ops) > 0 {
		note += "; the output maps it further: " + strings.Join(ops, ", ")
	}
	if a := fl.ActivationBehind(); a != "" {
		note += ": computed from a " + a + " by other ops, probabilities with no logits behind them"
	}
	fmt.Fprintf(w, "  logits    %s (%s)\n", logits, note)
	if count, layers := fl.PathDTypes(); len(count) > 1 || count["float32"] == 0 {
		var parts []string
		for _, dt := range []string{"float32", "float16", "bfloat16", "float64"} {
			if count[dt] == 0 {
				continue
			}
			p := fmt.Sprintf("%s %d tensors", dt, count[dt])
			if l := layers[dt]; len(l) > 0 {
				if len(l) > 6 {
					l = append(l[:6], "…")
				}
				p += " (" + strings.Join(l, ", ") + ")"
			}
			parts = append(parts, p)
		}
		fmt.Fprintf(w, "  dtypes    %s on the input→logits path; backward signals travel in each tensor's dtype, as in tf.GradientTape, and come out as float32\n", strings.Join(parts, "; "))
	}
	if im, err := fl.InputMap(); err == nil && im != nil {
		fmt.Fprintf(w, "  input map %s (the model scales its input itself; explain and predict choose the pixel mapping from it when there is no card)\n", im)
	}
	if r := fl.RandomOps(); len(r) > 0 {
		seen := map[string]bool{}
		var list []string
		for _, op := range r {
			k := op.Op + " (" + op.Layer + ")"
			if !seen[k] {
				seen[k] = true
				list = append(list, k)
			}
		}
		fmt.Fprintf(w, "  random    warning: %d ops draw random numbers at inference: %s; the signature gives another output at each call, and the flat graph explains one fixed draw\n", len(r), strings.Join(list, ", "))
	}
	if b := fl.BatchOps(); len(b) > 0 {
		fmt.Fprintf(w, "  batch     refused: %d ops combine the images of a batch: %s; the output for one image depends on the others\n", len(b), tfgraph.DescribeBatchOps(b))
	}
	if l, err := fl.CAMLayer(); err == nil {
		if g, err := fl.TokenGrid(l, ""); err == nil {
			fmt.Fprintf(w, "  CAM layer %s (tokens on a %s grid: the input of the last attention layer)\n", l.Name, g)
		} else {
			fmt.Fprintf(w, "  CAM layer %s (last 4-D convolution-like output on every path to the scores)\n", l.Name)
		}
	} else {
		fmt.Fprintf(w, "  CAM layer none (%v)\n", err)
	}
	missing := fl.SupportedRules()
	for _, rs := range tfgraph.RuleSets {
		if len(missing[rs.Name]) == 0 {
			fmt.Fprintf(w, "  %-9s every op on the input→logits path has a rule\n", rs.Name)
		} else {
			hint := ""
			for _, op := range missing[rs.Name] {
				if op == "While" || op == "StatelessWhile" {
					hint = " (a loop, e.g. a recurrent layer: gradient methods need it unrolled, Keras' unroll=True; occlusion and Score-CAM work)"
				}
			}
			fmt.Fprintf(w, "  %-9s no rule for %s%s\n", rs.Name, strings.Join(missing[rs.Name], ", "), hint)
		}
		if rs == tfgraph.Plain {
			continue
		}
		for _, line := range ruleCoverage(fl, rs) {
			fmt.Fprintf(w, "  %-9s %s\n", "", line)
		}
	}
	// The name column is as wide as the longest name, from 18 to 48
	// characters (a longer name pushes its own row only).
	width := 18
	for _, l := range fl.Layers() {
		width = min(max(width, utf8.RuneCountInString(l.Name)), 48)
	}
	fmt.Fprintf(w, "\nLayers (receptive field: size in input pixels /stride)\n  %-*s %-22s %10s  %-15s %s\n", width, "name", "output shape", "params", "receptive field", "ops")
	var rfErr error
	for _, l := range fl.Layers() {
		ops := strings.Join(l.Ops, " ")
		if l.Alias != "" {
			ops = "(no ops: the output of " + l.Alias + ")"
		}
		rf := "?"
		if f, err := fl.ReceptiveField(l.Output); err == nil {
			rf = f.String()
		} else if rfErr == nil {
			rfErr = err
		}
		fmt.Fprintf(w, "  %-*s %-22s %10d  %-15s %s\n", width, l.Name, shapeText(fl.Shape(l.Output)), fl.Params(l), rf, ops)
	}
	if rfErr != nil {
		fmt.Fprintf(w, "  receptive field ?: %v\n", rfErr)
	}
	// The card's entries that name no layer (a Keras operation outside any
	// layer, as ConvNeXt's residual sums): -layer gives each one's reason.
	if nl := fl.NotLayers(); len(nl) > 0 {
		names := make([]string, 0, len(nl))
		for n := range nl {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "  not layers: %s (card.yaml lists them; no layer's scope holds their ops, or their input is unknown: -layer says why)\n", strings.Join(names, ", "))
	}
	// A shared layer's calls, by what each reads, and a layer's outputs, by
	// shape: -layer takes one of them.
	calls := map[string][]string{}
	outputs := map[string]int{}
	owners := map[string][]string{}
	var shared []string
	for _, l := range fl.Layers() {
		if l.Shared == "" {
			continue
		}
		if calls[l.Shared] == nil {
			shared = append(shared, l.Shared)
		}
		if !slices.Contains(owners[l.Shared], l.Owner()) {
			owners[l.Shared] = append(owners[l.Shared], l.Owner())
		}
		if l.Outputs > 0 {
			outputs[l.Shared] = l.Outputs
			entry := l.Name + " " + shapeText(fl.Shape(l.Output))
			if l.Owner() != l.Shared { // an output of one call
				entry += " on " + strings.Join(fl.InputLayers(l), " and ")
			}
			calls[l.Shared] = append(calls[l.Shared], entry)
			continue
		}
		calls[l.Shared] = append(calls[l.Shared], l.Name+" on "+strings.Join(fl.InputLayers(l), " and "))
	}
	for _, s := range shared {
		n, k := len(owners[s]), outputs[s]
		switch {
		case k > 0 && owners[s][0] != s:
			fmt.Fprintf(w, "  %s is called %d times with %d outputs each, each output of each call a layer of its own: %s\n", s, n, k, strings.Join(calls[s], "; "))
		case k > 0:
			fmt.Fprintf(w, "  %s has %d outputs, each a layer of its own: %s\n", s, k, strings.Join(calls[s], "; "))
		default:
			fmt.Fprintf(w, "  %s is called %d times, each call a layer of its own: %s\n", s, n, strings.Join(calls[s], "; "))
		}
	}
}

// shapeText is a static shape as inspect shows it: the batch N, a size
// known at run time only ?.
func shapeText(s []int64) string {
	if s == nil {
		return "?"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		switch {
		case d < 0 && i == 0:
			parts[i] = "N"
		case d < 0:
			parts[i] = "?" // known at run time only (a Tensordot's)
		default:
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// ruleCoverage describes which layers a rule set changes and which
// activations it leaves at the exact derivative.
func ruleCoverage(fl *tfgraph.Flat, rs *tfgraph.RuleSet) []string {
	changed, plain := fl.RuleCoverage(rs)
	var out []string
	if len(changed) == 0 {
		out = append(out, fmt.Sprintf("warning: no ReLU-family activation on the input→logits path: %s equals the plain gradient on this model", rs.Name))
	} else {
		out = append(out, fmt.Sprintf("its rule at %d %s (%s)", len(changed), places(changed), opsOf(changed)))
	}
	if len(plain) > 0 {
		names := make([]string, 0, len(plain))
		for n := range plain {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) > 4 {
			names = append(names[:4], "…")
		}
		out = append(out, fmt.Sprintf("exact derivative at %d %s with other activations (%s): %s", len(plain), places(plain), opsOf(plain), strings.Join(names, ", ")))
	}
	return out
}

// places says what the keys of a RuleCoverage map are: layers, or nodes
// outside every layer too.
func places(m map[string][]string) string {
	for k := range m {
		if strings.HasPrefix(k, "node ") {
			return "layers or nodes outside layers"
		}
	}
	return "layers"
}

// opsOf lists the op types of a layer → ops map, sorted.
func opsOf(m map[string][]string) string {
	seen := map[string]bool{}
	var ops []string
	for _, list := range m {
		for _, op := range list {
			if !seen[op] {
				seen[op] = true
				ops = append(ops, op)
			}
		}
	}
	sort.Strings(ops)
	return strings.Join(ops, ", ")
}
