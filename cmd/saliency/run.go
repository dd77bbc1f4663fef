package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/experiments/analysis"
	"github.com/saliencykit/saliency/experiments/runfolder"
)

var runCmd = &command{
	name:  "run",
	args:  "[-out DIR] [-shard k/n] [-dry-run] FILE.yaml",
	short: "run an experiment file: maps, reliability tests, tables and figures",
	long: `Run reads an experiment file (docs/experiments.md), checks it and its
models, layers and classes, and computes its units of work (model × image
batch × method × randomization step, and one per entry of units:, the
channels of a layer as 'saliency units' shows them) into the output
folder: the folder given to -out, else the one the file names. Each
finished unit is written at once, so a run that is stopped or killed
resumes where it was, and the results are the same bytes whatever the
order or the number of processes.

-shard k/n computes one slice of the units: n processes (a Slurm job array,
a Kubernetes indexed Job) sharing one output folder together compute the
whole run. When every unit is there, the run writes the report (the same as
'saliency report DIR'); a shard only writes it when it finds the run
complete and no other process of the run at work.

A process locks the folder for its shard (flock): a second process of the
same shard, or a run without shards beside a live one, is refused and told
the pid of the process at work. SIGINT or SIGTERM stop the run between two
units and the report between two files (exit 1); run the same command, or
'saliency report DIR', to go on.

-dry-run prints the plan, the units and an estimate of the time from one
timed unit of each model and method, and writes nothing.`,
	flags: func(fs *flag.FlagSet) func(*ctx, []string) error {
		var out, shard string
		var dry, noReport bool
		var threads int
		fs.StringVar(&out, "out", "", "output folder (default: the experiment's output)")
		fs.StringVar(&shard, "shard", "1/1", "compute the k-th of n slices of the units")
		fs.BoolVar(&dry, "dry-run", false, "print the plan and the estimated time; write nothing")
		fs.BoolVar(&noReport, "no-report", false, "do not write the report at the end")
		fs.Var((*threadsFlag)(&threads), "threads", threadsUsage+" (default: the experiment's threads:)")
		return func(c *ctx, args []string) error {
			if len(args) != 1 {
				return usagef("want one experiment file, have %d arguments", len(args))
			}
			sh, err := runfolder.ParseShard(shard)
			if err != nil {
				return usageError{err.Error()}
			}
			return runExperiment(c, args[0], out, sh, dry, !noReport, threads)
		}
	},
}

func runExperiment(c *ctx, file, out string, shard runfolder.Shard, dry, report bool, threads int) error {
	e, err := experiments.Load(file)
	if err != nil {
		return err
	}
	if out == "" {
		out = e.Output
	}
	ctxt, stop := signalContext()
	defer stop()
	if len(e.Include) > 0 {
		return runCollection(c, ctxt, e, out, shard, dry, report, threads)
	}
	missing, err := runOne(c, ctxt, e, out, shard, dry, threads)
	if err != nil || dry {
		return err
	}
	return afterRun(c, ctxt, out, shard, missing, report)
}

// signalContext is a context that SIGINT or SIGTERM cancel, in the run and
// in the report: the command then stops between two units or two files of
// the report. After the first signal the default action is back, so a
// second one ends the process at once.
func signalContext() (context.Context, context.CancelFunc) {
	ctxt, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctxt.Done()
		stop()
	}()
	return ctxt, stop
}

// afterRun writes the report at the end of a run, or says why it does not.
// A shard tries whenever it ends, so that the last process of the run to end
// writes it: the report is refused while another process of the run is at
// work (the folder's lock), and needs every unit.
func afterRun(c *ctx, ctxt context.Context, out string, shard runfolder.Shard, missing int, report bool) error {
	notFinished := func(n int) {
		fmt.Fprintf(c.stdout, "%s of other shards not finished yet; 'saliency report %s' writes the report when they are\n", plural(n, "unit is", "units are"), out)
	}
	if !report {
		if missing > 0 {
			notFinished(missing)
		}
		return nil
	}
	err := writeReport(c, ctxt, out)
	var le *runfolder.LockedError
	var me *runfolder.MissingError
	switch {
	case shard.N > 1 && errors.As(err, &le):
		who := "another process"
		if len(le.Holders) > 0 {
			who = strings.Join(le.Holders, "; ")
		}
		fmt.Fprintf(c.stdout, "other processes of the run are at work (%s): the last of them to end writes the report, or 'saliency report %s' does\n", who, out)
		return nil
	case shard.N > 1 && errors.As(err, &me):
		notFinished(len(me.Units))
		return nil
	}
	return err
}

