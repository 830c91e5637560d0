"""cocotb: the input buffer holding a map, read with the row sets of every pattern for
every output-row group (padding rows included) against the golden layout, under stalls; the
conflict counter stays 0, and counts a deliberate conflict."""

import cocotb
from amaranth.lib import data
from cocotb.triggers import FallingEdge, ReadOnly

from hw.input_buffer import ibuf_entry_layout, ibuf_read_layout, ibuf_write_layout
from sim.golden import input_buffer as golden
from sim.golden import pe
from sim.tb.common import (STALLS, StreamPort, config, load_banks, pack, rngs, run_stream,
                           start, unpack)


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def every_pattern(dut, stalls):
    cfg = config()
    rnd, rng = rngs(STALLS.index(stalls))
    p, nb = cfg.pe_cols, golden.banks(cfg)
    slots = [(w, r) for w in range(cfg.wpus) for r in range(cfg.pe_rows)]
    await start(dut)
    c, h, w = 3, 7, 5
    x = rng.integers(0, 256, (c, h, w))
    base = 3                          # the map stored away from entry 0
    img = golden.image(x, cfg, base)
    await load_banks(dut, ibuf_write_layout(cfg), img)
    pairs, blocks = -(-w // 2), -(-c // p)
    reqs, want = [], []
    for mode in pe.MODES:
        for i in range(-2, h + 1):
            rows = golden.rows_for(mode, i, cfg)
            golden.bank_reads(rows, h, cfg)                  # no conflict by construction
            cp, cb = int(rng.integers(0, pairs)), int(rng.integers(0, blocks))
            on = {s: 0 <= rows[s] < h for s in slots}
            reqs.append({"rows": [{"row": max(rows[s], 0), "valid": int(on[s])}
                                  for s in slots], "cp": cp, "cb": cb, "pairs": pairs,
                         "blocks": blocks, "base": base})
            want.append([img[(rows[s] % nb, base + ((rows[s] // nb) * pairs + cp) * blocks
                              + cb)]
                         if on[s] else [[0] * p, [0] * p] for s in slots])
    layout = ibuf_read_layout(cfg)
    got = await run_stream(dut, StreamPort(dut, "rd"), StreamPort(dut, "o"),
                           [pack(layout, r) for r in reqs], len(reqs), stalls, stalls, rnd)
    out = data.ArrayLayout(ibuf_entry_layout(cfg), len(slots))
    code = lambda d: pack(ibuf_entry_layout(cfg).elem_shape.elem_shape, d)
    for n, (bits, w_) in enumerate(zip(got, want)):
        have = [[[code(v) for v in coord] for coord in entry] for entry in unpack(out, bits)]
        assert have == w_, f"read {n}: {have} != {w_}"
    await ReadOnly()
    assert dut.conflicts.value.to_unsigned() == 0
    # A deliberate conflict (rows 0 and `banks` share bank 0) is counted.
    await FallingEdge(dut.clk)
    bad = {"rows": [{"row": 0, "valid": 1}, {"row": nb, "valid": 1}] +
           [{"row": 0, "valid": 0}] * (len(slots) - 2), "cp": 0, "cb": 0, "pairs": pairs,
           "blocks": blocks, "base": 0}
    await run_stream(dut, StreamPort(dut, "rd"), StreamPort(dut, "o"), [pack(layout, bad)], 1)
    await ReadOnly()
    assert dut.conflicts.value.to_unsigned() == 1
