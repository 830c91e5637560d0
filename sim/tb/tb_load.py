"""cocotb: the load unit behind the DMA's read side, on LOAD descriptors a compiler made
(map bands with halos, channel-block chunks, subsampled maps, the FC's vectors, weight
chunks), against cocotbext-axi's AXI RAM with random pauses: every entry written into the
input, error and weight buffers equals what the golden machine's LOAD writes from the same
DRAM."""

import itertools
import json
import os

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from cocotbext.axi import AxiRamRead, AxiReadBus

from hw.input_buffer import ibuf_write_layout
from hw.isa.program import Buf, End, Op, decode, encode, layout
from hw.weight_buffer import wbuf_write_layout
from sim.golden.machine import Machine
from hw.isa.pack import width
from sim.tb.common import config, rngs, start

SIZE = 1 << 20


async def collect(dut, port, lay, into):
    """Every entry written on a buffer port: {(bank, address): its codes, one byte each}
    (the field offsets read once: unpacking each write would cost more than the sim)."""
    valid, payload = getattr(dut, f"{port}__valid"), getattr(dut, f"{port}__payload")
    fields = {name: (f.offset, width(f.shape)) for name, f in lay}
    get = lambda bits, name: (bits >> fields[name][0]) & ((1 << fields[name][1]) - 1)
    nbytes = fields["data"][1] // 8
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        if valid.value:
            bits = payload.value.to_unsigned()
            into[(get(bits, "bank"), get(bits, "addr"))] = \
                list(get(bits, "data").to_bytes(nbytes, "little"))


@cocotb.test()
@cocotb.parametrize(stalls=["none", "random"])
async def loads(dut, stalls):
    cfg = config()
    rnd, rng = rngs(stalls == "random")
    words = [int(w, 16) for w in json.loads(os.environ["ETA_LOADS"])]
    descs = [decode(cfg, w) for w in words]
    image = rng.integers(0, 256, SIZE, dtype=np.uint8)
    ram = AxiRamRead(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=SIZE)
    ram.write(0, image.tobytes())
    if stalls == "random":
        for ch in (ram.ar_channel, ram.r_channel):
            ch.set_pause_generator(int(rnd.random() < 0.3) for _ in itertools.count())
    got = {Buf.X: {}, Buf.E: {}, Buf.W: {}}
    for port in ("wr_x", "wr_e", "wr_w"):           # the buffers' write ports never stall
        getattr(dut, f"{port}__ready").value = 1
    dut.desc__valid.value = 0
    await start(dut)
    for buf, port, lay in ((Buf.X, "wr_x", ibuf_write_layout(cfg)),
                           (Buf.E, "wr_e", ibuf_write_layout(cfg)),
                           (Buf.W, "wr_w", wbuf_write_layout(cfg))):
        cocotb.start_soon(collect(dut, port, lay, got[buf]))
    golden = Machine(cfg, SIZE)
    golden.dram[:] = image
    lay = layout(cfg, Op.LOAD)
    for n, d in enumerate(descs):
        for b in got.values():
            b.clear()
        await FallingEdge(dut.clk)
        dut.desc__valid.value = 1
        dut.desc__payload.value = encode(cfg, d) & ((1 << lay.size) - 1)
        while True:                       # the transfer is at the edge after ready is seen
            await ReadOnly()
            ready = dut.desc__ready.value
            await RisingEdge(dut.clk)
            if ready:
                break
        await FallingEdge(dut.clk)
        dut.desc__valid.value = 0
        for _ in range(100000):
            await RisingEdge(dut.clk)
            await ReadOnly()
            if dut.done.value:
                break
        assert dut.done.value, f"load {n} never finished"
        golden.run([d, End()])
        mem = golden.wbuf if d.buf == Buf.W else golden.bufs[d.buf]
        assert got[d.buf], f"load {n} wrote nothing"
        for (bank, addr), entry in got[d.buf].items():
            want = mem[bank, addr].tolist()
            assert entry == list(np.ravel(want)), \
                f"load {n} ({d.buf.name}) bank {bank} addr {addr}"
        others = [b for b in got if b != d.buf and got[b]]
        assert not others, f"load {n} wrote into {others}"
    assert dut.error.value == 0
