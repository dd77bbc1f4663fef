"""The JSON-lines protocol of the side-by-side benchmarks, both ends, and the order statistics of their tables.

A side is a process of its own (bin/bench-worker, bench/peers.py, bench/torch/captum_worker.py, the Captum side of
bench/import_speed.py). It writes one JSON line when it is ready ({"ready": true, ...}), then answers each request
line on stdin with one line on stdout: {"method", "inputs" (an .npy), "options", "reps", "warmup", "save"} ->
{"ok", "times", "rss_peak_bytes", "map_shape", ...} or {"ok": false, "error"}. The driver's end is Worker; the
peer's end is take_stdout and serve. The standard library only: the bench venv, the torch venv and the converter
venv all import it (from bench/, appended to sys.path by the scripts in bench/torch, where bench/torch must not
pass for the torch package).
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- the driver's end ------------------------------------------------------------------------------------------

class Worker:
    """A side: the process cmd (in the repository, its stderr in the file log), started at once; ready is its
    first line. env adds to the environment; a value None removes the variable. With strict, an answer that is
    not ok raises RuntimeError naming the side, the method and the error; without, the caller reads "ok"."""

    def __init__(self, tool, cmd, log, env=None, strict=False):
        self.tool = tool
        self.strict = strict
        e = dict(os.environ)
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
        self.log = open(log, "w")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                  env=e, cwd=ROOT)
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("%s did not start; see %s" % (tool, self.log.name))
        self.ready = json.loads(line)

    def ask(self, req):
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("%s died; see %s" % (self.tool, self.log.name))
        ans = json.loads(line)
        if self.strict and not ans.get("ok"):
            raise RuntimeError("%s: %s: %s (log: %s)" % (self.tool, req.get("method"), ans.get("error"),
                                                         self.log.name))
        return ans

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=60)
        except Exception:
            self.p.kill()
        self.log.close()


# ---- the peer's end --------------------------------------------------------------------------------------------

def take_stdout():
    """The protocol's stream: the process's stdout, which from now on goes to stderr (a library that prints, a
    progress bar, must not write into the protocol)."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return -1


def reset_peak_rss():
    """Resets the peak RSS (VmHWM) of this process, so that each request reports its own; False where Linux
    refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError as e:
        log("clear_refs:", e)
        return False


class Prepared:
    """A request's call, made once per (inputs, method, options): run() is what is timed; finish(out) turns its
    last output into the map answered and saved (a layout change, a copy out of torch), untimed; extra is added
    to the answer; passes(), when given, the forward and backward rows of the last run per image (reset by
    reset() before each timed run)."""

    def __init__(self, run, finish=None, extra=None, passes=None, reset=None):
        self.run, self.finish, self.extra = run, finish, extra or {}
        self.passes, self.reset = passes, reset


def serve(proto, prepare, methods=None):
    """Answers the requests on stdin until it closes. prepare(req) gives the Prepared call of a request, or None
    for a method the side does not implement (as does a method outside methods, when given); it is called once
    per inputs, method and options. The call runs once untimed (unless "warmup" is false, which a driver sends
    once the same call ran), then "reps" times timed. An exception is answered as an error and serving goes on."""
    import numpy as np
    prepared = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            method, opts = req["method"], req.get("options") or {}
            key = (req["inputs"], method, json.dumps(opts, sort_keys=True))
            reset_peak_rss()
            if methods is not None and method not in methods:
                call = None
            elif key in prepared:
                call = prepared[key]
            else:
                call = prepared[key] = prepare(req)
            if call is None:
                ans = {"ok": False, "error": "not implemented"}
            else:
                out = call.run() if req.get("warmup", True) else None
                times = []
                for _ in range(max(1, int(req.get("reps", 1)))):
                    if call.reset is not None:
                        call.reset()
                    t = time.perf_counter()
                    out = call.run()
                    times.append(time.perf_counter() - t)
                arr = call.finish(out) if call.finish is not None else np.asarray(out)
                ans = {"ok": True, "times": times, "rss_peak_bytes": peak_rss_bytes(),
                       "map_shape": list(np.shape(arr))}
                ans.update(call.extra)
                if call.passes is not None:
                    p = call.passes()
                    if p is not None:
                        ans["passes"] = p
                if req.get("save"):
                    np.save(req["save"], np.ascontiguousarray(arr, dtype=np.float32))
                log("%s %s: %s" % (method, opts, " ".join("%.4f" % t for t in times)))
        except Exception as e:  # keep serving; the driver reports it
            import traceback
            traceback.print_exc(file=sys.stderr)
            ans = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        proto.write(json.dumps(ans) + "\n")
        proto.flush()


# ---- the tables ------------------------------------------------------------------------------------------------

def quantile(v, p):
    """The p-quantile of v, linear between order statistics (numpy's default)."""
    v = sorted(v)
    k = (len(v) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summary(v):
    return {"median": statistics.median(v), "q1": quantile(v, 0.25), "q3": quantile(v, 0.75), "n": len(v)}


def cpu_name():
    """/proc/cpuinfo's model name (platform.processor() where there is none)."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def cpu_id():
    """/proc/cpuinfo's vendor, family and model ("AuthenticAMD family 26 model 2"): model names such as "AMD EPYC"
    do not tell CPU generations apart, and oneDNN's kernels differ between them."""
    f = {}
    try:
        for line in open("/proc/cpuinfo"):
            k, _, v = line.partition(":")
            k = k.strip()
            if k in ("vendor_id", "cpu family", "model") and k not in f:
                f[k] = v.strip()
            if not line.strip():
                break
    except OSError:
        pass
    return "%s family %s model %s" % (f.get("vendor_id", "?"), f.get("cpu family", "?"), f.get("model", "?"))
