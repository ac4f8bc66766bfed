# The interventions of docs/mechanism.md that train networks (issue 19):
#   make rescue     SGD with per-block learning rates (curvature and
#                   gradient rules) beside the study's plain SGD and AdamW
#   make imbalance  SGD and AdamW on imbalanced classes (--class-zipf S)
#   make rescue-quick, make imbalance-quick: the same steps at a smoke scale
# Included by the Makefile after study.mk, whose configurations, budgets,
# grids, seeds, functions (strain, sset, sfam) and job rules they reuse:
# the study's files (init spectra, grids, seed runs) are prerequisites made
# by the study's own rules, so nothing the study trained is trained again.
# As in the study, every job writes one file under a .part name and renames
# it when complete (a killed run resumes; make -j N runs N jobs), and no
# recipe pipes one tool into another.

RESCUE ?= $(OUT)/rescue
IMBALANCE ?= $(OUT)/imbalance

# --- Rescue ----------------------------------------------------------------
# The study's Transformers and its MLP at every layer scale on MNIST.
RESCUE_CONFIGS ?= $(STUDY_MLP_SCALES:%=mlp-c%) gpt-2x32 gpt-4x32 gpt-4x64 gpt-4x128 bert-2x32 bert-4x64 \
  vit-2x32 vit-4x64 fvit-2x32
RESCUE_RULES ?= curvature gradient
# Shares of training at which plain SGD's weights are saved and the block
# factors computed again.
RESCUE_AT ?= 0.25 0.5
RESCUE_COMMA := ,
RESCUE_SPACE := $() $()

# LABEL-tune-sgd-RULE: SGD whose blocks' rates are the base rate times the
# rule's factors, from the study's spectra and gradients at initialization
# (seed 0 weights); the base rate over plain SGD's grid, extended the same
# way, from the same weights and batch order. The factors' file is an
# order-only prerequisite, as the study's grids are for its seed runs.
define rescue_tune
$$(RESCUE)/train/%-tune-sgd-$(1).jsonl: | $$(STUDY)/init/%.density.jsonl $$(STUDY_BUILD)
	@mkdir -p $$(@D)
	$$(call strain,$$*,sgd) --lr-scale-from $$(STUDY)/init/$$*.density.jsonl --lr-scale-rule $(1) \
	  --lr-grid $$(STUDY_SGD_GRID) --extend-grid $$(STUDY_EXTEND) --init-seed 0 --seed 0 > $$@.part && mv $$@.part $$@
endef
# LABEL-sgd-RULE-sN: the same at its best base rate, from seed N. A base
# rate tuned on seed 0 may diverge on another seed: that is a result of the
# rule (gap-study rescue records it), so the run's file is kept.
define rescue_seed
$$(RESCUE)/train/%-sgd-$(1)-s$(2).jsonl: | $$(RESCUE)/train/%-tune-sgd-$(1).jsonl $$(STUDY)/init/%.density.jsonl $$(STUDY_BUILD)
	$$(call strain,$$*,sgd) --lr-scale-from $$(STUDY)/init/$$*.density.jsonl --lr-scale-rule $(1) \
	  --lr $$$$(jq -r 'select(.type=="best") | .lr' $$(RESCUE)/train/$$*-tune-sgd-$(1).jsonl) \
	  --init-seed $(2) --seed $(2) --allow-divergence > $$@.part && mv $$@.part $$@
endef
# LABEL-RULE: the share of the study's SGD-AdamW gap the rule closes.
define rescue_gap
$$(RESCUE)/gap/%-$(1).jsonl: $$(STUDY)/train/%-tune-sgd.jsonl $$(STUDY)/train/%-tune-adamw.jsonl $$(RESCUE)/train/%-tune-sgd-$(1).jsonl \
    $$(foreach s,$$(STUDY_SEEDS),$$(STUDY)/train/%-sgd-s$$(s).jsonl $$(STUDY)/train/%-adamw-s$$(s).jsonl $$(RESCUE)/train/%-sgd-$(1)-s$$(s).jsonl)
	@mkdir -p $$(@D)
	$$(GAP_STUDY) rescue --label $$* --family $$(call sfam,$$*) --rule $(1) \
	  --sgd $$(STUDY)/train/$$*-tune-sgd.jsonl $$(foreach s,$$(STUDY_SEEDS),--sgd-seed $$(STUDY)/train/$$*-sgd-s$$(s).jsonl) \
	  --rescued $$(RESCUE)/train/$$*-tune-sgd-$(1).jsonl $$(foreach s,$$(STUDY_SEEDS),--rescued-seed $$(RESCUE)/train/$$*-sgd-$(1)-s$$(s).jsonl) \
	  --adamw $$(STUDY)/train/$$*-tune-adamw.jsonl $$(foreach s,$$(STUDY_SEEDS),--adamw-seed $$(STUDY)/train/$$*-adamw-s$$(s).jsonl) \
	  > $$@.part && mv $$@.part $$@
