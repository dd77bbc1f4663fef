package main

import (
	"flag"
	"fmt"
	"runtime"

	"github.com/saliencykit/saliency/tfgraph"
)

// version is the toolkit's version.
const version = "0.1.0-dev"

var versionCmd = &command{
	name:  "version",
	args:  "",
	short: "print the versions of saliency, TensorFlow and Go",
	long:  "Version prints the versions of saliency, the TensorFlow library it runs, and Go.",
	flags: func(fs *flag.FlagSet) func(*ctx, []string) error {
		return func(c *ctx, args []string) error {
			if len(args) != 0 {
				return usagef("takes no arguments")
			}
			fmt.Fprintf(c.stdout, "saliency %s\nTensorFlow %s\n%s\n", version, tfgraph.Version(), runtime.Version())
			return nil
		}
	},
}
