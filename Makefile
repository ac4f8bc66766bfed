# hessian-blocks: `make demo` runs the main pipeline on a built-in default,
# `make test` runs every test. Both install what they need (scripts/setup).

CARGO ?= cargo
RELEASE := target/release
OUT ?= out

.PHONY: all setup build test gpu-bundle demo demo-synthetic bench clean-out help figures fig-demo fig1 fig1-init fig4 fig6 fig8 fig8-rotation table1 table2 table3 fig5 table3-trained fig10 fig11 fig2 fig3 fig7 table1-hypotheses table3-hypotheses fig1-training fig-js0-gap figures-init figures-training

all: build

help:
	@echo "make demo    gpt2-small and the MLP at init: blockwise spectra and JS0 (about 2 min)"
	@echo "make demo-synthetic  the spectral core alone on a synthetic fixture (seconds)"
	@echo "make test    install what is missing, then check formatting and lints and run every test"
	@echo "make bench   speed and accuracy against the Python way (README, 'Speed and accuracy')"
	@echo "make build   release binaries in $(RELEASE)/"
	@echo "make gpu-bundle  hvp-dump and nn-train for the device's torch 2.11, launcher and check, in gpu-bundle/ (docs/gpu.md)"
	@echo "make figures every figure and table of the paper, into $(OUT)/ (docs/reproduction.md):"
	@echo "             figures-init (no training) and figures-training (nn-train)"
	@echo "  fig1       paper Figure 1: fig1-init and fig1-training"
	@echo "  fig1-init  blockwise spectra at initialization, gpt2-small against the MLP (the paper's Figure 3 view)"
	@echo "  fig2       paper Figure 2: dense |H| of tiny Transformers (1, 2, 4 layers), boxes and in-box share"
	@echo "  fig3       paper Figure 3: four blocks' spectra / 10th eigenvalue, every small zoo model"
	@echo "  fig4       paper Figure 4: heatmaps of pairwise JS distances"
	@echo "  table1     paper Table 1: JS0 of each model at initialization, beside the paper's values"
	@echo "  table1-hypotheses  JS0 under the tested readings of the authors' computation (bounded JS, skl, HVPs x60)"
	@echo "  table3     paper Table 3: JS0 of the MLP against the layer scale c"
	@echo "  table3-hypotheses  Table 3 under the tested readings, and the authors' density grid (NaN from which c?)"
	@echo "  fig6       paper Figure 6: Case 1 block spectra (from our gpt2-small)"
	@echo "  fig7       paper Figure 7: Case 2 block spectra (from our resnet18-narrow)"
	@echo "  fig8       paper Figure 8: GD vs Adam, steps grid-searched, Cases 1-4, with a verdict per case"
	@echo "  fig8-rotation  Figure 8's Cases 3 and 4 with and without rotated blocks (issue 19), Adam's speed-ups"
	@echo "  table2     paper Table 2 and Section 3's claims, checked (theory-check)"
	@echo "  fig5       paper Figure 5: MLP accuracy after 1 epoch (SGD, Adam) and JS0 against c (nn-train)"
	@echo "  table3-trained  JS0 at initialization with bootstrap intervals, c = 1..15"
	@echo "  fig10      paper Figure 10: SGD vs AdamW on the CNNs (nn-train)"
	@echo "  fig11      paper Figure 11: SGD vs AdamW on the Transformers (nn-train)"
	@echo "  fig1-training  paper Figure 1: full-Hessian spectra at 0/25/50/100% of training"
	@echo "  fig-js0-gap    beyond the paper: JS0 at init against the SGD-AdamW gap (the first, weak test)"
	@echo "make study   does JS0 or a rival predict the SGD-AdamW gap? 24 configurations, 3 seeds (docs/study.md)"
	@echo "make study-quick  the same steps on 6 configurations with short budgets (a smoke run)"
	@echo "make study-jobs PHASE=1|2|3  one command per study job, for GNU parallel or a Slurm array"
	@echo "make rescue  SGD with per-block rates (curvature, gradient rules) against the study's SGD and AdamW (docs/mechanism.md)"
	@echo "make imbalance  SGD and AdamW on imbalanced classes (--class-zipf 0, 1, 2), gaps and JS0 (docs/mechanism.md)"
	@echo "make rescue-quick, make imbalance-quick  the same steps at a smoke scale"
	@echo "  fig-demo   densities and JS heatmap of the synthetic fixture"
	@echo "  SPECTRA_FLAGS='--probes 3 --steps 50' adds hvp-dump flags to every spectrum (a quick look)"

setup:
	@scripts/setup

build: setup
	$(CARGO) build --release --workspace

# Formatting and lints are part of the test: CI holds them. No incremental
# state for the test build: it adds gigabytes to target/debug (CI's disk).
test: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --quiet -- -D warnings
	CARGO_INCREMENTAL=0 $(CARGO) test --workspace

