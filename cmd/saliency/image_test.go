package main

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The Kubernetes Job names the image `make image` builds: the Makefile's
// IMAGE at the version `saliency version` prints. A version bump that leaves
// the Job on the old tag fails here.
func TestJobImage(t *testing.T) {
	raw, err := os.ReadFile("../../scripts/cluster/k8s-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Image      string `yaml:"image"`
						WorkingDir string `yaml:"workingDir"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(raw, &job); err != nil {
		t.Fatal(err)
	}
	cs := job.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("the Job has %d containers, want 1", len(cs))
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	const repo = "ghcr.io/saliencykit/saliency"
	if !strings.Contains(string(mk), "\nIMAGE ?= "+repo+":$(SALIENCY_VERSION)\n") {
		t.Fatalf("the Makefile's IMAGE is no longer %s:$(SALIENCY_VERSION)", repo)
	}
	if want := repo + ":" + version; cs[0].Image != want {
		t.Errorf("k8s-job.yaml's image is %q; make image tags %q", cs[0].Image, want)
	}
	// The Containerfile lays /work out as the Job's command expects it.
	if cs[0].WorkingDir != "/work" {
		t.Errorf("k8s-job.yaml's workingDir is %q; the image's /work holds bin/saliency", cs[0].WorkingDir)
	}
}
