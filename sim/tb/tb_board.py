"""cocotb: the board build's own logic (`boards.core.BoardCore`: the accelerator in ui_clk,
its interrupt into the XDMA's clock, the LEDs) with the MIG and the XDMA replaced by
models: DRAM a cocotbext-axi AxiRam with random pauses on every channel, the XDMA's device
files `SimXdma` (its AXI-Lite BAR an AxiLiteMaster, its DMA channels the RAM's backdoor,
its events file the synchronized interrupt line).

`program`: the runtime's board backend (`sim.board_backend`, the code a host runs) runs one
compiled training step of `TINY_NET` through those files; afterwards the whole DRAM image
equals the golden machine's. The LEDs are checked on the way: calibrated only after
`calib`, link up after `link_up`, the heartbeat toggling, done lit after the run.
"""

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, RisingEdge

from boards.core import LEDS
from sim.compiler.step import compile_step
from sim.rtl_backend import RtlSim
from sim.tb.common import config, rngs
from sim.train import accel
from sim.train.net import TINY_INPUT, TINY_NET

LR, MOMENTUM = 0.05, 0.9
LED = {name: i for i, name in enumerate(LEDS)}


class _File:
    def __init__(self, pread, pwrite=None):
        self._pread, self._pwrite = pread, pwrite

    def pread(self, n, offset):
        return self._pread(n, offset)

    def pwrite(self, data, offset):
        return self._pwrite(bytes(data), offset)


class SimXdma:
    """The XDMA driver's four device files over the simulated board core (`sim`, an RtlSim
    on its ui_clk side): `user` 4-byte register accesses, `h2c` / `c2h` the DRAM, `events`
    a read that returns once the interrupt line (in the XDMA's clock) is high."""

    def __init__(self, dut, sim, limit=5_000_000):
        self.dut, self.sim, self.limit, self.count = dut, sim, limit, 0

        def user_read(n, offset):
            assert n == 4 and offset % 4 == 0, (n, offset)
            return resume(sim.read_reg)(offset).to_bytes(4, "little")

        def user_write(data, offset):
            assert len(data) == 4 and offset % 4 == 0, (len(data), offset)
            resume(sim.write_reg)(offset, int.from_bytes(data, "little"))
            return 4

        def ram_write(data, offset):
            sim.ram.write(offset, data)
            return len(data)

        self.user = _File(user_read, user_write)
        self.h2c = _File(None, ram_write)
        self.c2h = _File(lambda n, offset: bytes(sim.ram.read(offset, n)))
        self.events = _File(lambda n, offset: resume(self._event)().to_bytes(4, "little"))

    async def _event(self):
        for _ in range(self.limit):
            await RisingEdge(self.dut.pcie_clk)
            if self.dut.irq.value == 1:
                self.count += 1
                return self.count
        raise TimeoutError(f"no interrupt in {self.limit} cycles")


def _led(dut, name):
    return (dut.leds.value.to_unsigned() >> LED[name]) & 1


@cocotb.test(timeout_time=2, timeout_unit="sec")
async def program(dut):
    cfg = config()
    rnd, rng = rngs()
    net, x, y = accel.warmed_up(TINY_NET, TINY_INPUT, cfg, int(rng.integers(0, 1000)), 1, LR,
                                MOMENTUM)
    step = compile_step(TINY_NET, TINY_INPUT, 1, cfg)
    golden = accel.run_step(step, net, x, y, LR, MOMENTUM)
    size = golden.backend.machine.dram.size
    # XDMA's axi_aclk: 250 MHz against the MIG's 200 (in ns: 4 against 5).
    Clock(dut.pcie_clk, 8, unit="ns").start()
    dut.calib.value, dut.link_up.value = 0, 0
    sim = RtlSim(dut, size, rnd, pause=0.2)
    await sim.begin()
    await ClockCycles(dut.clk, 8)
    assert (_led(dut, "calibrated"), _led(dut, "link_up")) == (0, 0), "LEDs before bring-up"
    dut.calib.value, dut.link_up.value = 1, 1
    await ClockCycles(dut.clk, 4)
    assert (_led(dut, "calibrated"), _led(dut, "link_up")) == (1, 1), "LEDs after bring-up"
    beats = []

    async def heartbeat():
        while True:
            await RisingEdge(dut.clk)
            beats.append(_led(dut, "heartbeat"))
    cocotb.start_soon(heartbeat())
    xdma = SimXdma(dut, sim)
    board = await bridge(lambda: accel.run_step(step, net, x, y, LR, MOMENTUM, "board",
                                                device=xdma))()
    got = np.frombuffer(await bridge(lambda: board.backend.read(0, size))(), np.uint8)
    want = golden.backend.machine.dram
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, (f"{bad.size} of {size} DRAM bytes differ, first at {bad[0]:#x} "
                           f"({got[bad[0]]:#x} != {want[bad[0]]:#x})")
    assert xdma.count >= 2, f"{xdma.count} interrupts (a HOST step and the end at least)"
    assert _led(dut, "done") == 1 and _led(dut, "error") == 0, "done/error LEDs after the run"
    assert 0 < sum(beats) < len(beats), "the heartbeat LED never toggled"
    dut._log.info(f"{len(step.descs)} descriptors, {xdma.count} interrupts, DRAM bit-exact")