# For a GPU machine whose image has torch 2.11 and no Rust (docs/gpu.md):
# a second virtualenv (.venv-torch211), a side build with tch 0.24 in
# target/gpu-bundle, and the folder a device call carries. Not part of test.
gpu-bundle:
	scripts/gpu/bundle gpu-bundle

# The main job: Hessian spectra of a small GPT-2 (nanoGPT names, Shakespeare
# characters) and of the paper's MLP (MNIST) at initialization, block by block,
# and the heterogeneity (JS0) of each, with bootstrap intervals.
# SPECTRA_FLAGS adds hvp-dump flags to every spectrum below, e.g. a quick
# look: make fig3 SPECTRA_FLAGS='--probes 3 --steps 50' OUT=out-quick
SPECTRA_FLAGS ?=
GPT_BLOCKS := --split-qkv --block wte --block wpe --block 'h.*.attn.w?' --block 'h.*.attn.c_proj.weight' --block 'h.*.mlp.*.weight'
MLP_BLOCKS := --block 'fc*.weight'

$(OUT)/gpt2-small.tridiag.jsonl: | build
	@mkdir -p $(OUT)
	$(RELEASE)/hvp-dump --model gpt2-small $(GPT_BLOCKS) $(SPECTRA_FLAGS) > $@.part && mv $@.part $@

$(OUT)/mlp.tridiag.jsonl: | build
	@mkdir -p $(OUT)
	$(RELEASE)/hvp-dump --model mlp $(MLP_BLOCKS) $(SPECTRA_FLAGS) > $@.part && mv $@.part $@

$(OUT)/%.density.jsonl: $(OUT)/%.tridiag.jsonl
	$(RELEASE)/slq-density $< > $@

demo: $(OUT)/gpt2-small.density.jsonl $(OUT)/mlp.density.jsonl
	cat $^ | $(RELEASE)/block-js --bootstrap 100 --seed 1 | tee $(OUT)/demo.jsonl \
	  | jq -c 'select(.type == "heterogeneity") | {model, metric, JS0: .value, se, ci90, blocks: (.blocks | length)}'

# The spectral core alone, on Lanczos tridiagonals of synthetic block spectra
# (testdata/demo-tridiag.jsonl, made by `cargo run -p lanczos --example synthetic_tridiag`).
demo-synthetic: build
	$(RELEASE)/slq-density testdata/demo-tridiag.jsonl | $(RELEASE)/block-js --bootstrap 100 --seed 1 \
	  | jq -c 'select(.type == "heterogeneity")'

# Speed and accuracy against the peers (installs them into .venv-bench, for the bench only).
bench: setup
	scripts/bench/bench

figures: figures-init figures-training

# No training needed.
figures-init: fig1-init fig2 fig3 fig4 table1 table1-hypotheses table3 table3-hypotheses fig6 fig7 fig8 table2 fig-demo

# With nn-train (docs/training.md has each target's time).
figures-training: fig1-training fig5 table3-trained fig10 fig11 fig-js0-gap

fig1: fig1-init fig1-training

# Figures 1/3: blockwise spectra at initialization, Transformer against MLP,
# on log10|eigenvalue| (the spectra span many decades).
fig1-init: $(OUT)/gpt2-small.tridiag.jsonl $(OUT)/mlp.tridiag.jsonl
	cat $^ | $(RELEASE)/slq-density --log --sigma 0.05 --format csv > $(OUT)/fig1.csv
	gnuplot -e "in='$(OUT)/fig1.csv'; out='$(OUT)/fig1.png'; models='gpt2-small mlp'; xlabel='log10 |eigenvalue|'" scripts/gnuplot/densities.gp
	@echo "wrote $(OUT)/fig1.png"

# Figure 4: pairwise JS distances between blocks.
fig4: $(OUT)/gpt2-small.density.jsonl $(OUT)/mlp.density.jsonl
	cat $^ | $(RELEASE)/block-js --format matrix > $(OUT)/fig4.dat
	gnuplot -e "in='$(OUT)/fig4.dat'; out='$(OUT)/fig4-gpt2-small.png'; model='gpt2-small'" scripts/gnuplot/heatmap.gp
	gnuplot -e "in='$(OUT)/fig4.dat'; out='$(OUT)/fig4-mlp.png'; model='mlp'" scripts/gnuplot/heatmap.gp
	@echo "wrote $(OUT)/fig4-gpt2-small.png $(OUT)/fig4-mlp.png"

