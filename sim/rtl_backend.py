"""The runtime's RTL backend: the accelerator's top (`hw.top.Top`) under cocotb and
Verilator, its DRAM a cocotbext-axi AxiRam, driven through its AXI4-Lite registers exactly as
a host drives the board.

The runtime's calls block; cocotb's do not. So a cocotb test creates an `RtlSim` (clock,
reset, RAM, register master), then runs the host code in a bridged thread:

    sim = RtlSim(dut, size); await sim.begin()
    acc = await cocotb.task.bridge(lambda: host_code(Accelerator(step, "rtl", sim=sim)))()

and every register access inside resumes the simulation until it completes (DRAM itself is
the RAM model's memory: reading and writing it takes no simulated time, as the host's DMA
into the board's DRAM happens while the accelerator is idle).
"""

import os

from hw.isa.regs import BY_NAME
from sim.register_backend import AcceleratorError, RegisterBackend

__all__ = ["RtlSim", "RtlBackend", "SimLink", "AcceleratorError"]


class RtlSim:
    """The top under cocotb: a 100 MHz clock, reset, an AxiRam of `size` bytes on m_axi
    (`pause`: the probability of a pause cycle on each of its channels, drawn from `rnd`;
    SLVERR beyond `size`), an AxiLiteMaster on s_axi."""

    def __init__(self, dut, size, rnd=None, pause=0.0):
        from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam
        self.dut, self.size = dut, size
        self.ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=size)
        self.lite = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi"), dut.clk, dut.rst)
        for log in (self.ram.write_if.log, self.ram.read_if.log, self.lite.write_if.log,
                    self.lite.read_if.log):
            log.setLevel("WARNING")
        self._bounded()
        if pause:
            def pauses():
                while True:
                    yield int(rnd.random() < pause)
            for ch in (self.ram.write_if.aw_channel, self.ram.write_if.w_channel,
                       self.ram.write_if.b_channel, self.ram.read_if.ar_channel,
                       self.ram.read_if.r_channel):
                ch.set_pause_generator(pauses())
        self.cycles = 0

    def _bounded(self):
        """Answer SLVERR beyond the RAM (AxiRam wraps around): an exception in its read or
        write is what cocotbext-axi turns into SLVERR."""
        ram, size = self.ram, self.size

        def check(address, length):
            if address + length > size:
                raise IndexError(f"[{address:#x}, {address + length:#x}) is beyond the RAM")

        async def read(address, length):
            check(address, length)
            return ram.read(address, length)

        async def write(address, data):
            check(address, len(data))
            ram.write(address, data)
        ram.read_if._read, ram.write_if._write = read, write

    async def begin(self):
        from cocotb.clock import Clock
        from cocotb.triggers import RisingEdge
        import cocotb
        dut = self.dut
        Clock(dut.clk, 10, unit="ns").start()
        dut.rst.value = 1
        for _ in range(4):
            await RisingEdge(dut.clk)
        dut.rst.value = 0
        await RisingEdge(dut.clk)

        async def count():
            while True:
                await RisingEdge(dut.clk)
                self.cycles += 1
        cocotb.start_soon(count())

    async def read_reg(self, name):
        r = await self.lite.read(BY_NAME[name].offset if isinstance(name, str) else name, 4)
        return int.from_bytes(r.data, "little")

    async def write_reg(self, name, value):
        off = BY_NAME[name].offset if isinstance(name, str) else name
        await self.lite.write(off, (value & 0xFFFF_FFFF).to_bytes(4, "little"))

    async def wait_irq(self, limit):
        """Until the interrupt line rises; raises after `limit` cycles."""
        from cocotb.triggers import RisingEdge
        for _ in range(limit):
            await RisingEdge(self.dut.clk)
            if self.dut.irq.value == 1:
                return
        raise TimeoutError(f"no interrupt in {limit} cycles")


def _call(coro_fn, *args):
    from cocotb.task import resume
    return resume(coro_fn)(*args)


class SimLink:
    """`RegisterBackend`'s link to an RtlSim: registers through its AXI4-Lite master (each
    access resumes the simulation until it completes), DRAM through the RAM's backdoor,
    `limit` in clock cycles."""

    def __init__(self, sim):
        self.sim = sim

    def read_reg(self, offset):
        return _call(self.sim.read_reg, offset)

    def write_reg(self, offset, value):
        _call(self.sim.write_reg, offset, value)

    def read(self, addr, n):
        return bytes(self.sim.ram.read(addr, n))

    def write(self, addr, data):
        self.sim.ram.write(addr, data)

    def wait_irq(self, limit):
        _call(self.sim.wait_irq, limit)


class RtlBackend(RegisterBackend):
    """The runtime's calls on the simulated top (`sim`, an RtlSim already begun); `limit`:
    cycles to wait for an interrupt (ETA_RTL_LIMIT, default 50 million)."""

    def __init__(self, cfg, dram_bytes, sim=None, seeds=None, limit=None):
        if sim is None:
            raise ValueError("the RTL backend runs inside a cocotb test: give it sim=RtlSim")
        if dram_bytes > sim.size:
            raise ValueError(f"the step needs {dram_bytes} bytes of DRAM; the simulated RAM "
                             f"has {sim.size}")
        self.sim = sim
        limit = limit or int(os.environ.get("ETA_RTL_LIMIT", 50_000_000))
        super().__init__(cfg, dram_bytes, SimLink(sim), limit, seeds)
