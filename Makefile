# ETA in Amaranth. Every target creates or reuses the local virtual environment .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PRESET ?= vc709
JOBS   ?= 2
# Shared modules' Verilog kept between runs and processes (hw.reuse)
export ETA_REUSE_CACHE ?= $(CURDIR)/build/reused

.PHONY: verilog test test-slow lint fig3 resources bench bench-networks bench-top train train-rtl board \
	flash clean distclean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version" || { echo "need Python 3.11 (python3.11 or python3) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

## verilog: the main job: the accelerator's top (every block once inside) into
## build/verilog/<config>/top.v (CONFIG=cfg.json and SET="clusters=4 wpus=2" change the preset;
## ALL=1 writes every block as its own file)
verilog: $(VENV)/.installed
	$(PY) -m hw.generate --preset $(PRESET) $(if $(CONFIG),--config $(CONFIG)) $(foreach s,$(SET),--set $(s)) $(if $(ALL),--all) --jobs $(JOBS) --out build/verilog

## test: the regression (golden model, cocotb under Verilator, lint), about 19 minutes on 2 cores
test: $(VENV)/.installed
	$(PY) -m pytest -n $(JOBS) -q -m "not slow"

## test-slow: the tests too long for `make test` (full-size units simulated whole)
test-slow: $(VENV)/.installed
	$(PY) -m pytest -n $(JOBS) -q -m slow

## lint: verilator --lint-only -Wall on every generated module (waivers: sim/waivers.vlt)
lint: $(VENV)/.installed
	$(PY) -m sim.lint --preset $(PRESET) --out build/verilog

## fig3: the paper's Fig. 3 from the golden model, into docs/
fig3: $(VENV)/.installed
	$(PY) -m sim.fig3 --out docs/fig3_decimal_accuracy.png

## resources: yosys synth_xilinx estimates into docs/resources.md, per block and for the whole
## accelerator (about 30 minutes for the VC709 preset on 2 cores; installs Debian's yosys)
resources: $(VENV)/.installed
	@command -v yosys >/dev/null || { apt-get update -q && apt-get install -y -q yosys; }
	$(PY) -m sim.resources --preset $(PRESET) $(foreach s,$(SET),--set $(s)) --jobs $(JOBS) \
		--out docs/resources.md

## bench: C-Core and A-Core cycles per workload (RTL), into docs/bench_ccore.md, bench_tiles.md,
## bench_acore.md
bench: $(VENV)/.installed
	$(PY) -m sim.bench --out docs/bench_ccore.md
	$(PY) -m sim.bench_tiles --out docs/bench_tiles.md
	$(PY) -m sim.bench_acore --out docs/bench_acore.md

## bench-networks: ResNet18, CIFAR-ResNet20, CIFAR-VGG16 compiled and timed by the cycle model
## (no Verilator, about a minute), into docs/bench_networks.md and docs/bench_networks_*.png
bench-networks: $(VENV)/.installed
	$(PY) -m sim.bench_networks --out docs

## bench-top: the small top's training step (RTL) against the cycle model, descriptor by
## descriptor, into docs/bench_top.md (about a minute once the top is built; VC709=1 adds the
## VC709 top's step of a small network, totals: a 15-minute build the first time)
bench-top: $(VENV)/.installed
	$(PY) -m sim.bench_top $(if $(VC709),--vc709) --out docs

## train: the digits CNN in float32, INT8 and PINT8 (golden model), into docs/train_digits.*
train: $(VENV)/.installed
	$(PY) -m sim.train --epochs 20 --seeds 3 --out docs

## train-rtl: the digits CNN trained on the RTL (small preset, Verilator) through the runtime,
## each step checked against the golden machine; into docs/train_rtl.png and .md (STEPS=16
## BATCH=4 LR=0.05 MOMENTUM=0.5: under a minute a step on an idle core)
train-rtl: $(VENV)/.installed
	$(PY) -m sim.train_rtl --steps $(or $(STEPS),16) --batch $(or $(BATCH),4) \
		--lr $(or $(LR),0.05) --momentum $(or $(MOMENTUM),0.5) --out docs

## board: the VC709 build plan (Verilog, XDC, Tcl, MIG project, build script) into build/vc709/,
## checked; with `vivado` on PATH, run to a bitstream (reports copied to docs/). DESIGN=blinky
## for the LED + UART bring-up design; PRESET, CONFIG and SET as for `make verilog`
board: $(VENV)/.installed
	$(PY) -m boards.build --design $(or $(DESIGN),eta) --preset $(PRESET) \
		$(if $(CONFIG),--config $(CONFIG)) $(foreach s,$(SET),--set $(s)) --out build/vc709 \
		--jobs $(JOBS)

## flash: load build/vc709/vc709_$(DESIGN).bit (or BIT=...) into the board (openFPGALoader, or
## Vivado's hardware server)
flash: $(VENV)/.installed
	$(PY) -m boards.flash $(or $(BIT),build/vc709/vc709_$(or $(DESIGN),eta).bit)

clean:
	rm -rf build .pytest_cache

distclean: clean
	rm -rf $(VENV) *.egg-info
