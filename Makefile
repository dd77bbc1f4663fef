# saliency: see README.md. `make demo` and `make test` are the two commands to know.
SHELL := /bin/bash
.DEFAULT_GOAL := build

# scripts/setup.sh writes TF_LIB_DIR, TF_INCLUDE_DIR and TF_LINK_DIR here; make
# remakes it (and restarts) when it is missing or requirements.txt changed. make image and
# image-base alone do without it: a clone builds its image without the venv.
# (A bare `make` has no goals and builds: it includes it.)
ifneq ($(strip $(MAKECMDGOALS)),)
ifeq ($(filter-out image image-base,$(MAKECMDGOALS)),)
NO_TF_ENV := 1
endif
endif
ifndef NO_TF_ENV
-include .tflib/env.mk
endif

export CGO_ENABLED := 1
export CGO_CFLAGS := -I$(TF_INCLUDE_DIR)
# TF_RPATH: where bin/saliency looks for libtensorflow at run time (the Containerfile moves it).
TF_RPATH ?= $(TF_LIB_DIR)
export CGO_LDFLAGS := -L$(TF_LINK_DIR) -Wl,-rpath,$(TF_RPATH) -Wl,--disable-new-dtags
export TF_CPP_MIN_LOG_LEVEL ?= 2

PY := .venv/bin/python
GO ?= go
BENCH ?= .
PKGS := ./...
# savedmodels/build_edge.py's models (make edge-models), which the tests need
EDGE_STAMP := savedmodels/edge/.built
# savedmodels/golden_units.py's unit gradients of the zoo (tf.gradients goldens for methods' unit targets) and golden_scan.py's top-k scans (the oracle of units)
UNITS_STAMP := savedmodels/edge/units/.built
# savedmodels/build_small_applications.py's models (make small-applications)
SMALL_APPS_STAMP := savedmodels/applications_small/.built

.PHONY: import-venv import-check bench-lrp parity-venv parity-weights parity-check parity-goldens setup build test test-race fuzz edge-models test-imagenet test-applications small-applications test-receptive-fields measure-load vet fmt demo zoo zoo-imagenet zoo-applications bench bench-compare bench-worker clean env segment-goldens xrai-goldens

.tflib/env.mk: requirements.txt requirements-nodeps.txt scripts/setup.sh go.mod
	./scripts/setup.sh

## setup: Python venv with the pinned TensorFlow wheel, the libtensorflow link, bin/saliency
setup:
	./scripts/setup.sh
	$(MAKE) build

## build: bin/saliency (rpath to libtensorflow; runs without LD_LIBRARY_PATH)
build: .tflib/env.mk
	$(GO) build -o bin/saliency ./cmd/saliency

# NOTF_PKGS are the packages that must not link TensorFlow.
NOTF_PKGS := ./experiments/analysis ./experiments/runfolder ./experiments/metrics ./experiments/stats ./methods/catalog ./reports ./segment
# NOCGO_PKGS link TensorFlow with cgo but also build without it: methods then
# tests the methods on methodstest's pure-Go net (its TensorFlow tests are
# tagged cgo).
NOCGO_PKGS := ./methods ./methods/methodstest

## vet, test: go vet and the whole test suite against the real TensorFlow
vet: .tflib/env.mk
	$(GO) vet $(PKGS)

