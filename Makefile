# hessian-blocks: `make demo` runs the main pipeline on a built-in default,
# `make test` runs every test. Both install what they need (scripts/setup).

CARGO ?= cargo
RELEASE := target/release
OUT ?= out

.PHONY: all setup build test demo bench clean-out help figures fig-demo fig8 table2

all: build

help:
	@echo "make demo    run the pipeline on the built-in default and print its heterogeneity"
	@echo "make test    install what is missing, then run every test"
	@echo "make bench   speed and accuracy figures (see docs/bench.md)"
	@echo "make build   release binaries in $(RELEASE)/"
	@echo "make figures every figure and table that can be drawn here, into $(OUT)/"
	@echo "  fig-demo   densities and JS heatmap of the demo fixture"
	@echo "  fig8       paper Figure 8: GD vs Adam on the quadratic cases 3 and 4"
	@echo "  table2     paper Table 2 and Section 3's claims, checked (theory-check)"

setup:
	@scripts/setup

build: setup
	$(CARGO) build --release --workspace

test: setup
	$(CARGO) test --workspace

# Until a network is involved: Lanczos tridiagonals of synthetic block
# spectra (testdata/demo-tridiag.jsonl, made by
# `cargo run -p lanczos --example synthetic_tridiag`).
demo: build
	@mkdir -p $(OUT)
	$(RELEASE)/slq-density testdata/demo-tridiag.jsonl \
	  | $(RELEASE)/block-js --bootstrap 100 --seed 1 \
	  | tee $(OUT)/demo.jsonl | jq -c 'select(.type == "heterogeneity")'

bench: build
	scripts/bench

figures: fig-demo fig8 table2

fig-demo: build
	@mkdir -p $(OUT)
	$(RELEASE)/slq-density testdata/demo-tridiag.jsonl --log --sigma 0.02 --format csv > $(OUT)/demo-densities.csv
	gnuplot -e "in='$(OUT)/demo-densities.csv'; out='$(OUT)/demo-densities.png'; models='synthetic-homogeneous synthetic-heterogeneous'; xlabel='log10 |eigenvalue|'" scripts/gnuplot/densities.gp
	$(RELEASE)/slq-density testdata/demo-tridiag.jsonl | $(RELEASE)/block-js --format matrix > $(OUT)/demo-js.dat
	gnuplot -e "in='$(OUT)/demo-js.dat'; out='$(OUT)/demo-js-heterogeneous.png'; model='synthetic-heterogeneous'" scripts/gnuplot/heatmap.gp
	@echo "wrote $(OUT)/demo-densities.png $(OUT)/demo-js-heterogeneous.png"

# Section 3: GD (eta = 2/(mu+L)), Adam beta2 = 0.999 (tuned) and Adam beta2 = 1
# (frozen D0) on the heterogeneous Case 3 and homogeneous Case 4.
$(OUT)/quad-case%.jsonl: build
	@mkdir -p $(OUT)
	$(RELEASE)/quad-sim --case $* --iters 5000 --every 10 --optimizer gd --optimizer adam --optimizer adam-frozen > $@

$(OUT)/quad-case%.csv: $(OUT)/quad-case%.jsonl
	jq -r 'select(.type == "iterate") | [(.optimizer + (if .beta2 then "(beta2=\(.beta2))" else "" end)), .t, .grad_norm] | @csv' $< > $@

fig8: $(OUT)/quad-case3.csv $(OUT)/quad-case4.csv
	gnuplot -e "files='$^'; titles='Case_3_(heterogeneous) Case_4_(homogeneous)'; out='$(OUT)/fig8.png'" scripts/gnuplot/fig8.gp
	@echo "wrote $(OUT)/fig8.png"

table2: $(OUT)/quad-case3.jsonl $(OUT)/quad-case4.jsonl
	cat $^ | $(RELEASE)/theory-check --format table | tee $(OUT)/table2.txt

clean-out:
	rm -rf $(OUT)