# Table 1: JS0 of each model at initialization, in both metrics: the small
# members of each family (the paper-size ones need a GPU for their Hessians).
# Weight matrices and convolutions only, as in the paper's figures.
BLOCKS_resnet18-narrow := --block conv1.weight --block 'layer*.conv*.weight' --block 'layer*.downsample.0.weight' --block fc.weight
BLOCKS_vgg-small := --block 'features.*.weight' --block 'classifier.*.weight'
BLOCKS_vit-small := --block patch_embed.proj.weight --block 'blocks.*.attn.*.weight' --block 'blocks.*.mlp.*.weight' --block head.weight
BLOCKS_bert-small := --block 'embedding.*' --block 'encoder.*.*.weight' --block mask_lm.linear.weight --block next_sentence.linear.weight
TABLE1_MODELS := gpt2-small mlp resnet18-narrow vgg-small vit-small bert-small
# The paper's Table 1 (and Table 3's c = 1 for the MLP), beside our small models.
TABLE1_PAPER := gpt2-small GPT2:83.23,GPT2-nano:14.93 mlp MLP(Table3,c=1):1e-3 resnet18-narrow ResNet18:0.10 \
  vgg-small VGG16:0.09 vit-small ViT-base:286.41 bert-small BERT:53.38 gpt2-nano GPT2-nano:14.93 gpt2 GPT2:83.23

$(OUT)/resnet18-narrow.tridiag.jsonl $(OUT)/vgg-small.tridiag.jsonl $(OUT)/vit-small.tridiag.jsonl $(OUT)/bert-small.tridiag.jsonl: $(OUT)/%.tridiag.jsonl: | build
	@mkdir -p $(OUT)
	$(RELEASE)/hvp-dump --model $* $(BLOCKS_$*) $(SPECTRA_FLAGS) > $@.part && mv $@.part $@

table1: $(TABLE1_MODELS:%=$(OUT)/%.density.jsonl)
	( cat $^ | $(RELEASE)/block-js --bootstrap 100 --seed 1 --format csv ; cat $^ | $(RELEASE)/block-js --metric skl-floored --format csv ) \
	  | awk -F, -v paper="$(TABLE1_PAPER)" 'BEGIN { n = split(paper, p, " "); for (i = 1; i < n; i += 2) v[p[i]] = p[i + 1] } \
	      $$1=="heterogeneity" {printf "%-16s %-12s %12.6g %10s   %s\n", $$2, $$5, $$6, $$7, ($$2 in v) ? v[$$2] : "-"}' \
	  | (printf "%-16s %-12s %12s %10s   %s\n" model metric JS0 se "paper (its model: JS0)"; cat) | tee $(OUT)/table1.txt

# Readings of the authors' computation, tested on the same spectra (see the script).
table1-hypotheses: $(TABLE1_MODELS:%=$(OUT)/%.tridiag.jsonl)
	RELEASE=$(RELEASE) scripts/table1-hypotheses $^ | tee $(OUT)/table1-hypotheses.txt

# Table 3: the MLP with each layer's output scaled by c (paper Section 2.4).
# The paper's own computation returned NaN at c >= 9; ours stays finite.
LAYER_SCALES ?= 1 2 4 6 8 9 10
table3: | build
	@mkdir -p $(OUT)
	@for c in $(LAYER_SCALES); do \
	  $(RELEASE)/hvp-dump --model mlp --layer-scale $$c $(MLP_BLOCKS) --probes 5 --steps 50 \
	    | $(RELEASE)/slq-density | $(RELEASE)/block-js --format csv \
	    | awk -F, -v c=$$c '$$1=="heterogeneity" {print c "," $$6}'; \
	done | (echo "c,JS0"; cat) | tee $(OUT)/table3.csv

# Table 3's hypotheses: the MLP's spectra at each c (table3's setting), JS0
# under the readings of table1-hypotheses, and the authors' density grid
# (does it turn NaN where the paper's Table 3 does, from c = 9?).
TABLE3_HYPOTHESIS_SCALES ?= 1 2 4 6 8 9 10 12 15
$(OUT)/mlp-c%.tridiag.jsonl: | build
	@mkdir -p $(OUT)
	$(RELEASE)/hvp-dump --model mlp --layer-scale $* $(MLP_BLOCKS) --probes 5 --steps 50 --threads 1 \
	  --label mlp-c$* > $@.part && mv $@.part $@

table3-hypotheses: $(TABLE3_HYPOTHESIS_SCALES:%=$(OUT)/mlp-c%.tridiag.jsonl)
	( RELEASE=$(RELEASE) scripts/table1-hypotheses $^; echo; \
	  .venv/bin/python scripts/authors_grid.py $^; echo; \
	  .venv/bin/python scripts/authors_grid.py --scale 60 $^ ) | tee $(OUT)/table3-hypotheses.txt

# Case 1 for table2: block spectra sampled from our own gpt2-small densities:
# embedding, last layer's query and value, last layer's MLP fc.
$(OUT)/case1-spectra.density.jsonl: | build
	@mkdir -p $(OUT)
	$(RELEASE)/hvp-dump --model gpt2-small --split-qkv --block wte --block h.1.attn.wq --block h.1.attn.wv \
	  --block h.1.mlp.c_fc.weight | $(RELEASE)/slq-density > $@.part && mv $@.part $@

$(OUT)/quad-case1.jsonl: $(OUT)/case1-spectra.density.jsonl
	$(RELEASE)/quad-sim --case 1 --spectra $< --emit-spectra --iters 5000 --every 10 \
	  --optimizer gd --optimizer adam --optimizer adam-frozen > $@

