"""The cycle model against the RTL: every row of docs/bench_tiles.md (measured under
Verilator) within 3%; and the timing rules a program gets (tokens, the shared DRAM)."""

from pathlib import Path

import pytest

from hw.config import vc709
from hw.isa.apu import Program
from hw.isa.modes import Mode, Phase
from hw.isa.program import ACoreRun, Buf, End, Load, TileOp, Unit
from hw.isa.tile import Tile
from sim import perf
from sim.bench_tiles import TILES
from sim.golden import ccore

ROOT = Path(__file__).resolve().parents[1]


def bench_rows():
    rows = [line.split("|") for line in (ROOT / "docs/bench_tiles.md").read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| network")]
    assert len(rows) == len(TILES), "docs/bench_tiles.md and sim.bench_tiles.TILES differ"
    return [(spec, int(r[6])) for spec, r in zip(TILES, rows)]


@pytest.mark.parametrize("spec,rtl", bench_rows(), ids=lambda v: str(v)[:40])
def test_model_matches_the_rtl_bench(spec, rtl):
    cfg = vc709()
    _, label, mode, cin, cout, h, w = spec
    layer = ccore.Layer(mode, cin, cout, h, w, cfg)
    got = perf.tile_cycles(ccore.tiles(layer), cfg)
    assert abs(got - rtl) <= 0.03 * rtl, f"{label} {layer.mode!r}: model {got}, RTL {rtl}"


def test_a_tile_waits_for_its_load_and_dram_is_shared():
    cfg = vc709()
    t = Tile(Mode(Phase.FP, 1, 3), 9, 16, 1, 0, 0, 3, wblocks=1)
    ld = lambda addr, **kw: Load(Buf.X, addr, 16 * 8 * 9, n0=1, w=16, rows=9, blocks=1, **kw)
    descs = [ld(0, signal=Unit.CC), TileOp(t, wait=Unit.LD),
             ld(4096), ld(8192), End()]
    meta = [("l", "FP", {})] * len(descs)
    dram = perf.Dram()
    r = perf.simulate(descs, meta, cfg, dram)
    assert r.starts[1] >= r.ends[0]                      # the token
    assert r.starts[2] < r.ends[1]                       # the next load overlaps the tile
    bpc = dram.bytes_per_cycle(cfg)
    assert r.ends[3] - r.ends[2] >= 16 * 8 * 9 / bpc - 1  # one DRAM: the loads queue
    assert r.cycles == max(r.ends)


def test_acore_rules():
    run = ACoreRun(Program.FRN_BP, n=49, images=2, groups=3)
    assert perf.acore_cycles(run) == 6 * (2 * 49 + 79)
    assert perf.acore_cycles(ACoreRun(Program.SGD, n=100)) == 115
    assert perf.Dram(ports=1).bytes_per_cycle(vc709()) == 64       # one 512-bit port
    assert perf.Dram(ports=2).bytes_per_cycle(vc709()) == pytest.approx(119.6)
