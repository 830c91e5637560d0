"""The accelerator (paper Fig. 5) as one component: one AXI4 master into DRAM (`m_axi_*`), one
AXI4-Lite register slave (`s_axi_*`, `hw.isa.regs`), an interrupt, and `status` (busy,
done, error: STATUS bits 0-2, for a board's LEDs); Xilinx port names, so Vivado's block
designer infers both interfaces.

Inside: the registers, the global controller (fetching the program), the load unit, the
TILE unit and the C-Core, the STORE unit, the A-Core's unit; every DMA client behind one
`DmaHub` (fetch, load, the A-Core's operands and parameters; STORE, the A-Core's results),
which refuses commands outside the DRAM window.

- **Errors**: a unit's own error keeps its code; a command of the unit's outside the window
  is ADDRESS; a bus error on its reads READ_ERROR, on its writes WRITE_ERROR. The controller
  stops with the code and the address of the descriptor the unit took last, or for a bus
  error the oldest one in flight there (the STORE unit overlaps descriptors).
- **Soft reset** (CONTROL.soft_reset): no DMA command is taken any more, the bursts already
  accepted finish, and once the AXI port is at rest (no burst outstanding, no W beat owed,
  no request waiting) everything but the registers and the scalar table is reset at once;
  so no answer to a burst from before the reset reaches a unit after it.
- **Counters**: bytes read and written count whole bus beats; DRAM_WAIT is a cycle in which
  a request or a W beat waits for the bus.
"""

from amaranth.hdl import (Cat, ClockDomain, ClockSignal, Const, DomainRenamer, Module,
                          ResetSignal, Signal)
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from .acore_unit import READ_PORTS as AC_READS, WRITE_PORTS as AC_WRITES, ACoreUnit
from .axi import axi4_read_master, axi4_write_master, axi_lite_slave
from .ccore import CCore
from .config import Configured
from .controller import Controller
from .dma_hub import DmaHub
from .isa.program import Op, layout
from .isa.pack import width
from .isa.regs import ADDR_BITS, ErrorCode
from .load import LoadUnit
from .lockstep import any_of
from .regs import Regs
from .reuse import Reused
from .store import WORD as STORE_LANE, StoreUnit
from .tile_unit import TileUnit

__all__ = ["Top", "READS", "WRITES", "OWNER"]

# The DMA clients and the unit each belongs to.
READS = ("fetch", "load") + AC_READS
WRITES = {"store": STORE_LANE, **{n: ACoreUnit.write_lanes(n) for n in AC_WRITES}}
OWNER = {"fetch": None, "load": "ld", "store": "st",
         **{n: "ac" for n in AC_READS + AC_WRITES}}


def _id_bits():
    return 1 + max(len(READS) - 1, len(WRITES) - 1).bit_length()


