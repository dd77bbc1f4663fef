package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// The cluster scripts of docs/scaling.md, run here as the scheduler would
// run them: the Slurm array's tasks and the Kubernetes indexed Job's pods as
// processes side by side on one shared folder, with the environment each
// scheduler sets. Each gives the same bytes as one uninterrupted run.
func TestClusterScripts(t *testing.T) {
	file := runExperimentFile(t)
	whole := filepath.Join(t.TempDir(), "whole")
	// The scripts run with -threads 2 (SLURM_CPUS_PER_TASK, the Job's
	// resources): the plan records the threads, and every shard of a run
	// uses the same.
	if code, stdout, stderr := runCLI("run", "-threads", "2", "-out", whole, file); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	want := tree(t, whole)
	env := func(extra ...string) []string {
		return append(os.Environ(), append([]string{"SALIENCY_TEST_MAIN=1", "SALIENCY=" + os.Args[0], "EXPERIMENT=" + file}, extra...)...)
	}
	start := func(name string, cmd *exec.Cmd) func() {
		var b bytes.Buffer
		cmd.Stdout, cmd.Stderr = &b, &b
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, b.String())
			}
		}
	}

	t.Run("slurm", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "slurm")
		// A task of an array that is not 1-n (here a shard run again
		// alone, --array=3) is refused unless SHARDS names n: it would
		// otherwise compute shard 1/1, the whole run.
		alone := []string{"OUT=" + out, "SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_MIN=3", "SLURM_ARRAY_TASK_MAX=3",
			"SLURM_ARRAY_TASK_COUNT=1", "SLURM_CPUS_PER_TASK=2"}
		refused := exec.Command("bash", "../../scripts/cluster/slurm-run.sbatch")
		refused.Env = env(alone...)
		if b, err := refused.CombinedOutput(); err == nil || !bytes.Contains(b, []byte("set SHARDS=n")) {
			t.Fatalf("task 3 of --array=3 without SHARDS: %v\n%s", err, b)
		}
		// Tasks 1 and 2 of --array=1-3, and task 3 as a rerun of its
		// shard alone (SHARDS=3 sbatch --array=3), with the variables
		// Slurm sets.
		var waits []func()
		for task := 1; task <= 3; task++ {
			cmd := exec.Command("bash", "../../scripts/cluster/slurm-run.sbatch")
			cmd.Env = env("OUT="+out, fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", task), "SLURM_ARRAY_TASK_MIN=1",
				"SLURM_ARRAY_TASK_MAX=3", "SLURM_ARRAY_TASK_COUNT=3", "SLURM_CPUS_PER_TASK=2")
			if task == 3 {
				cmd.Env = env(append(alone, "SHARDS=3")...)
			}
			waits = append(waits, start(fmt.Sprintf("array task %d", task), cmd))
		}
		for _, w := range waits {
			w()
		}
		rep := exec.Command("bash", "../../scripts/cluster/slurm-report.sbatch")
		rep.Env = env("OUT=" + out)
		start("report job", rep)()
		sameTree(t, "Slurm array of 3", want, tree(t, out))
	})

	t.Run("kubernetes", func(t *testing.T) {
		raw, err := os.ReadFile("../../scripts/cluster/k8s-job.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var job struct {
			Spec struct {
				Completions int `yaml:"completions"`
				Template    struct {
					Spec struct {
						Containers []struct {
							Command []string `yaml:"command"`
							Env     []struct{ Name, Value string }
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal(raw, &job); err != nil {
			t.Fatal(err)
		}
		c := job.Spec.Template.Spec.Containers[0]
		shards := ""
		for _, e := range c.Env {
			if e.Name == "SHARDS" {
				shards = e.Value
			}
		}
		if len(c.Command) != 3 || shards != fmt.Sprint(job.Spec.Completions) {
			t.Fatalf("the Job's command %q or SHARDS %q (completions %d) changed shape", c.Command, shards, job.Spec.Completions)
		}
		// Here: 3 pods instead of the Job's 4.
		out := filepath.Join(t.TempDir(), "k8s")
		var waits []func()
		for index := 0; index < 3; index++ {
			cmd := exec.Command(c.Command[0], c.Command[1], c.Command[2])
			cmd.Env = env("OUT="+out, "SHARDS=3", fmt.Sprintf("JOB_COMPLETION_INDEX=%d", index), "REPORT_POLL=0.2", "TMPDIR="+t.TempDir())
			waits = append(waits, start(fmt.Sprintf("pod %d", index), cmd))
		}
		for _, w := range waits {
			w()
		}
		got := tree(t, out)
		if _, ok := got["index.html"]; !ok {
			t.Fatal("pod 0 wrote no report")
		}
		sameTree(t, "indexed Job of 3", want, got)
	})
}