// runCollection runs each experiment a collection includes into a
// subfolder, then, when all are complete, the reports.
func runCollection(c *ctx, ctxt context.Context, e *experiments.Experiment, out string, shard runfolder.Shard, dry, report bool, threads int) error {
	col, members, err := experiments.LoadCollection(e, out)
	if err != nil {
		return err
	}
	if !dry {
		if err := col.WriteCollectionFile(out); err != nil {
			return err
		}
	}
	missing := 0
	for _, m := range members {
		fmt.Fprintf(c.stdout, "== %s (%s)\n", m.Name, m.File)
		n, err := runOne(c, ctxt, m, m.Output, shard, dry, threads)
		if err != nil {
			return fmt.Errorf("%s: %w", m.File, err)
		}
		missing += n
	}
	if dry {
		return nil
	}
	return afterRun(c, ctxt, out, shard, missing, report)
}

// runOne runs one experiment's units (or prints its plan) and counts the
// units of the run, of any shard, that are not finished.
func runOne(c *ctx, ctxt context.Context, e *experiments.Experiment, out string, shard runfolder.Shard, dry bool, threads int) (int, error) {
	p, err := experiments.NewPlan(ctxt, e, experiments.PlanOptions{Version: version, Threads: threads})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	for _, m := range p.Models {
		for _, w := range m.Warnings {
			fmt.Fprintf(c.stderr, "saliency run: warning: model %s: %s\n", m.Name, w)
		}
	}
	for i, img := range p.Data.Pictures {
		transparencyNote(c.stderr, "run", p.Data.Sources[i], img)
	}
	units := p.Units()
	if dry {
		return 0, printPlan(c, p, out, shard, units)
	}
	bar := newProgress(c.stderr, "run "+e.Name, 0)
	st, err := p.Run(ctxt, experiments.RunOptions{Out: out, Shard: shard, Progress: bar.set})
	bar.finish()
	if st.LockNote != "" {
		fmt.Fprintf(c.stderr, "saliency run: note: %s\n", st.LockNote)
	}
	if err != nil {
		if ctxt.Err() != nil {
			return 0, fmt.Errorf("interrupted after %d of %d units; run the same command again to resume", st.Found+st.Computed, st.Owned)
		}
		return 0, err
	}
	fmt.Fprintf(c.stdout, "%s: %d units computed, %d found finished (shard %s: %d of %d) in %s\n",
		out, st.Computed, st.Found, shard, st.Owned, st.Units, st.Elapsed.Round(100*time.Millisecond))
	if st.NotApplicable > 0 {
		fmt.Fprintf(c.stdout, "%s a method that does not apply to its model (see the report)\n", plural(st.NotApplicable, "unit records", "units record"))
	}
	missing, err := runfolder.Missing(out)
	return len(missing), err
}

// printPlan prints what a run would do and how long it would take.
func printPlan(c *ctx, p *experiments.Plan, out string, shard runfolder.Shard, units []experiments.Unit) error {
	fmt.Fprintf(c.stdout, "experiment %s (%s), seed %d\n", p.Name, p.Exp.File, p.Seed)
	if len(p.Images) > 0 {
		fmt.Fprintf(c.stdout, "images     %d from %s %s, %d per unit\n", len(p.Images), p.Exp.Data.Source, p.Exp.Data.Path, p.Batch)
	}
	for _, m := range p.Models {
		if len(p.Methods) == 0 {
			fmt.Fprintf(c.stdout, "model      %s (%s)\n", m.Name, m.Path)
			continue
		}
		fmt.Fprintf(c.stdout, "model      %s (%s): CAM layer %s, target %s, %d steps (original + %d randomized)\n",
			m.Name, m.Path, m.Layer, m.Target, len(m.Steps), len(m.Steps)-1)
	}
	for i, l := range p.Layers {
		count := "every image"
		if l.Data.Count > 0 {
			count = fmt.Sprintf("%d images (seed %d)", l.Data.Count, l.Data.Seed)
		}
		d := p.Exp.Data
		if p.Exp.Units[i].Data != nil {
			d = *p.Exp.Units[i].Data
		}
		fmt.Fprintf(c.stdout, "units      %s %s: %d channels (receptive field %s), top %d of %s of %s %s, %s projections, into %s\n",
			l.Model, l.Layer, len(l.Channels), l.Field, l.K, count, d.Source, d.Path, l.Project, p.LayerDir(i))
	}
	fmt.Fprintf(c.stdout, "units      %d in all; shard %s computes %d\n", len(units), shard, (len(units)+shard.N-shard.K)/shard.N)
	fmt.Fprintf(c.stdout, "output     %s\n", out)
	if len(p.Methods) == 0 {
		return nil // no maps to time
	}
	fmt.Fprintf(c.stdout, "\nCalibrating (one unit of each model and method)…\n")
	cal, err := p.Calibrate(context.Background(), shard)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "model\tmethod\tunits\tper unit\ttotal\t")
	var total time.Duration
	for _, k := range cal {
		if k.NotApplicable != "" {
			fmt.Fprintf(tw, "%s\t%s\t%d\t-\t-\tnot applicable: %s\n", k.Model, k.Method, k.Units, k.NotApplicable)
			continue
		}
		t := k.PerUnit * time.Duration(k.Units)
		total += t
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t\n", k.Model, k.Method, k.Units, k.PerUnit.Round(time.Millisecond), t.Round(time.Second))
	}
	tw.Flush()
	without := "loading the models"
	if len(p.Layers) > 0 {
		without += " and the layers' units"
	}
	fmt.Fprintf(c.stdout, "\nestimated time of shard %s: %s (without %s)\n", shard, total.Round(time.Second), without)
	return nil
}

