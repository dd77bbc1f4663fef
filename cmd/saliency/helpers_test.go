package main

import "github.com/saliencykit/saliency/tfgraph"

func tfVersion() string { return tfgraph.Version() }
