"""cocotb: the partial-sum buffer against its golden model: random tiles of accumulations
(back-to-back hits on one address included), reads in between, saturation, under stalls."""

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from amaranth.lib import data

from hw.psum_buffer import psum_acc_layout, psum_lane_layout
from sim.golden.psum_buffer import PsumModel
from sim.tb.common import STALLS, config, pack, rngs, stall_generator, start, unpack


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def accumulate_and_read(dut, stalls):
    cfg = config()
    rnd, rng = rngs(STALLS.index(stalls))
    lanes = len(dut.o__payload.value) // (cfg.acc_bits + 1)
    model = PsumModel(lanes, cfg)
    depth = 1 << cfg.psum_bits
    top = 1 << (cfg.acc_bits - 1)
    # A script: accumulations (first tile, then more) and reads, addresses often repeated.
    script = []
    for _ in range(400):
        addr = int(rng.integers(0, 4)) if rng.random() < 0.5 else int(rng.integers(0, depth))
        # (The memory keeps what earlier tests left: read only what this one wrote.)
        if rng.random() < 0.25 and addr in model.mem:
            script.append(("rd", addr))
            continue
        big = rng.random() < 0.2
        vals = [(int(rng.integers(-top, top)) if big else int(rng.integers(-1000, 1000)),
                 int(rng.random() < 0.05)) for _ in range(lanes)]
        first = int(rng.random() < 0.3 or addr not in model.mem)
        emit = int(rng.random() < 0.2)
        model.accumulate(first, addr, vals)
        script.append(("acc", addr, first, vals, emit))
    # Expected read results, in order, from a second model run.
    model, want = PsumModel(lanes, cfg), []
    for op in script:
        if op[0] == "acc":
            out = model.accumulate(op[2], op[1], op[3], op[4])
            if op[4]:
                want.append(out)
        else:
            want.append(model.read(op[1]))

    go_src, go_sink = stall_generator(stalls, rnd), stall_generator(stalls, rnd)
    acc_layout = psum_acc_layout(cfg, lanes)
    out_layout = data.ArrayLayout(psum_lane_layout(cfg), lanes)
    await start(dut)
    got, i, stuck = [], 0, 0
    while len(got) < len(want):
        await FallingEdge(dut.clk)
        dut.acc__valid.value = 0
        dut.rd__valid.value = 0
        if i < len(script) and next(go_src):
            op = script[i]
            if op[0] == "acc":
                dut.acc__valid.value = 1
                dut.acc__payload.value = pack(acc_layout, {
                    "first": op[2], "emit": op[4], "addr": op[1],
                    "lanes": [{"value": v, "ovf": f} for v, f in op[3]]})
            else:
                dut.rd__valid.value = 1
                dut.rd__payload.value = op[1]
        dut.o__ready.value = next(go_sink)
        await ReadOnly()
        if (dut.acc__valid.value == 1 and dut.acc__ready.value == 1) or \
                (dut.rd__valid.value == 1 and dut.rd__ready.value == 1):
            i += 1
        if dut.o__valid.value == 1 and dut.o__ready.value == 1:
            got.append([(x["value"], x["ovf"])
                         for x in unpack(out_layout, dut.o__payload.value.to_unsigned())])
            stuck = 0
        stuck += 1
        assert stuck < 200, f"stuck after {len(got)} reads, script position {i}"
        await RisingEdge(dut.clk)
    for n, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"read {n}: got {g} want {w}"