# Figure 6 draws the Case 1 problem of Figure 8 (the shipped gpt2-small
# spectra, testdata/quad/), as Figure 7 draws Case 2.
fig6: $(OUT)/fig8-case1.jsonl
	jq -r 'select(.type=="spectrum") | .block as $$b | .eigenvalues[] | [$$b, .] | @csv' $< > $(OUT)/fig6.csv
	gnuplot -e "in='$(OUT)/fig6.csv'; out='$(OUT)/fig6.png'; title='Case 1: block spectra from gpt2-small (ours)'" scripts/gnuplot/fig67.gp
	@echo "wrote $(OUT)/fig6.png"

# Section 3: GD (eta = 2/(mu+L)), Adam beta2 = 0.999 (tuned) and Adam beta2 = 1
# (frozen D0) on the heterogeneous Case 3 and the homogeneous Case 4.
$(OUT)/quad-case3.jsonl $(OUT)/quad-case4.jsonl: $(OUT)/quad-case%.jsonl: | build
	@mkdir -p $(OUT)
	$(RELEASE)/quad-sim --case $* --iters 5000 --every 10 --optimizer gd --optimizer adam --optimizer adam-frozen > $@

# Figure 8 as the paper ran it: every case, condition number 2000, 5000
# steps, GD and Adam (beta1 = 0; beta2 = 0.999 and beta2 = 1) each with its
# step grid-searched (6 points a decade from 1e-5 to 1, plus the theory step)
# by the smallest final gradient norm, and GD also at the paper's 2/(mu+L).
# Cases 1 and 2 sample the shipped spectra of our gpt2-small and
# resnet18-narrow (testdata/quad/).
FIG8_FLAGS := --kappa 2000 --iters 5000 --every 10 --stop-rel 0 --tune-by grad-norm --lr-log-grid 1e-5:1:6 \
  --optimizer gd --optimizer gd=grid --optimizer adam=grid --optimizer adam-frozen=grid

$(OUT)/fig8-case1.jsonl $(OUT)/fig8-case2.jsonl $(OUT)/fig8-case3.jsonl $(OUT)/fig8-case4.jsonl: $(OUT)/fig8-case%.jsonl: | build
	@mkdir -p $(OUT)
	$(RELEASE)/quad-sim --case $* --emit-spectra $(FIG8_FLAGS) > $@.part && mv $@.part $@

$(OUT)/fig8-case%.csv: $(OUT)/fig8-case%.jsonl
	scripts/fig8-csv $< > $@

FIG8_CASES := 1 2 3 4
fig8: $(FIG8_CASES:%=$(OUT)/fig8-case%.csv)
	gnuplot -e "files='$^'; titles='(a)_Case_1:_gpt2-small_spectra (b)_Case_2:_resnet18-narrow_spectra (c)_Case_3:_heterogeneous (d)_Case_4:_homogeneous'; out='$(OUT)/fig8.png'" scripts/gnuplot/fig8.gp
	scripts/fig8-verdict $(FIG8_CASES:%=$(OUT)/fig8-case%.jsonl) | tee $(OUT)/fig8.txt
	@echo "wrote $(OUT)/fig8.png $(OUT)/fig8.txt"

# Issue 19's second intervention: is Adam's advantage on Case 3 coordinate-wise
# or block-wise? Cases 3 and 4 with Haar-rotated blocks (the paper's) and with
# diagonal ones (quad-sim --rotation none: the same block spectra and w0, so
# the same JS0). GD (at 2/(mu+L) and grid-searched), blockwise GD and Adam
# (beta2 = 0.999 and 1), every step grid-searched as in fig8; every iterate
# written, for the speed-ups of scripts/fig8-rotation-verdict. Needs only
# quad-sim: no libtorch crate is built.
FIG8_ROTATION_FLAGS := --kappa 2000 --iters 5000 --every 1 --stop-rel 0 --tune-by grad-norm --lr-log-grid 1e-5:1:6 \
  --optimizer gd --optimizer gd=grid --optimizer bgd=grid --optimizer adam=grid --optimizer adam-frozen=grid