test: .tflib/env.mk vet $(EDGE_STAMP) $(UNITS_STAMP)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.venv/*'))" || { echo "gofmt: files need formatting:"; gofmt -l .; exit 1; }
	@# NOTF_PKGS are tested once, below, without cgo (they ran twice, about 60 s of CPU).
	@# methods takes about 4 minutes on 2 quiet cores; go test's 10-minute default failed it at a load of 13.
	$(GO) test -count=1 -timeout 30m $$($(GO) list $(PKGS) | grep -v -x -F $(foreach p,$(NOTF_PKGS),-e github.com/saliencykit/saliency/$(patsubst ./%,%,$(p))))
	@# The run-folder format, the analysis and the report build and test without TensorFlow, and so do the methods on a pure-Go net.
	@! $(GO) list -deps $(NOTF_PKGS) | grep -q wamuir/graft || { echo "a package of NOTF_PKGS links TensorFlow"; exit 1; }
	CGO_ENABLED=0 $(GO) test -count=1 $(NOTF_PKGS) $(NOCGO_PKGS)

## edge-models: the models users bring that the zoo lacks (mixed precision, float64 and float16, two outputs, Rescaling, sigmoid and log_softmax heads, live augmentation, PReLU, tf.Module, LSTM, GRU, gelu tanh, LRN, dilated conv, uint8 input, an input without a channel axis, a channels-first model, a softmax in percent, a clipped log-softmax, a binary classifier's one logit and its sigmoid, a softmax over one column, batch norms in training mode, a StopGradient and an 8-bit quantisation at the input, a softmax reshaped after it, bicubic and lanczos resizing, caffe-mode preprocess_input, two outputs without a card, a logit squeezed to [N], top-k pooling, an average of softmaxes, a softmax written as exp/sum, scores normalised without a softmax, image patches and a pixel shuffle, element-wise functions, mirror pads, clips, gathers and a min pooling, a log of the input, a subset of a softmax's classes, logits through a ReLU, ReLUs written as max(x, 0) and as a thresholded select, crop_and_resize, a softmax over the batch, layers shared by two calls: test-time augmentation and a backbone at two scales, Keras 3 models saved with tf.saved_model.save and held by a tf.Module, an input of a fixed batch of one, encoded image bytes beside a pixel signature, a layer with two outputs, a transposed convolution, a nested backbone with two outputs, and each called twice), random weights and tf.GradientTape goldens, into savedmodels/edge (git-ignored; about a minute); rebuilt when build_edge.py or the requirements change. tfgraph's TestEdgeModels runs on them
edge-models: $(EDGE_STAMP) $(UNITS_STAMP)

$(EDGE_STAMP): savedmodels/build_edge.py requirements.txt | .tflib/env.mk
	$(PY) savedmodels/build_edge.py
	touch $@

$(UNITS_STAMP): savedmodels/golden_units.py savedmodels/golden_scan.py requirements.txt | .tflib/env.mk
	$(PY) savedmodels/golden_units.py
	mkdir -p savedmodels/edge/units/scan
	$(PY) savedmodels/golden_scan.py savedmodels/fmnist_vgg conv2_2 savedmodels/edge/units/scan/fmnist_vgg_conv2_2.json
	$(PY) savedmodels/golden_scan.py savedmodels/fmnist_vgg fc1 savedmodels/edge/units/scan/fmnist_vgg_fc1.json
	touch $@

## small-applications: eight keras.applications architectures (VGG16, ResNet50, MobileNetV2, DenseNet121, InceptionV3, Xception, EfficientNetB0, ConvNeXtTiny) at a 64×64 input (75×75 for InceptionV3 and Xception), random weights, into savedmodels/applications_small (git-ignored; about 1.5 minutes, 1 GB)
small-applications: $(SMALL_APPS_STAMP)

$(SMALL_APPS_STAMP): savedmodels/build_small_applications.py requirements.txt | .tflib/env.mk
	$(PY) savedmodels/build_small_applications.py
	touch $@

## test-receptive-fields: tfgraph's receptive fields against the supports of plain gradients on the small keras.applications models (about a minute once built; the zoo, edge and test models run in make test)
test-receptive-fields: .tflib/env.mk $(SMALL_APPS_STAMP)
	$(GO) test -count=1 -tags applications -run ReceptiveFieldKeras -v ./tfgraph

## test-race: the code that starts goroutines, under the race detector: tfgraph's "safe for concurrent use" claims, Close during runs, the stderr filter; SmoothGrad shared by goroutines; Blur IG's blurs and XRAI's scales on goroutines (TestPathMethodsChunks, TestXRAIScalesInParallel); units' prefetching scan; the report's figures and similarities on goroutines and the bootstrap's shared draws (TestFigures*, TestReport*InParallel, TestParallelBounded, TestCachedDrawsConcurrent); and the small pure-Go packages. The rest of reports, experiments/metrics and experiments/stats start no goroutine (grep 'go func'): make test covers them, and the race detector only tripled their time (about 3 min of CPU in CI)
RACE_TESTS := TestConcurrentUse|TestClosedModel|TestStderrFilter|TestCancelAndClose|TestRunBacksOffOnOOM|TestDerivedKernelsFollowFedWeights|TestQueryOneRun
test-race: .tflib/env.mk
	$(GO) test -race -count=1 -run '^($(RACE_TESTS))$$' ./tfgraph
	$(GO) test -race -count=1 -run '^(TestSmoothGradShared|TestPathMethodsChunks|TestXRAIScalesInParallel)$$' ./methods
	$(GO) test -race -count=1 ./units ./tensor ./images ./internal/...
	$(GO) test -race -count=1 -run '^(TestFiguresSameBytes|TestFiguresBounded|TestFiguresErrors)$$' ./reports
	$(GO) test -race -count=1 -run '^(TestReportSameBytesInParallel|TestReportCancelledInParallel|TestReportUnreadableUnitInParallel|TestParallelBounded)$$' ./experiments/analysis
	$(GO) test -race -count=1 -run '^TestCachedDrawsConcurrent$$' ./experiments/stats

## test-latex: the LaTeX of reports' tables (float, table*, supertabular, longtable), and every table of a report (REPORT=dir, e.g. experiments/paper.out; default the committed run's), compiled in a two-column article with pdflatex (Debian: texlive-latex-base, texlive-latex-recommended, texlive-latex-extra); no TensorFlow needed
.PHONY: test-latex
test-latex:
	SALIENCY_LATEX=1 CGO_ENABLED=0 $(GO) test -count=1 -run '^TestLaTeXCompiles$$' -v ./reports
	SALIENCY_LATEX=1 SALIENCY_LATEX_REPORT=$(REPORT) CGO_ENABLED=0 $(GO) test -count=1 -run '^TestReportLaTeX$$' -v ./experiments/analysis

## fuzz: each fuzz target for FUZZTIME (default 3m): experiment YAML, image decoding, card parsing; new crashers land in testdata/fuzz/ as regression cases
FUZZTIME ?= 3m
fuzz: .tflib/env.mk
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./experiments
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./images
	$(GO) test -run '^$$' -fuzz '^FuzzParseCard$$' -fuzztime $(FUZZTIME) ./savedmodels

fmt:
	gofmt -w $$(git ls-files '*.go')

## demo: set everything up, then run the main job on the committed models
demo: setup
	./scripts/demo.sh

## bench: Go benchmarks: forward and gradient throughput, every method on fmnist_vgg (batch 1, 32) and ResNet50 with random weights (batch 1, 8), and the committed experiments in maps/s (about an hour on 2 cores)
bench: .tflib/env.mk savedmodels/imagenet/resnet50/card.yaml
	$(GO) test -run '^$$' -bench 'Forward|Gradient' -benchtime 5x ./tfgraph
	$(GO) test -run '^$$' -bench '^Methods$$' -benchtime 3x -timeout 1h ./methods
	$(GO) test -run '^$$' -bench '^MethodsResNet50$$' -benchtime 1x -timeout 3h ./methods
	$(GO) test -run '^$$' -bench Experiments -benchtime 1x -timeout 1h ./experiments

## bench-compare: the side-by-side benchmark against tf-keras-vis, Xplique, PAIR saliency and a plain tf.function GradientTape (peer venv in bench/.venv); writes bench/RESULTS.md
bench-compare: bench-worker savedmodels/imagenet/resnet50/card.yaml bench/.venv/.done
	$(PY) bench/compare.py

## bench-worker: the Go side of bench/compare.py
bench-worker: .tflib/env.mk
	$(GO) build -o bin/bench-worker ./bench/worker

bench/.venv/.done: bench/requirements.txt bench/setup.sh
	./bench/setup.sh
	touch $@

## parity-venv: the PyTorch peer venv bench/torch/.venv (torch 2.15.0 CUDA build from PyPI, ~6 GB; Zennit, Captum, pytorch-grad-cam) for the issue-20 parity goldens; opt-in, not part of setup or test
parity-venv: bench/torch/.venv/.done

bench/torch/.venv/.done: bench/torch/requirements.txt bench/torch/setup.sh
	./bench/torch/setup.sh
	touch $@

## import-venv: the converter venv scripts/import/.venv (Python 3.11; TensorFlow 2.18.1, torch 2.15.0 CUDA build from PyPI ~6 GB, torchvision, nobuco, onnx + onnx2tf) for scripts/import_model.py (issue 23); opt-in, not part of setup or test
import-venv: scripts/import/.venv/.done

scripts/import/.venv/.done: scripts/import/requirements.txt scripts/import/setup.sh
	./scripts/import/setup.sh
	touch $@

## import-check: scripts/import/check_models.py: resnet18, mobilenet_v3_small, efficientnet_b0, a small ViT and a small CNN (random weights) through scripts/import_model.py, their logits and the toolkit's input gradient (explain -method gradient) against torch.autograd, and the default CAM layer by module name, the module names read from ONNX node names against torch's forward hooks (five models exported with batch norms kept and folded), a ReLU tie named at the ReLU, resnet18 exported to ONNX and as TorchScript (module names from its node names; none for a convolution with a batch norm folded in) and --torchvision-weights (classes, size, mean/std from the weights' metadata; refused without a state dict); then scripts/import/parity_models.py: Grad-CAM, IG, gradient x input and guided backprop on the converted models against pytorch-grad-cam and Captum on the original modules (opt-in, not in make test: needs make import-venv; writes scripts/import/out/)
import-check: build scripts/import/.venv/.done
	scripts/import/.venv/bin/python scripts/import/check_models.py
	scripts/import/.venv/bin/python scripts/import/parity_models.py

PARITY_MODELS := fmnist_vgg fmnist_resnet fmnist_gap
PARITY_WEIGHTS := $(foreach m,$(PARITY_MODELS),bench/torch/weights/$(m)/weights.npz)

## parity-weights: the zoo models' weights and layer graphs for their PyTorch copies (bench/torch/weights, git-ignored; main venv)
parity-weights: $(PARITY_WEIGHTS)

bench/torch/weights/%/weights.npz: savedmodels/%/saved_model.pb savedmodels/export_weights.py
	$(PY) savedmodels/export_weights.py $*

# ResNet50 (random weights, make zoo-imagenet) for bench/torch/lrp_bench.py
bench/torch/weights/resnet50/weights.npz: savedmodels/imagenet/resnet50/card.yaml savedmodels/export_weights.py
	$(PY) savedmodels/export_weights.py resnet50
	bench/torch/.venv/bin/python bench/torch/models.py resnet50

## parity-check: the PyTorch copies' logits against savedmodels/<m>/golden/logits.npy (max |diff| <= 1e-5)
parity-check: bench/torch/.venv/.done $(PARITY_WEIGHTS)
	bench/torch/.venv/bin/python bench/torch/models.py $(PARITY_MODELS)

## parity-goldens: Zennit, Captum and pytorch-grad-cam maps of the PyTorch copies into savedmodels/<m>/golden/peers/ (with manifest.json)
parity-goldens: parity-check
	bench/torch/.venv/bin/python bench/torch/peer_goldens.py $(PARITY_MODELS)

## pair-goldens: PAIR saliency 0.2.1's Guided IG and Blur IG of the zoo SavedModels into savedmodels/<m>/golden/peers/pair_*.npy with pair_manifest.json (issue 21; bench/.venv; opt-in, about 2 minutes)
pair-goldens: bench/.venv/.done
	bench/.venv/bin/python bench/pair_goldens.py $(PARITY_MODELS)

## gradshap-goldens: Captum 0.9.0's GradientShap on the PyTorch copies with the draws it made exported, into savedmodels/<m>/golden/peers/captum_gradientshap*.npy with captum_gradshap_manifest.json (issue 21; opt-in, about a minute)
gradshap-goldens: parity-check
	bench/torch/.venv/bin/python bench/torch/gradshap_goldens.py $(PARITY_MODELS)

## bench-lrp: LRP speed side by side with Zennit 0.5.1 (issue 20): each composite (methods lrp and tfgraph's rule set alone) against the plain gradient and Zennit's composite on the exact PyTorch copies of fmnist_resnet and ResNet50 (random weights) at batch 1 and 8, same CPU and threads, LRP_REPS interleaved rounds (default 20), kernel shares from profiles; writes bench/LRP.md and bench/lrp_results.json (opt-in, not in make test: needs make parity-venv and the ResNet50 of make zoo-imagenet; about 45 minutes on 2 cores)
LRP_REPS ?= 20
bench-lrp: bench-worker bench/torch/.venv/.done bench/torch/weights/fmnist_resnet/weights.npz bench/torch/weights/resnet50/weights.npz
	bench/torch/.venv/bin/python bench/torch/lrp_bench.py --reps $(LRP_REPS)

## segment-goldens: scikit-image 0.25.2's felzenszwalb, slic and quickshift labels of the zoo's sample images and three photographs into segment/testdata/ (with manifest.json; peer venv bench/.venv; opt-in, about 15 s); segment's TestSkimageGoldens reads them
segment-goldens: bench/.venv/.done
	bench/.venv/bin/python bench/segment_goldens.py

## xrai-goldens: PAIR saliency 0.2.1's XRAI on tf_keras copies of fmnist_vgg, fmnist_resnet and fmnist_gap (8 golden inputs: maps full and fast, the IG attribution, the segmentations) into savedmodels/<m>/golden/peers/pair_xrai*.npy with pair_xrai.json (peer venv bench/.venv; opt-in, about 2 minutes); methods' TestXRAIPeerParity reads them
xrai-goldens: bench/.venv/.done
	bench/.venv/bin/python bench/xrai_goldens.py
## binary-peers: tf-keras-vis 0.8.7's BinaryScore on a tf_keras copy of the edge model binary_logit against its goldens, whose class 0 scores -z and class 1 z as saliency's (bench/binary_peers.py; peer venv bench/.venv; opt-in, about 10 s)
.PHONY: binary-peers
binary-peers: bench/.venv/.done $(EDGE_STAMP)
	bench/.venv/bin/python bench/binary_peers.py

## blackbox-goldens: Xplique 2.0.2's RISE, Sobol, HSIC, LIME and KernelSHAP maps of the tf_keras twins of the zoo models, with the masks, designs, segmentations and samples they drew, into savedmodels/<m>/golden/peers/xplique/ (peer venv bench/.venv; opt-in, not in make test; about 4 minutes on 2 cores)
.PHONY: blackbox-goldens
blackbox-goldens: bench/.venv/.done
	bench/.venv/bin/python bench/blackbox_goldens.py $(PARITY_MODELS)

## bench-path-blackbox: issue 21's speed acceptance: Guided IG, Blur IG, XRAI against PAIR saliency 0.2.1, RISE, Sobol, HSIC, LIME, KernelSHAP against Xplique 2.0.2 (tf_keras copies, bench/.venv), Expected Gradients against Captum 0.9.0 GradientShap (PyTorch copies, bench/torch/.venv) on fmnist_vgg batch 1 and 32 and ResNet50 (random weights) batch 8, interleaved rounds, passes, peak RSS, map parity; writes bench/PATH_BLACKBOX.md and bench/path_blackbox_results.json (opt-in, not in make test; about 40 minutes on 2 cores, 33 of them ResNet50)
.PHONY: bench-path-blackbox
bench-path-blackbox: bench-worker bench/.venv/.done bench/torch/.venv/.done bench/torch/weights/fmnist_vgg/weights.npz bench/torch/weights/resnet50/weights.npz
	bench/.venv/bin/python bench/path_blackbox.py

## bench-import: issue 23's speed acceptance: the toolkit on resnet18 converted by scripts/import_model.py (random weights, seed 0) against Captum 0.9.0 on the original torch module, same CPU, threads (2 + 1) and inputs, batch 1 and 16: gradient, IG-50 (riemann-right, black baseline), Grad-CAM at layer4 and the forward pass, interleaved rounds (20; IG 20 and 10), per-round ratios, peak RSS, map parity (Pearson >= 0.999); writes bench/import_speed_results.json and its section of bench/RESULTS.md (opt-in, not in make test: needs make import-venv; about 22 minutes on 2 cores)
.PHONY: bench-import
bench-import: bench-worker scripts/import/.venv/.done
	scripts/import/.venv/bin/python bench/import_speed.py

savedmodels/imagenet/resnet50/card.yaml: | .tflib/env.mk
	$(PY) savedmodels/build_imagenet.py resnet50

## zoo: retrain the Fashion-MNIST zoo (about an hour on 2 cores; needs dataset-fashion-mnist)
zoo: .tflib/env.mk
	@test -d /usr/share/datasets/fashion-mnist || ./scripts/setup.sh
	$(PY) savedmodels/build_zoo.py --force

## zoo-imagenet: random-weight ImageNet-shaped SavedModels into savedmodels/imagenet (git-ignored)
zoo-imagenet: .tflib/env.mk
	$(PY) savedmodels/build_imagenet.py

## zoo-applications: every keras.applications architecture, random weights and BN statistics from one batch, into savedmodels/applications (git-ignored; hours on 2 cores, ~30 GB)
zoo-applications: .tflib/env.mk
	$(PY) savedmodels/build_applications.py

## test-applications: every keras.applications model: flatten, forward, plain gradient vs tf.GradientTape, rule sets, layers (about 25 min once built); the table goes to docs/models-table.md (copied into docs/models.md)
test-applications: zoo-applications
	SALIENCY_MODELS_MD=$(CURDIR)/docs/models-table.md $(GO) test -count=1 -timeout 3h -tags applications -run Applications -v ./tfgraph

## measure-load: load and first-gradient time and peak RSS, Python against Go, on VGG16, ResNet50 and InceptionV3 (docs/models.md)
measure-load: build zoo-applications
	$(PY) savedmodels/measure_load.py --go bin/saliency --markdown vgg16 resnet50 inception_v3

## test-imagenet: build the ImageNet-shaped models and test flattening and gradients on them
test-imagenet: zoo-imagenet
	$(GO) test -count=1 -tags imagenet -run ImageNet -v ./tfgraph

## env: print the cgo settings, to use go directly: eval "$$(make -s env)"
env: .tflib/env.mk
	@echo "export CGO_CFLAGS='$(CGO_CFLAGS)' CGO_LDFLAGS='$(CGO_LDFLAGS)' TF_CPP_MIN_LOG_LEVEL=$(TF_CPP_MIN_LOG_LEVEL)"

clean:
	rm -rf bin

## test-slurm: the Slurm scripts under a real Slurm on this machine (opt-in, not in make test; as root; about 50 s on 2 cores, 2 minutes when they are busy): installs Debian's slurm-wlm and munge where missing, starts munged, slurmctld and slurmd for localhost with 2 CPUs (state and logs in out/test-slurm), runs scripts/cluster/testdata/slurm-test.yaml as an array of 3 with the report job after it, each task killed mid-run (requeued while running; cancelled and requeued; cancelled and run again alone), and checks the folder against one local run, sha256 of every file; stops the daemons (scripts/cluster/test-slurm.sh)
.PHONY: test-slurm
test-slurm: build
	./scripts/cluster/test-slurm.sh
## image: the container image of Containerfile (bin/saliency with the wheel's libtensorflow, the zoo models and experiment files, Fashion-MNIST; no Python), tagged $(IMAGE) as scripts/cluster/k8s-job.yaml names it (opt-in; podman, or IMAGE_TOOL=buildah or docker). IMAGE_BASE=localhost/debian:bookworm-slim after make image-base where docker.io is out of reach; IMAGE_CA=<CA bundle file> behind a TLS-intercepting proxy (a build secret, not in the image)
SALIENCY_VERSION := $(shell sed -n 's/^const version = "\(.*\)"$$/\1/p' cmd/saliency/version.go)
IMAGE ?= ghcr.io/saliencykit/saliency:$(SALIENCY_VERSION)
IMAGE_BASE ?= docker.io/library/debian:bookworm-slim
IMAGE_TOOL ?= podman
IMAGE_CA ?=
comma := ,
.PHONY: image image-base
image:
	$(IMAGE_TOOL) build -f Containerfile -t $(IMAGE) --build-arg BASE=$(IMAGE_BASE) --build-arg VERSION=$(SALIENCY_VERSION) \
	  $(if $(IMAGE_CA),--secret id=ca$(comma)src=$(IMAGE_CA)) .

## image-base: a Debian bookworm slim base image from Debian's packages (debootstrap minbase, trimmed as debian:bookworm-slim), localhost/debian:bookworm-slim, for make image where no container registry can be reached (opt-in; root and debootstrap; about two minutes)
image-base:
	IMAGE_TOOL=$(IMAGE_TOOL) ./scripts/debian-base.sh localhost/debian:bookworm-slim
