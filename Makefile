# hessian-blocks: `make demo` runs the main pipeline on a built-in default,
# `make test` runs every test. Both install what they need (scripts/setup).

CARGO ?= cargo
RELEASE := target/release
OUT ?= out

.PHONY: all setup build test demo bench clean-out help

all: build

help:
	@echo "make demo    run the pipeline on the built-in default and print its heterogeneity"
	@echo "make test    install what is missing, then run every test"
	@echo "make bench   speed and accuracy figures (see docs/bench.md)"
	@echo "make build   release binaries in $(RELEASE)/"

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
	  | tee $(OUT)/demo.jsonl | jq -c 'select(.type == "heterogeneity") | {model, metric, value, se, ci90}'

clean-out:
	rm -rf $(OUT)
