"""cocotb: the register slave over AXI4-Lite (cocotbext-axi's AxiLiteMaster, random pauses
on every channel): identity, RW registers with byte strobes, the W1 pulses, W1C interrupt
status and the interrupt line, scalar and seed writes, latched counters, and the error
responses."""

import itertools

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiResp

from hw.isa.regs import BY_NAME, COUNTER_BASE, COUNTERS, ID, VERSION, config_hash
from sim.tb.common import config, rngs, start

OFF = {name: r.offset for name, r in BY_NAME.items()}


class RegsTB:
    def __init__(self, dut, rnd, stalls):
        self.dut = dut
        self.m = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi"), dut.clk, dut.rst)
        if stalls:
            for ch in (self.m.write_if.aw_channel, self.m.write_if.w_channel,
                       self.m.write_if.b_channel, self.m.read_if.ar_channel,
                       self.m.read_if.r_channel):
                ch.set_pause_generator(int(rnd.random() < 0.4) for _ in itertools.count())
        self.pulses = {name: 0 for name in ("start", "resume", "soft_reset")}
        self.scalars, self.seeds = {}, {}
        cocotb.start_soon(self._watch())

    async def _watch(self):
        """Count the pulses; model the controller's scalar table and seed loads."""
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            for name in self.pulses:
                self.pulses[name] += int(getattr(dut, name).value)
            if dut.scalar_we.value:
                self.scalars[int(dut.scalar_index.value)] = dut.scalar_wdata.value.to_signed()
            if dut.seed_we.value:
                self.seeds[int(dut.seed_lane.value)] = int(dut.seed_data.value)

    async def read(self, name, resp=AxiResp.OKAY):
        r = await self.m.read(OFF[name] if isinstance(name, str) else name, 4)
        assert r.resp == resp, f"read {name}: {r.resp} != {resp}"
        return int.from_bytes(r.data, "little")

    async def write(self, name, value, resp=AxiResp.OKAY, nbytes=4, offset=0):
        addr = (OFF[name] if isinstance(name, str) else name) + offset
        r = await self.m.write(addr, (value & ((1 << 8 * nbytes) - 1)).to_bytes(nbytes,
                                                                                "little"))
        assert r.resp == resp, f"write {name}: {r.resp} != {resp}"


async def setup(dut, stalls):
    rnd, rng = rngs(int(stalls))
    for port in ("busy", "done", "error", "host", "error_code", "error_addr", "host_step",
                 "events", "scalar_rdata", "counters"):
        getattr(dut, port).value = 0
    await start(dut)
    return RegsTB(dut, rnd, stalls), rnd


@cocotb.test()
@cocotb.parametrize(stalls=[False, True])
async def registers(dut, stalls):
    cfg = config()
    tb, rnd = await setup(dut, stalls)
    assert await tb.read("ID") == ID
    assert await tb.read("VERSION") == VERSION
    assert await tb.read("CONFIG_HASH") == config_hash(cfg)

    # RW registers, whole words and single bytes (the strobes).
    for name in ("PROGRAM_BASE", "DRAM_BASE", "DRAM_SIZE"):
        v = rnd.getrandbits(32)
        await tb.write(name, v)
        assert await tb.read(name) == v
        assert int(getattr(dut, name.lower()).value) == v
        await tb.write(name, 0xA5, nbytes=1, offset=2)
        v = (v & ~0xFF0000) | 0xA50000
        assert await tb.read(name) == v
    await tb.write("SCALAR_INDEX", 0xFFFF_FFFF)
    assert await tb.read("SCALAR_INDEX") == 0x3FF          # 10 bits hold the slot number

    # CONTROL: each written 1 is one pulse; the register reads 0.
    await tb.write("CONTROL", 0b101)
    await tb.write("CONTROL", 0b010)
    await tb.write("CONTROL", 0)
    for _ in range(3):
        await RisingEdge(dut.clk)
    assert tb.pulses == {"start": 1, "resume": 1, "soft_reset": 1}, tb.pulses
    assert await tb.read("CONTROL") == 0

    # STATUS and friends follow the controller.
    dut.busy.value, dut.error.value, dut.error_code.value = 1, 1, 5
    dut.error_addr.value, dut.host_step.value = 0x1234_5678, 7
    assert await tb.read("STATUS") == 1 | 4 | (5 << 8)
    assert await tb.read("ERROR_ADDR") == 0x1234_5678
    assert await tb.read("HOST_STEP") == 7

    # Events set IRQ_STATUS; the interrupt follows IRQ_ENABLE; writing 1 clears.
    dut.events.value = 0b101
    await RisingEdge(dut.clk)
    dut.events.value = 0
    assert await tb.read("IRQ_STATUS") == 0b101
    assert dut.irq.value == 0
    await tb.write("IRQ_ENABLE", 0b100)
    await RisingEdge(dut.clk)
    assert dut.irq.value == 1
    await tb.write("IRQ_STATUS", 0b100)
    await RisingEdge(dut.clk)
    assert dut.irq.value == 0 and await tb.read("IRQ_STATUS") == 0b001

    # Scalars and seeds reach the controller.
    for i, v in ((3, -5), (1023, 0x7FFF_FFFF)):
        await tb.write("SCALAR_INDEX", i)
        await tb.write("SCALAR_DATA", v)
    await RisingEdge(dut.clk)
    assert tb.scalars == {3: -5, 1023: 0x7FFF_FFFF}, tb.scalars
    dut.scalar_rdata.value = 0xDEAD_BEEF
    assert await tb.read("SCALAR_DATA") == 0xDEAD_BEEF
    await tb.write("SEED_INDEX", 1)
    await tb.write("SEED_DATA", 0xC0FFEE)
    await RisingEdge(dut.clk)
    assert tb.seeds == {1: 0xC0FFEE}

    # Counters: a snapshot reads consistently while they move on.
    values = [rnd.getrandbits(64) for _ in COUNTERS]
    dut.counters.value = sum(v << (64 * i) for i, v in enumerate(values))
    await RisingEdge(dut.clk)
    await tb.write("COUNTER_SNAPSHOT", 1)
    dut.counters.value = 0
    for i, v in enumerate(values):
        lo = await tb.read(COUNTER_BASE + 8 * i)
        hi = await tb.read(COUNTER_BASE + 8 * i + 4)
        assert lo | hi << 32 == v, COUNTERS[i][0]

    # Errors: nothing at an address, a read-only register written.
    await tb.read(0xFFC, AxiResp.DECERR)
    await tb.write(0xFFC, 1, AxiResp.DECERR)
    await tb.write("ID", 1, AxiResp.SLVERR)
    assert await tb.read("ID") == ID