FIG8_ROTATION_RUNS := 3-haar 3-none 4-haar 4-none
fig8-rotation:
	@scripts/setup --no-torch
	$(CARGO) build --release -p quad-sim
	@mkdir -p $(OUT)
	for run in $(FIG8_ROTATION_RUNS); do \
	  f=$(OUT)/fig8-rotation-case$$run; \
	  $(RELEASE)/quad-sim --case $${run%-*} --rotation $${run#*-} $(FIG8_ROTATION_FLAGS) > $$f.jsonl.part && mv $$f.jsonl.part $$f.jsonl \
	    && scripts/fig8-csv $$f.jsonl > $$f.csv || exit 1; \
	done
	gnuplot -e "files='$(FIG8_ROTATION_RUNS:%=$(OUT)/fig8-rotation-case%.csv)'; titles='(a)_Case_3,_Haar-rotated_blocks_(the_paper) (b)_Case_3,_diagonal_blocks_(--rotation_none) (c)_Case_4,_Haar-rotated_blocks_(the_paper) (d)_Case_4,_diagonal_blocks_(--rotation_none)'; out='$(OUT)/fig8-rotation.png'" scripts/gnuplot/fig8.gp
	scripts/fig8-rotation-verdict $(FIG8_ROTATION_RUNS:%=$(OUT)/fig8-rotation-case%.jsonl) | tee $(OUT)/fig8-rotation.txt
	@echo "wrote $(OUT)/fig8-rotation.png $(OUT)/fig8-rotation.txt"

# Figure 7 / Case 2: the block spectra of Figure 8's Case 2 (sampled from
# our resnet18-narrow's first four convolutions).
fig7: $(OUT)/fig8-case2.jsonl
	jq -r 'select(.type=="spectrum") | .block as $$b | .eigenvalues[] | [$$b, .] | @csv' $< > $(OUT)/fig7.csv
	gnuplot -e "in='$(OUT)/fig7.csv'; out='$(OUT)/fig7.png'; title='Case 2: block spectra from resnet18-narrow (ours)'" scripts/gnuplot/fig67.gp
	@echo "wrote $(OUT)/fig7.png"

# Figure 2: the dense Hessian over the attention and MLP parameters of the
# tiny decoder of Appendix C.2 (context 2, 2 heads, width 4, no LayerNorm).
FIG2_LAYERS := 1 2 4
$(OUT)/fig2-%.dat: | build
	@mkdir -p $(OUT)
	$(RELEASE)/hvp-dump --model tiny-transformer --layers $* --list-blocks > $(OUT)/fig2-$*.blocks.tsv
	$(RELEASE)/hvp-dump --model tiny-transformer --layers $* --exact --dtype f64 --block all > $(OUT)/fig2-$*.hessian.jsonl
	scripts/fig2-matrix $(OUT)/fig2-$*.blocks.tsv $(OUT)/fig2-$*.hessian.jsonl > $@.part && mv $@.part $@

fig2: $(FIG2_LAYERS:%=$(OUT)/fig2-%.dat)
	gnuplot -e "files='$^'; titles='1_layer 2_layers 4_layers'; out='$(OUT)/fig2.png'" scripts/gnuplot/fig2.gp
	@for n in $(FIG2_LAYERS); do printf "%s layer(s): " $$n; sed -n 's/^# share: //p' $(OUT)/fig2-$$n.dat; done | tee $(OUT)/fig2.txt
	@echo "wrote $(OUT)/fig2.png $(OUT)/fig2.txt"

# Figure 3: four blocks per model (Transformers: embedding, a query, a value,
# an MLP block of the last layer; CNNs: the 1st-4th convolutions; the MLP:
# its four layers), eigenvalues divided by the 10th largest, Gaussian width
# 0.1 of that unit, log density.
# vit-small's attention is one fused qkv block: its qkv and proj stand in.
FIG3_gpt2-small := transformer.wte.weight transformer.h.1.attn.wq transformer.h.1.attn.wv transformer.h.1.mlp.c_fc.weight
FIG3_bert-small := embedding.token.weight encoder.1.query.weight encoder.1.value.weight encoder.1.fc1.weight
FIG3_vit-small := patch_embed.proj.weight blocks.1.attn.qkv.weight blocks.1.attn.proj.weight blocks.1.mlp.fc1.weight
FIG3_resnet18-narrow := conv1.weight layer1.0.conv1.weight layer1.0.conv2.weight layer1.1.conv1.weight
FIG3_vgg-small := features.0.weight features.2.weight features.5.weight features.7.weight
FIG3_mlp := fc1.weight fc2.weight fc3.weight fc4.weight
FIG3_MODELS := gpt2-small bert-small vit-small resnet18-narrow vgg-small mlp

fig3: $(FIG3_MODELS:%=$(OUT)/%.tridiag.jsonl)
	@for m in $(FIG3_MODELS); do \
	  case $$m in gpt2-small) b="$(FIG3_gpt2-small)";; bert-small) b="$(FIG3_bert-small)";; vit-small) b="$(FIG3_vit-small)";; \
	    resnet18-narrow) b="$(FIG3_resnet18-narrow)";; vgg-small) b="$(FIG3_vgg-small)";; mlp) b="$(FIG3_mlp)";; esac; \
	  jq -c --arg b "$$b" 'select(.type != "tridiag" or (.block | IN($$b | split(" ")[])))' $(OUT)/$$m.tridiag.jsonl; \
	done | $(RELEASE)/slq-density --normalize kth --rank 10 --sigma 0.1 --format csv > $(OUT)/fig3.csv
	gnuplot -e "in='$(OUT)/fig3.csv'; out='$(OUT)/fig3.png'; models='$(FIG3_MODELS)'; cols=3; panel='400,300'; keyinside=1; xlabel='eigenvalue / 10th largest'" scripts/gnuplot/densities.gp
	@echo "wrote $(OUT)/fig3.png"