endef
$(foreach r,$(RESCUE_RULES),$(eval $(call rescue_tune,$(r)))$(eval $(call rescue_gap,$(r)))$(foreach s,$(STUDY_SEEDS),$(eval $(call rescue_seed,$(r),$(s)))))

# Plain SGD at its best rate from seed 0's weights and batch order (the
# weights whose spectra set the factors): the grid's own run again, saving
# the weights after each share of RESCUE_AT (nn-train writes each
# checkpoint whole, under its final name).
$(RESCUE)/ckpt/%.jsonl: | $(STUDY)/train/%-tune-sgd.jsonl $(STUDY_BUILD)
	@mkdir -p $(@D)
	rm -rf $(RESCUE)/ckpt/$*.d
	$(call strain,$*,sgd) --lr $$(jq -r 'select(.type=="best") | .lr' $(STUDY)/train/$*-tune-sgd.jsonl) \
	  --init-seed 0 --seed 0 --save-at $(subst $(RESCUE_SPACE),$(RESCUE_COMMA),$(strip $(RESCUE_AT))) \
	  --save-dir $(RESCUE)/ckpt/$*.d > $@.part && mv $@.part $@

# The checkpoint after share F of training: nn-train names it by its update,
# round(F x steps) (awk's double product, as nn-train's).
rescue_ckpt = $(RESCUE)/ckpt/$(1).d/$(1)-sgd-lr*-step$$(awk 'BEGIN { printf "%d", int($(2) * $(call sset,$(1),STEPS) + 0.5) }').safetensors
# The spectra and gradients on it, with the flags of the study's at initialization.
define rescue_at
$$(RESCUE)/at-$(1)/%.tridiag.jsonl: $$(RESCUE)/ckpt/%.jsonl
	@mkdir -p $$(@D)
	$$(RELEASE)/hvp-dump $$(STUDY_ARGS_$$*) $$(call sset,$$*,BLOCKS) --label $$* --probes $$(STUDY_PROBES) \
	  --steps $$(STUDY_LANCZOS) --gradients $$(STUDY_HVP_$$*) --threads 1 --checkpoint $$(call rescue_ckpt,$$*,$(1)) \
	  > $$@.part && mv $$@.part $$@
$$(RESCUE)/at-$(1)/%.density.jsonl: $$(RESCUE)/at-$(1)/%.tridiag.jsonl
	$$(RELEASE)/slq-density $$< > $$@.part && mv $$@.part $$@
endef
$(foreach f,$(RESCUE_AT),$(eval $(call rescue_at,$(f))))

# How far each rule's factors moved from initialization's.
$(RESCUE)/drift/%.jsonl: $(STUDY)/init/%.density.jsonl $(foreach f,$(RESCUE_AT),$(RESCUE)/at-$(f)/%.density.jsonl)
	@mkdir -p $(@D)
	$(GAP_STUDY) drift --label $* --initial $< $(foreach f,$(RESCUE_AT),--at $(f)=$(RESCUE)/at-$(f)/$*.density.jsonl) \
	  > $@.part && mv $@.part $@

$(RESCUE)/rescue.jsonl: $(foreach r,$(RESCUE_RULES),$(RESCUE_CONFIGS:%=$(RESCUE)/gap/%-$(r).jsonl))
	jq -c 'select(.type=="rescue")' $^ > $@.part && mv $@.part $@
$(RESCUE)/drift.jsonl: $(RESCUE_CONFIGS:%=$(RESCUE)/drift/%.jsonl)
	jq -c 'select(.type=="drift")' $^ > $@.part && mv $@.part $@

rescue: $(RESCUE)/rescue.jsonl $(RESCUE)/drift.jsonl
	scripts/mechanism/rescue-report $(RESCUE)
	gnuplot -e "in='$(RESCUE)/rescue.csv'; out='$(RESCUE)/rescue.png'" scripts/gnuplot/rescue.gp
	@echo "wrote $(RESCUE)/rescue.txt, $(RESCUE)/*.csv and $(RESCUE)/rescue.png"

