// Command saliency explains the decisions of TensorFlow image classifiers with
// saliency maps.
//
// Usage:
//
//	saliency <command> [flags] [arguments]
//
// The commands are:
//
//	inspect    describe a SavedModel: signatures, inputs, outputs, model card
//	predict    classify images with a SavedModel (top-k classes)
//	explain    compute saliency maps of images: overlays, a grid figure, .npy maps
//	visualize  the image a class or a unit likes best: class model and feature visualisation
//	units      what each channel of a layer responds to: top-k images of a data set and their projections (Zeiler & Fergus)
//	run        run an experiment file: maps, reliability tests, tables and figures
//	report     build the report of an experiment's run folder
//	version    print the versions of saliency, TensorFlow and Go
//
// Exit status is 2 for a usage error and 1 for any other failure.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tfgraph"
)

// command is one subcommand, in the manner of cmd/go.
type command struct {
	name  string
	args  string // usage line after the name
	short string
	long  string
	flags func(fs *flag.FlagSet) func(c *ctx, args []string) error
}

// ctx carries the output streams of one invocation.
type ctx struct {
	stdout, stderr io.Writer
}

// usageError makes run exit with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// commands are the subcommands, in the order help lists them.
var commands []*command

func init() {
	commands = []*command{inspectCmd, predictCmd, explainCmd, visualizeCmd, unitsCmd, runCmd, reportCmd, versionCmd}
}

func main() {
	quietTensorFlow()
	os.Exit(run(os.Stdout, os.Stderr, os.Args[1:]))
}

// run is the whole command line; main only calls it.
func run(stdout, stderr io.Writer, args []string) int {
	out := &checkedWriter{w: stdout}
	code := run1(out, stderr, args)
	if out.err != nil && code == 0 {
		fmt.Fprintf(stderr, "saliency: writing standard output: %v\n", out.err)
		return 1
	}
	return code
}

// checkedWriter remembers the first write error, so that output lost to a
// full disk or a closed pipe is a failure, not a silent success.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	if err != nil {
		c.err = err
	}
	return n, err
}

// parseFlags parses flags wherever they stand among the positional
// arguments, as a user expects: "predict MODEL a.png -k 2" sets -k instead
// of reading "-k" and "2" as image names. After "--" everything is positional.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func run1(stdout, stderr io.Writer, args []string) int {
	c := &ctx{stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 2 {
			fmt.Fprintf(stderr, "saliency help: want one topic, have %d: %s\nRun 'saliency help' for the topics.\n", len(args)-1, strings.Join(args[1:], " "))
			return 2
		}
		if len(args) > 1 {
			if cmd := lookup(args[1]); cmd != nil {
				printCommandUsage(stdout, cmd, nil)
				return 0
			}
			if args[1] == "methods" {
				printMethods(stdout)
				return 0
			}
			topics := []string{}
			for _, c := range commands {
				topics = append(topics, c.name)
			}
			fmt.Fprintf(stderr, "saliency help: unknown help topic %q; topics: %s, methods\nRun 'saliency help' for usage.\n", args[1], strings.Join(topics, ", "))
			return 2
		}
		printUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd := lookup(args[0])
	if cmd == nil {
		fmt.Fprintf(stderr, "saliency: unknown command %q\nRun 'saliency help' for usage.\n", args[0])
		return 2
	}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runFn := cmd.flags(fs)
	fs.Bool("v", false, "verbose: keep TensorFlow's own INFO and WARNING lines on stderr (read before the library loads)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandUsage(stdout, cmd, fs)
			return 0
		}
		fmt.Fprintf(stderr, "saliency %s: %v\n", cmd.name, err)
		printCommandUsage(stderr, cmd, fs)
		return 2
	}
	if err := runFn(c, pos); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "saliency %s: %s\n", cmd.name, ue.msg)
			printCommandUsage(stderr, cmd, fs)
			return 2
		}
		fmt.Fprintf(stderr, "saliency %s: %v\n", cmd.name, err)
		noRuleHint(stderr, err)
		return 1
	}
	return 0
}

// noRuleHint explains a *tfgraph.NoRuleError in err, and says whether err
// held one.
func noRuleHint(w io.Writer, err error) bool {
	var nr *tfgraph.NoRuleError
	if !errors.As(err, &nr) {
		return false
	}
	if nr.Why != "" {
		return true // the error says what it is and what to do (a loop: unroll=True)
	}
	fmt.Fprintf(w, "The model has an op (%s) that the %s rule set has no backward rule for; docs/own-model.md says what this means and how to add a rule. Methods without a backward pass (occlusion, scorecam) still work.\n", nr.Op, nr.Rules)
	return true
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "Saliency explains the decisions of TensorFlow image classifiers.\n\nUsage:\n\n\tsaliency <command> [flags] [arguments]\n\nThe commands are:\n\n")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-10s %s\n", c.name, c.short)
	}
	fmt.Fprintf(w, "\nUse 'saliency help <command>' for more about a command,\nand 'saliency help methods' for the saliency methods and their options.\n")
}

func printCommandUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: saliency %s %s\n\n%s\n", cmd.name, cmd.args, cmd.long)
	if fs == nil {
		fs = flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		cmd.flags(fs)
	}
	fs.SetOutput(w)
	fmt.Fprintln(w, "\nFlags:")
	fs.PrintDefaults()
}

// quietTensorFlow keeps TensorFlow's INFO and WARNING lines off stderr.
// libtensorflow reads TF_CPP_MIN_LOG_LEVEL while it is loaded, before any Go
// code runs: quiet.go sets it from the executable's .preinit_array, before
// the library's constructors. Should that entry not have run (a linker that
// drops it), the process re-executes itself once with the level set. A user
// who sets the variable keeps their choice, and -v keeps TensorFlow's own
// lines.
func quietTensorFlow() {
	if _, ok := os.LookupEnv("TF_CPP_MIN_LOG_LEVEL"); ok || verbose(os.Args[1:]) {
		return
	}
	os.Setenv("TF_CPP_MIN_LOG_LEVEL", "2")
	if exe, err := os.Executable(); err == nil {
		syscall.Exec(exe, os.Args, os.Environ()) // returns only on failure
	}
}

// verbose says whether the command line asks for -v (before any "--"), as
// the .preinit_array entry of quiet.go reads it.
func verbose(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-v", "--v", "-v=true", "--v=true":
			return true
		}
	}
	return false
}

// printMethods lists the saliency methods with their options.
func printMethods(w io.Writer) {
	fmt.Fprintf(w, "Saliency methods (explain -method a,b; options with -set method.option=value):\n\n")
	for _, name := range methods.Names() {
		m, err := methods.New(name, nil)
		if err != nil {
			continue
		}
		fmt.Fprintf(w, "\t%-21s %s\n", name, strings.Join(methods.Options(m), ", "))
	}
	fmt.Fprintf(w, "\nDefaults and definitions: go doc github.com/saliencykit/saliency/methods.\n")
}