table2: $(OUT)/quad-case1.jsonl $(OUT)/quad-case3.jsonl $(OUT)/quad-case4.jsonl
	cat $^ | $(RELEASE)/theory-check --format table | tee $(OUT)/table2.txt

fig-demo: | build
	@mkdir -p $(OUT)
	$(RELEASE)/slq-density testdata/demo-tridiag.jsonl --log --sigma 0.02 --format csv > $(OUT)/demo-densities.csv
	gnuplot -e "in='$(OUT)/demo-densities.csv'; out='$(OUT)/demo-densities.png'; models='synthetic-homogeneous synthetic-heterogeneous'; xlabel='log10 |eigenvalue|'" scripts/gnuplot/densities.gp
	$(RELEASE)/slq-density testdata/demo-tridiag.jsonl | $(RELEASE)/block-js --format matrix > $(OUT)/demo-js.dat
	gnuplot -e "in='$(OUT)/demo-js.dat'; out='$(OUT)/demo-js-heterogeneous.png'; model='synthetic-heterogeneous'" scripts/gnuplot/heatmap.gp
	@echo "wrote $(OUT)/demo-densities.png $(OUT)/demo-js-heterogeneous.png"

clean-out:
	rm -rf $(OUT)

# --- Training (nn-train; docs/training.md). One libtorch thread: on a loaded
# 2-core machine a second one spins and made the MLP 10x slower (measured).
NN_TRAIN := $(RELEASE)/nn-train --threads 1

# Figure 5: the paper's MLP on MNIST with each layer's output scaled by c,
# one epoch at batch 128, SGD (momentum 0.9) and Adam each over FIG5_GRID;
# the accuracy plotted is the best final test accuracy over the grid (the
# paper's "best test accuracy"); the `best` record's rule (lowest held-out
# loss) is kept in the data too.
FIG5_SCALES ?= 1 2 4 6 8 10 12 15
FIG5_GRID ?= 1e-4,1e-3,1e-2,1e-1
# SGD's grid reaches lower: from c = 6 its best rate was 1e-4, the floor.
FIG5_SGD_GRID ?= 1e-6,1e-5,$(FIG5_GRID)
$(OUT)/fig5.jsonl: | build
	@mkdir -p $(OUT)
	for c in $(FIG5_SCALES); do for opt in sgd adam; do \
	  if [ $$opt = sgd ]; then grid=$(FIG5_SGD_GRID); else grid=$(FIG5_GRID); fi; \
	  $(NN_TRAIN) --model mlp --layer-scale $$c --optimizer $$opt --lr-grid $$grid --epochs 1 --batch-size 128 \
	    --eval-examples 0 --eval-every 100000 --log-every 100 | jq -c --argjson c $$c '. + {c: $$c}' || exit 1; \
	done; done > $@.part && mv $@.part $@

$(OUT)/table3-trained.csv: | build
	@mkdir -p $(OUT)
	for c in $(FIG5_SCALES); do \
	  $(RELEASE)/hvp-dump --model mlp --layer-scale $$c $(MLP_BLOCKS) --probes 5 --steps 50 --threads 1 \
	    | $(RELEASE)/slq-density | $(RELEASE)/block-js --bootstrap 100 --seed 1 \
	    | jq -r --argjson c $$c 'select(.type=="heterogeneity") | [$$c, .value, .ci90[0], .ci90[1]] | @csv' || exit 1; \
	done > $@.part && mv $@.part $@

table3-trained: $(OUT)/table3-trained.csv
	@(echo "c,JS0,ci90_lo,ci90_hi"; cat $<)

fig5: $(OUT)/fig5.jsonl $(OUT)/table3-trained.csv
	jq -s -r 'map(select(.type=="summary")) | group_by([.optimizer, .c])[] | max_by(.final_heldout_accuracy // -1) | [.c, .optimizer, .lr, .final_heldout_accuracy] | @csv' \
	  $(OUT)/fig5.jsonl | tr -d '"' > $(OUT)/fig5.csv
	gnuplot -e "acc='$(OUT)/fig5.csv'; js='$(OUT)/table3-trained.csv'; out='$(OUT)/fig5.png'" scripts/gnuplot/fig5.gp
	@echo "wrote $(OUT)/fig5.png"

# Figures 10-11: SGD (momentum 0.9) vs AdamW (PyTorch defaults, weight decay
# 0.01), TRAIN_STEPS updates at batch 32, each at its best rate from its
# grid (lowest final held-out loss). Every AdamW rate is an SGD rate / 100
# (the paper's rule for CNNs). Language models clip the gradient norm at 1.
TRAIN_STEPS ?= 100
SGD_GRID ?= 1e-4,1e-3,1e-2,1e-1,1
ADAMW_GRID ?= 1e-6,1e-5,1e-4,1e-3,1e-2
CLIP_resnet18-narrow :=
CLIP_vgg-small :=
CLIP_vit-small :=
CLIP_bert-small := --clip 1
CLIP_gpt2-small := --clip 1
FIG10_MODELS := resnet18-narrow vgg-small
FIG11_MODELS := vit-small bert-small gpt2-small