# --- Imbalance ---------------------------------------------------------------
# The study's MLP (c = 1) and resnet18-narrow (running statistics) on MNIST,
# trained on subsets with class frequencies proportional to (k+1)^-S. S = 0
# is the study's own configuration (the full training set): its files are
# read where the study wrote them. The others are study configurations too
# (LABEL-zipfS: the same flags plus --class-zipf S), made by the study's
# rules in $(IMBALANCE) (a second make with STUDY=$(IMBALANCE)): spectra,
# predictors (JS0 and the others, the Hessian batch drawn from the subset),
# grids, seed runs and gaps.
IMBALANCE_BASES ?= mlp-c1 resnet-running
IMBALANCE_ZIPF ?= 1 2
$(foreach b,$(IMBALANCE_BASES),$(foreach s,$(IMBALANCE_ZIPF),\
  $(eval STUDY_ARGS_$(b)-zipf$(s) := $(STUDY_ARGS_$(b)) --class-zipf $(s))\
  $(eval STUDY_FAMILY_$(b)-zipf$(s) := $(STUDY_FAMILY_$(b)))\
  $(eval STUDY_HVP_$(b)-zipf$(s) := $(STUDY_HVP_$(b)))))
IMBALANCE_LABELS = $(foreach b,$(IMBALANCE_BASES),$(IMBALANCE_ZIPF:%=$(b)-zipf%))
IMBALANCE_JOBS = $(foreach l,$(IMBALANCE_LABELS),$(IMBALANCE)/gap/$(l).jsonl $(IMBALANCE)/pred/$(l).jsonl)

# Rows: each base at S = 0 (the study's files) and at each S of IMBALANCE_ZIPF.
imbalance: $(IMBALANCE_BASES:%=$(STUDY)/gap/%.jsonl) $(IMBALANCE_BASES:%=$(STUDY)/pred/%.jsonl)
	$(MAKE) $(IMBALANCE_JOBS) STUDY=$(IMBALANCE)
	scripts/mechanism/imbalance-report $(IMBALANCE) $(STUDY) '$(IMBALANCE_BASES)' '$(IMBALANCE_ZIPF)' '$(STUDY_SEEDS)'
	gnuplot -e "in='$(IMBALANCE)/imbalance.csv'; out='$(IMBALANCE)/imbalance.png'" scripts/gnuplot/imbalance.gp
	@echo "wrote $(IMBALANCE)/imbalance.txt, $(IMBALANCE)/*.csv and $(IMBALANCE)/imbalance.png"

# --- Smoke runs --------------------------------------------------------------
# Every step on few configurations with the study-quick budgets, two
# measured seeds, into OUT/mechanism-quick/ (its own study directory).
MECHANISM_QUICK = STUDY=$(OUT)/mechanism-quick/study RESCUE=$(OUT)/mechanism-quick/rescue \
  IMBALANCE=$(OUT)/mechanism-quick/imbalance STUDY_SEEDS='1 2' \
  STUDY_STEPS_mlp=60 STUDY_STEPS_gpt=60 STUDY_STEPS_vit=40 STUDY_STEPS_resnet=30 \
  STUDY_PROBES=3 STUDY_LANCZOS=20 STUDY_EVAL=256 STUDY_BOOTSTRAP=50 STUDY_EXTEND=2
rescue-quick:
	$(MAKE) rescue $(MECHANISM_QUICK) RESCUE_CONFIGS='mlp-c1 gpt-2x32'
imbalance-quick:
	$(MAKE) imbalance $(MECHANISM_QUICK) IMBALANCE_BASES='mlp-c1 resnet-running' IMBALANCE_ZIPF='1 2'

.PRECIOUS: $(RESCUE)/ckpt/%.jsonl $(RESCUE)/drift/%.jsonl \
  $(foreach r,$(RESCUE_RULES),$(RESCUE)/train/%-tune-sgd-$(r).jsonl $(RESCUE)/gap/%-$(r).jsonl \
    $(foreach s,$(STUDY_SEEDS),$(RESCUE)/train/%-sgd-$(r)-s$(s).jsonl)) \
  $(foreach f,$(RESCUE_AT),$(RESCUE)/at-$(f)/%.tridiag.jsonl $(RESCUE)/at-$(f)/%.density.jsonl)
.PHONY: rescue imbalance rescue-quick imbalance-quick