var reportCmd = &command{
	name:  "report",
	args:  "DIR",
	short: "build the report of an experiment's run folder",
	long: `Report reads the units present in a run folder (written by 'saliency run',
possibly by several shards) and writes the report: similarity metrics with
bootstrap confidence intervals, verdicts, tables (CSV, JSON, LaTeX),
figures (PNG, SVG, PDF), index.md, a self-contained index.html and
manifest.json. It lists the units that are missing and fails if there
are any. It is refused (exit 1, naming the processes) while a run is at
work in the folder. SIGINT or SIGTERM stop it between two files: every
file is written whole, and running it again gives the bytes of an
uninterrupted report.`,
	flags: func(fs *flag.FlagSet) func(*ctx, []string) error {
		return func(c *ctx, args []string) error {
			if len(args) != 1 {
				return usagef("want one run folder, have %d arguments", len(args))
			}
			ctxt, stop := signalContext()
			defer stop()
			return writeReport(c, ctxt, args[0])
		}
	},
}

// writeReport writes the report of a run or collection folder. SIGINT or
// SIGTERM (ctxt) stop it between two files, leaving whole files only: the
// same command then writes the report of an uninterrupted run.
func writeReport(c *ctx, ctxt context.Context, dir string) error {
	bar := &reportProgress{bar: newProgress(c.stderr, "report", 0)}
	write := analysis.WriteReportContext
	if _, err := runfolder.ReadCollection(dir); err == nil {
		write = analysis.WriteCollectionReportContext
	}
	r, err := write(ctxt, dir, analysis.ReportOptions{Progress: bar.part, Figures: bar.figure})
	bar.bar.finish()
	if err != nil {
		if ctxt.Err() != nil {
			return fmt.Errorf("interrupted while writing the report; 'saliency report %s' writes it", dir)
		}
		return err
	}
	if r.LockNote != "" {
		fmt.Fprintf(c.stderr, "saliency: note: %s\n", r.LockNote)
	}
	for _, v := range r.Verdicts {
		fmt.Fprintln(c.stdout, v)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(c.stderr, "saliency report: warning: %s\n", w)
	}
	fmt.Fprintf(c.stdout, "%s\n", filepath.Join(dir, "index.html"))
	return nil
}

// reportProgress shows a report's parts on the bar, and beside the current
// part the figures written of those queued so far, one update per figure
// (figures are written on other goroutines while the parts go on).
type reportProgress struct {
	bar             *progress
	mu              sync.Mutex
	done, total     int
	item            string
	written, queued int
}

// part is analysis.ReportOptions.Progress.
func (r *reportProgress) part(done, total int, part string) {
	r.mu.Lock()
	r.done, r.total, r.item = done, total, part
	r.mu.Unlock()
	r.show()
}

// figure is analysis.ReportOptions.Figures.
func (r *reportProgress) figure(written, queued int, _ string) {
	r.mu.Lock()
	r.written, r.queued = written, queued
	r.mu.Unlock()
	r.show()
}

func (r *reportProgress) show() {
	r.mu.Lock()
	done, total, item := r.done, r.total, r.item
	if r.queued > 0 {
		item += fmt.Sprintf(" · figure %d/%d", r.written, r.queued)
	}
	r.mu.Unlock()
	r.bar.set(done, total, item)
}

// plural is "1 <one>" or "n <many>".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