class Top(Configured, wiring.Component):
    def __init__(self, cfg, watchdog=1 << 20):
        self._watchdog = watchdog

        def members(cfg):
            a, d = cfg.dram_addr_bits, cfg.axi_data_bits
            return {**axi4_read_master("m_axi", a, d, _id_bits()),
                    **axi4_write_master("m_axi", a, d, _id_bits()),
                    **axi_lite_slave("s_axi", ADDR_BITS),
                    "irq": Out(1), "status": Out(3)}
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        self._hold = Signal()            # soft reset pending: the hub takes no command
        m.submodules.regs = regs = Regs(cfg)
        self._join(m, regs, "s_axi", inward=True)
        m.d.comb += [self.irq.eq(regs.irq),
                     self.status.eq(Cat(regs.busy, regs.done, regs.error))]

        # Every unit is its own Verilog module (hw.reuse), converted once: the flat netlist
        # of the whole accelerator costs Amaranth more than its parts.
        core = Module()
        wd = self._watchdog
        core.submodules.ctrl = ctrl = Reused(lambda: Controller(cfg, watchdog=wd),
                                             "controller", (cfg, wd))
        core.submodules.hub = hub = Reused(lambda: DmaHub(cfg, READS, WRITES), "dma_hub",
                                           (cfg, READS, WRITES))
        core.submodules.load = load = Reused(lambda: LoadUnit(cfg), "load_unit", cfg)
        core.submodules.tile = tile = Reused(lambda: TileUnit(cfg), "tile_unit", cfg)
        core.submodules.ccore = cc = Reused(lambda: CCore(cfg), "ccore", cfg)
        core.submodules.store = st = Reused(lambda: StoreUnit(cfg), "store_unit", cfg)
        core.submodules.acore = ac = Reused(lambda: ACoreUnit(cfg), "acore_unit", cfg)
        self._join(core, hub, "m_axi", inward=False)
        self._registers(m, core, regs, ctrl, hub, ac)
        self._units(core, ctrl, load, tile, cc, st, ac)
        self._clients(core, hub, ctrl, load, st, ac)
        self._errors(core, hub, ctrl, {"ld": load, "cc": tile, "st": st, "ac": ac})
        # The units' domain: the clock, reset by the reset or the soft reset.
        reset = self._soft_reset(m, regs, hub)
        m.domains.core = cd = ClockDomain("core", local=True)
        m.d.comb += [cd.clk.eq(ClockSignal("sync")), cd.rst.eq(ResetSignal("sync") | reset),
                     ctrl.soft_reset.eq(0)]
        m.submodules.core = DomainRenamer({"sync": "core"})(core)
        return m

    def _join(self, m, inner, prefix, inward):
        """Our `prefix`_* port to the same port of `inner` (IDs of other widths extend)."""
        for name, member in self.signature.members.items():
            if not name.startswith(prefix + "_"):
                continue
            ours, theirs = getattr(self, name), getattr(inner, name)
            drives_out = (member.flow == Out)
            m.d.comb += ours.eq(theirs) if drives_out else theirs.eq(ours)

    def _registers(self, m, core, regs, ctrl, hub, ac):
        """The registers to the controller, the window to the hub, the seeds to the A-Core."""
        for name in ("start", "resume", "program_base", "dram_base", "dram_size",
                     "scalar_index", "scalar_wdata", "scalar_we"):
            m.d.comb += getattr(ctrl, name).eq(getattr(regs, name))
        for name in ("scalar_rdata", "busy", "done", "error", "host", "error_code",
                     "error_addr", "host_step", "events", "counters"):
            m.d.comb += getattr(regs, name).eq(getattr(ctrl, name))
        m.d.comb += [hub.dram_base.eq(regs.dram_base), hub.dram_size.eq(regs.dram_size),
                     ac.seed_lane.eq(regs.seed_lane), ac.seed_data.eq(regs.seed_data),
                     ac.seed_we.eq(regs.seed_we)]
        # The counters' DMA inputs, from the AXI port.
        B = self._cfg.axi_bytes
        hs = lambda ch: getattr(self, f"m_axi_{ch}valid") & getattr(self, f"m_axi_{ch}ready")
        waits = lambda ch: getattr(self, f"m_axi_{ch}valid") & ~getattr(self, f"m_axi_{ch}ready")
        m.d.comb += [ctrl.dma_read_bytes.eq(hs("r") * B), ctrl.dma_write_bytes.eq(hs("w") * B),
                     ctrl.dram_wait.eq(waits("ar") | waits("aw") | waits("w"))]

    def _units(self, m, ctrl, load, tile, cc, st, ac):
        """Descriptors from the controller's queues to the units; the C-Core between the TILE
        and STORE units; the load unit into the C-Core's buffers; the scalar table."""
        cfg = self._cfg
        for port, unit, op in (("ld", load, Op.LOAD), ("cc", tile, Op.TILE),
                               ("st", st, Op.STORE), ("ac", ac, Op.ACORE)):
            q = getattr(ctrl, port)
            m.d.comb += [unit.desc.valid.eq(q.valid), q.ready.eq(unit.desc.ready),
                         unit.desc.payload.eq(q.payload.word[:width(layout(cfg, op))]),
                         getattr(ctrl, f"{port}_done").eq(unit.done)]
        for name in ("wr_x", "wr_e", "wr_w"):
            wiring.connect(m, getattr(load, name), getattr(cc, name))
        wiring.connect(m, tile.tile, cc.tile)
        wiring.connect(m, tile.emitted, st.tiles)
        wiring.connect(m, cc.o, st.o)
        m.d.comb += [tile.retired.eq(cc.retired), tile.refused.eq(cc.error),
                     ac.s_rdata.eq(ctrl.ac_s_rdata), ctrl.ac_s_addr.eq(ac.s_addr),
                     ctrl.ac_s_wdata.eq(ac.s_wdata), ctrl.ac_s_we.eq(ac.s_we)]

    def _clients(self, m, hub, ctrl, load, st, ac):
        """Each unit's DMA ports to its hub client."""
        pairs = {"fetch": (ctrl.fetch, ctrl.words), "load": (load.rd, load.words),
                 "store": (st.cmd, st.words)}
        for n in AC_READS + AC_WRITES:
            pairs[n] = (getattr(ac, f"{n}_cmd"), getattr(ac, f"{n}_words"))
        for name, (cmd, words) in pairs.items():
            wiring.connect(m, cmd, getattr(hub, f"{name}_cmd"))
            if name in READS:
                wiring.connect(m, getattr(hub, f"{name}_words"), words)
            else:
                wiring.connect(m, words, getattr(hub, f"{name}_words"))
        m.d.comb += st.written.eq(hub.store_written)
        for n in AC_WRITES:
            m.d.comb += getattr(ac, f"{n}_written").eq(getattr(hub, f"{n}_written"))
        m.d.comb += [st.dram_base.eq(ctrl.dram_base), st.dram_size.eq(ctrl.dram_size),
                     hub.clear.eq(0), hub.hold.eq(self._hold)]

    def _errors(self, m, hub, ctrl, units):
        """Each unit's error and code: its own first, then its clients' window and bus
        errors. The fetch's bus error goes to the controller directly."""
        clients = list(READS) + list(WRITES)
        bit = {name: i for i, name in enumerate(clients)}
        m.d.comb += ctrl.fetch_error.eq(hub.bus_error[bit["fetch"]])
        for port, unit in units.items():
            mine = [n for n in clients if OWNER[n] == port]
            none = [Const(0, 1)]
            window = any_of([hub.window_error[bit[n]] for n in mine] or none)
            rd = any_of([hub.bus_error[bit[n]] for n in mine if n in READS] or none)
            wr = any_of([hub.bus_error[bit[n]] for n in mine if n in WRITES] or none)
            err, code = getattr(ctrl, f"{port}_error"), getattr(ctrl, f"{port}_code")
            m.d.comb += err.eq(unit.error | window | rd | wr)
            with m.If(unit.error):
                m.d.comb += code.eq(unit.code)
            with m.Elif(window):
                m.d.comb += code.eq(ErrorCode.ADDRESS.value)
            with m.Elif(rd):
                m.d.comb += code.eq(ErrorCode.READ_ERROR.value)
            with m.Else():
                m.d.comb += code.eq(ErrorCode.WRITE_ERROR.value)

    def _soft_reset(self, m, regs, hub):
        """CONTROL.soft_reset -> hold the hub until the AXI port rests, then one reset
        cycle. Returns the reset."""
        reads, writes, owed = Signal(8), Signal(8), Signal(8)    # outstanding at the port
        p = lambda x: getattr(self, f"m_axi_{x}")
        ar, aw = p("arvalid") & p("arready"), p("awvalid") & p("awready")
        r_last = p("rvalid") & p("rready") & p("rlast")
        w_last = p("wvalid") & p("wready") & p("wlast")
        b = p("bvalid") & p("bready")
        m.d.sync += [reads.eq(reads + ar - r_last), writes.eq(writes + aw - b),
                     owed.eq(owed + aw - w_last)]
        rest = ((reads == 0) & (writes == 0) & (owed == 0) & ~p("arvalid") & ~p("awvalid")
                & ~p("wvalid"))
        held = Signal()
        reset = Signal()
        with m.If(regs.soft_reset):
            m.d.sync += self._hold.eq(1)
        m.d.sync += held.eq(self._hold)
        m.d.comb += reset.eq(self._hold & held & rest)
        with m.If(reset):
            m.d.sync += [self._hold.eq(0), held.eq(0)]
        return reset