# Labels: a zoo model's name, or mlp-cN (the MLP with --layer-scale N).
GAP_MLP_SCALES ?= 1 2 4 8
GAP_ZOO ?= gpt2-small resnet18-narrow vgg-small vit-small bert-small
$(foreach m,$(FIG10_MODELS) $(FIG11_MODELS) $(GAP_ZOO) mlp,$(eval MODEL_$(m) := $(m)))
$(foreach c,$(GAP_MLP_SCALES),$(eval MODEL_mlp-c$(c) := mlp)$(eval SCALE_mlp-c$(c) := --layer-scale $(c)))

# SGD then AdamW over their grids for label $(1) at batch $(2); a grid in
# which every rate diverged writes no `best` record (nn-train exits 1) and
# the other optimizer still runs.
define sgd_vs_adamw
	@mkdir -p $(OUT)
	for opt in sgd adamw; do \
	  if [ $$opt = sgd ]; then grid=$(SGD_GRID); else grid=$(ADAMW_GRID); fi; \
	  $(NN_TRAIN) --model $(MODEL_$(1)) $(SCALE_$(1)) --label $(1) --optimizer $$opt --lr-grid $$grid \
	    --steps $(TRAIN_STEPS) --batch-size $(2) --eval-every 25 --eval-examples 256 --log-every 25 \
	    $(CLIP_$(MODEL_$(1))) || echo "$(1): every $$opt rate diverged at batch $(2)" >&2; \
	done > $@.part && mv $@.part $@
endef

# Keep the runs: make would delete them as intermediates of curves-%.csv.
.PRECIOUS: $(OUT)/train-%.jsonl $(OUT)/train-small-batch-%.jsonl $(OUT)/init-%.tridiag.jsonl $(OUT)/js0-%.csv $(OUT)/fig1-training-%.jsonl

$(OUT)/train-%.jsonl: | build
	$(call sgd_vs_adamw,$*,32)

# Rows model,optimizer,lr,step,heldout_loss of each optimizer's best rate.
$(OUT)/curves-%.csv: $(OUT)/train-%.jsonl
	jq -s -r '(map(select(.type=="best")) | map({(.optimizer): .lr}) | add) as $$b | .[] | select(.type=="step" and .heldout_loss != null and .lr == $$b[.optimizer]) | [.model, .optimizer, .lr, .step, .heldout_loss] | @csv' $< | tr -d '"' > $@

fig10: $(FIG10_MODELS:%=$(OUT)/curves-%.csv)
	cat $^ > $(OUT)/fig10.csv
	gnuplot -e "in='$(OUT)/fig10.csv'; models='$(FIG10_MODELS)'; out='$(OUT)/fig10.png'" scripts/gnuplot/curves.gp
	@echo "wrote $(OUT)/fig10.png"

fig11: $(FIG11_MODELS:%=$(OUT)/curves-%.csv)
	cat $^ > $(OUT)/fig11.csv
	gnuplot -e "in='$(OUT)/fig11.csv'; models='$(FIG11_MODELS)'; out='$(OUT)/fig11.png'" scripts/gnuplot/curves.gp
	@echo "wrote $(OUT)/fig11.png"

# Paper Figure 1 (not the `fig1-init` target above, which is Figures 1/3 at
# initialization): the full Hessian's spectrum (`--block all`, every
# parameter) of a CNN and a Transformer at 0, 25, 50 and 100% of training
# (AdamW at FIG1T_LR, TRAIN_STEPS updates at batch 32), eigenvalues divided
# by the 10th largest as the paper plots them.
FIG1T_MODELS ?= resnet18-narrow gpt2-small
FIG1T_LR ?= 1e-3
FIG1T_FRACTIONS := 0 0.25 0.5 1
$(OUT)/fig1-training-%.jsonl: | build
	@mkdir -p $(OUT)/ckpt-$*
	$(NN_TRAIN) --model $* --optimizer adamw --lr $(FIG1T_LR) --steps $(TRAIN_STEPS) --batch-size 32 \
	  --eval-every $(TRAIN_STEPS) --eval-examples 256 --log-every 25 $(CLIP_$*) \
	  --save-at 0,0.25,0.5,1 --save-dir $(OUT)/ckpt-$* > $(OUT)/fig1-training-$*.train.jsonl
	for f in $(FIG1T_FRACTIONS); do \
	  n=$$(awk -v f=$$f -v s=$(TRAIN_STEPS) 'BEGIN { printf "%d", f * s + 0.5 }'); \
	  ls $(OUT)/ckpt-$*/*-step$$n.safetensors > /dev/null || exit 1; \
	  $(RELEASE)/hvp-dump --model $* --checkpoint $$(ls $(OUT)/ckpt-$*/*-step$$n.safetensors) --block all \
	    --probes 2 --steps 30 --threads 1 --label "$* at $$f" || exit 1; \
	done > $@.part && mv $@.part $@

