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


def test_the_ccore_waits_for_a_slower_store():
    """Three emitting 3x3 FP tiles, each with its STORE: the STORE takes W chunks a
    transfer, so the tiles run at its pace, each done only the last transfer's chunks before
    its STORE is through it (the partial-sum buffer holds a sum until it is taken)."""
    from hw.isa.program import Store, StoreLayout
    from hw.isa.store import store_cycles
    cfg = vc709()
    t = Tile(Mode(Phase.FP, 1, 3), 9, 16, 1, 0, 0, 3, wblocks=1)
    st = Store(StoreLayout.MAP32, 0, 8, 9, 16)
    descs = [TileOp(t), st, TileOp(t), st, TileOp(t), st, End()]
    meta = [("l", "FP", {})] * len(descs)
    r = perf.simulate(descs, meta, cfg, perf.Dram(latency=4, efficiency=1.0, duplex=True))
    transfers = ccore.transfers(t, cfg)
    per = store_cycles(cfg, t.mode, transfers)
    beats = ccore.beats(t)
    assert per > beats + perf.TILE_GAP             # (the case: the STORE is the slower)
    tail = per // transfers
    for k in (0, 2, 4):
        assert r.ends[k] == r.ends[k + 1] - tail   # a tile done as its STORE nearly is
    # At the STORE's pace (the next tile's first sums come TILE_GAP after the last ones).
    for k in (3, 5):
        assert per <= r.ends[k] - r.ends[k - 2] <= per + perf.TILE_GAP
    # The tile after a stalled one starts only when that one's last beat went.
    assert r.starts[2] >= r.ends[0] - perf.RESULT_LAT + perf.TILE_GAP


def test_descriptors_are_fetched_one_at_a_time():
    """The controller fetches a descriptor, decodes and pushes it, then fetches the next:
    no descriptor reaches its unit sooner than a fetch after the one before it."""
    from hw.isa.program import Scale, ScaleOp
    cfg = vc709()
    dram = perf.Dram(latency=60)
    descs = [Scale(ScaleOp.SET, 0, imm=k) for k in range(5)] + [End()]
    r = perf.simulate(descs, [("l", "FP", {})] * len(descs), cfg, dram)
    fetch = 60 + 64 // cfg.axi_bytes + perf.FETCH_OVERHEAD
    assert [r.starts[k] for k in range(5)] == [fetch * (k + 1) for k in range(5)]


def test_a_streaming_pass_waits_for_its_operands():
    """An A-Core run's streaming pass takes an element per lane a cycle, and its element
    inputs no faster than the bus brings them: FRN_BP's 32-bit dz, code x_hat and flags of
    the small preset's 2 lanes are 11 bytes an element on an 8-byte bus; the VC709's 64-byte
    bus keeps up with 8 lanes."""
    from hw.config import small
    from hw.isa.program import Fmt
    run = ACoreRun(Program.FRN_BP, n=40, images=2, groups=3, x0=1, x0_fmt=Fmt.I32, x1=2,
                   x1_fmt=Fmt.CODE, fl_in=3)
    assert perf.stream_wait(run, small(), 8) == 6 * (-(-40 * 11 // 8) - 40)
    assert perf.stream_wait(run, vc709(), 64) == 0
    assert perf.stream_wait(ACoreRun(Program.SUM, n=40, x0=1, x0_fmt=Fmt.CODE), small(), 8) == 0
