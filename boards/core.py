"""The logic of the board build that is ours, in one component we can simulate: the
accelerator (`hw.top.Top`) in the MIG's ui_clk domain (`sync`), its interrupt carried into
the XDMA's clock domain (`pcie`), and the LEDs. The board top (`boards.top`) wraps it with
vendor IP only; `make board` writes it as module `eta_core`.

- Until the MIG has calibrated (`calib`), the accelerator is held in reset: the DDR3 takes
  no request before that.
- `irq` leaves through a two-flop synchronizer in `pcie` (XDMA's usr_irq_req[0]: a level,
  high until the host clears IRQ_STATUS).
- LEDs 0-7: heartbeat (about 1.5 Hz at 200 MHz), DDR3 calibrated, PCIe link up, busy,
  done, error, interrupt, unused (low).
"""

from amaranth.hdl import (Cat, ClockDomain, ClockSignal, DomainRenamer, Module, ResetSignal,
                          Signal)
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from hw.config import Configured
from hw.top import Top

__all__ = ["BoardCore", "LEDS"]

LEDS = ("heartbeat", "calibrated", "link_up", "busy", "done", "error", "irq", "off")


class BoardCore(Configured, wiring.Component):
    """Top's m_axi_* and s_axi_* (domain `sync`), `irq` (domain `pcie`), `calib` (sync),
    `link_up` (pcie), `leds` (sync)."""

    def __init__(self, cfg, heartbeat_bits=27):
        if not 1 <= heartbeat_bits <= 40:
            raise ValueError(f"heartbeat_bits must be in [1, 40], not {heartbeat_bits}")
        self._heartbeat_bits = heartbeat_bits
        self._top = Top(cfg)

        def members(cfg):
            axi = {name: member for name, member in self._top.signature.members.items()
                   if name.startswith(("m_axi_", "s_axi_"))}
            return {**axi, "irq": Out(1), "calib": In(1), "link_up": In(1),
                    "leds": Out(len(LEDS))}
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        top = self._top
        # The accelerator's domain: ui_clk, reset until calibrated.
        m.domains.acc = acc = ClockDomain("acc", local=True)
        m.d.comb += [acc.clk.eq(ClockSignal("sync")),
                     acc.rst.eq(ResetSignal("sync") | ~self.calib)]
        m.submodules.top = DomainRenamer({"sync": "acc"})(top)
        for name in self.signature.members:
            if name.startswith(("m_axi_", "s_axi_")):
                ours, theirs = getattr(self, name), getattr(top, name)
                out = self.signature.members[name].flow == Out
                m.d.comb += ours.eq(theirs) if out else theirs.eq(ours)
        m.submodules.irq_sync = FFSynchronizer(top.irq, self.irq, o_domain="pcie")
        link_up = Signal()
        m.submodules.link_sync = FFSynchronizer(self.link_up, link_up)
        beat = Signal(self._heartbeat_bits)
        m.d.sync += beat.eq(beat + 1)
        m.d.comb += self.leds.eq(Cat(beat[-1], self.calib, link_up, top.status, top.irq))
        return m