fig1-training: $(FIG1T_MODELS:%=$(OUT)/fig1-training-%.jsonl)
	cat $^ | $(RELEASE)/slq-density --normalize kth --rank 10 --sigma-mode relative --sigma-rel 0.01 --format csv > $(OUT)/fig1-training.csv
	gnuplot -e "in='$(OUT)/fig1-training.csv'; models='$(FIG1T_MODELS)'; out='$(OUT)/fig1-training.png'" scripts/gnuplot/fig1-training.gp
	@echo "wrote $(OUT)/fig1-training.png"

# Beyond the paper: does JS0 at initialization predict the SGD-AdamW gap?
# For each label (GAP_ZOO and the MLP at GAP_MLP_SCALES): JS0 with its
# bootstrap 90% interval (block-js --bootstrap 100, 4 probes x 40 Lanczos
# steps, weight blocks as in table1; two smoothings, see js0-%.csv), and
# the gap = SGD's best final held-out loss minus AdamW's (grids as
# fig10/11, TRAIN_STEPS updates, 256 held-out examples) at batch 32 (the
# fig10/11 runs) and GAP_SMALL_BATCH. Rank correlation: scripts/js0_gap.py.
GAP_SMALL_BATCH ?= 8
GAP_LABELS = $(GAP_MLP_SCALES:%=mlp-c%) $(GAP_ZOO)
JS_BLOCKS_mlp := $(MLP_BLOCKS)
JS_BLOCKS_gpt2-small := $(GPT_BLOCKS)
$(foreach m,resnet18-narrow vgg-small vit-small bert-small,$(eval JS_BLOCKS_$(m) := $(BLOCKS_$(m))))

$(OUT)/init-%.tridiag.jsonl: | build
	@mkdir -p $(OUT)
	$(RELEASE)/hvp-dump --model $(MODEL_$*) $(SCALE_$*) $(JS_BLOCKS_$(MODEL_$*)) --label $* --probes 4 --steps 40 --threads 1 \
	  > $@.part && mv $@.part $@

# Row label,JS0,lo,hi (the paper's absolute smoothing width),JS0,lo,hi
# (eigenvalues divided by each block's 10th largest, width 1% of it).
JS0_ROW := jq -r 'select(.type=="heterogeneity") | [.value, .ci90[0], .ci90[1]] | @csv'
$(OUT)/js0-%.csv: $(OUT)/init-%.tridiag.jsonl
	( $(RELEASE)/slq-density $< | $(RELEASE)/block-js --bootstrap 100 --seed 1 | $(JS0_ROW); \
	  $(RELEASE)/slq-density $< --normalize kth --rank 10 --sigma-mode relative --sigma-rel 0.01 \
	    | $(RELEASE)/block-js --bootstrap 100 --seed 1 | $(JS0_ROW) ) | paste -sd, | sed 's/^/$*,/' > $@.part && mv $@.part $@

$(OUT)/train-small-batch-%.jsonl: | build
	$(call sgd_vs_adamw,$*,$(GAP_SMALL_BATCH))

# Rows label,batch,optimizer,lr,final held-out loss of each `best` record.
$(OUT)/gap-%.csv: $(OUT)/train-%.jsonl $(OUT)/train-small-batch-%.jsonl
	( jq -r 'select(.type=="best") | [.model, 32, .optimizer, .lr, .final_heldout_loss] | @csv' $(OUT)/train-$*.jsonl; \
	  jq -r 'select(.type=="best") | [.model, $(GAP_SMALL_BATCH), .optimizer, .lr, .final_heldout_loss] | @csv' $(OUT)/train-small-batch-$*.jsonl ) \
	  | tr -d '"' > $@

fig-js0-gap: $(GAP_LABELS:%=$(OUT)/js0-%.csv) $(GAP_LABELS:%=$(OUT)/gap-%.csv)
	cat $(GAP_LABELS:%=$(OUT)/js0-%.csv) > $(OUT)/js0-init.csv
	cat $(GAP_LABELS:%=$(OUT)/gap-%.csv) > $(OUT)/gap-best.csv
	.venv/bin/python scripts/js0_gap.py $(OUT)/js0-init.csv $(OUT)/gap-best.csv $(OUT)/js0-gap.csv | tee $(OUT)/js0-gap.txt
	gnuplot -e "in='$(OUT)/js0-gap.csv'; batches='$(GAP_SMALL_BATCH) 32'; out='$(OUT)/js0-gap.png'" scripts/gnuplot/js0-gap.gp
	@echo "wrote $(OUT)/js0-gap.png"

# Beyond the paper: does JS0, or a rival, predict SGD's deficit? (docs/study.md)
include scripts/study/study.mk
include scripts/mechanism/mechanism.mk
