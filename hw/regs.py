"""The register slave: the accelerator's AXI4-Lite registers (`hw.isa.regs`) between the
host and the controller.

AW and W are taken independently (either may come first); once both are in, the write
happens and B answers OKAY, SLVERR (a read-only register) or DECERR (no register there). A
read answers from the address the AR beat gives. Toward the controller: pulses for CONTROL's
start / resume / soft_reset, for a written scalar slot or LFSR seed; levels for the RW
registers. From it: the status levels, the failing descriptor's address, the host step,
event pulses (done, error, host) that set IRQ_STATUS, and the counters, which
COUNTER_SNAPSHOT copies for reading. `irq` is IRQ_STATUS & IRQ_ENABLE != 0.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .axi import RESP_DECERR, RESP_OKAY, RESP_SLVERR, axi_lite_slave
from .config import Configured
from .isa.regs import ADDR_BITS, COUNTER_BASE, COUNTERS, ID, REGS, VERSION, \
    config_hash

__all__ = ["Regs", "EVENTS"]

EVENTS = ("done", "error", "host")      # IRQ_STATUS bits, in order


def _members(cfg):
    return {
        **axi_lite_slave("s_axi", ADDR_BITS),
        # to the controller
        "start": Out(1), "resume": Out(1), "soft_reset": Out(1),
        "program_base": Out(32), "dram_base": Out(32), "dram_size": Out(32),
        "scalar_index": Out(10), "scalar_wdata": Out(32), "scalar_we": Out(1),
        "seed_lane": Out(8), "seed_data": Out(32), "seed_we": Out(1),
        # from the controller
        "scalar_rdata": In(32),
        "busy": In(1), "done": In(1), "error": In(1), "host": In(1),
        "error_code": In(8), "error_addr": In(32), "host_step": In(32),
        "events": In(len(EVENTS)),
        "counters": In(data.ArrayLayout(64, len(COUNTERS))),
        "irq": Out(1),
    }


class Regs(Configured, wiring.Component):
    def __init__(self, cfg):
        super().__init__(cfg, _members)

    def _port(self, name):
        return getattr(self, f"s_axi_{name}")

    def elaborate(self, platform):
        m = Module()
        rw = {name: Signal(32, name=name.lower()) for name in
              ("IRQ_ENABLE", "PROGRAM_BASE", "DRAM_BASE", "DRAM_SIZE", "SCALAR_INDEX",
               "SEED_INDEX")}
        irq_status = Signal(len(EVENTS))
        snapshot = Signal(data.ArrayLayout(64, len(COUNTERS)))
        m.d.comb += [self.program_base.eq(rw["PROGRAM_BASE"]),
                     self.dram_base.eq(rw["DRAM_BASE"]), self.dram_size.eq(rw["DRAM_SIZE"]),
                     self.scalar_index.eq(rw["SCALAR_INDEX"]),
                     self.seed_lane.eq(rw["SEED_INDEX"]),
                     self.irq.eq((irq_status & rw["IRQ_ENABLE"][:len(EVENTS)]).any())]
        self._write_side(m, rw, irq_status, snapshot)
        self._read_side(m, rw, irq_status, snapshot)
        return m

    def _write_side(self, m, rw, irq_status, snapshot):
        """AW and W latched apart; the write, and B, once both are in."""
        a = self._port
        aw_addr, aw_full = Signal(ADDR_BITS), Signal()
        w_data, w_strb, w_full = Signal(32), Signal(4), Signal()
        m.d.comb += [a("awready").eq(~aw_full), a("wready").eq(~w_full)]
        with m.If(a("awvalid") & ~aw_full):
            m.d.sync += [aw_addr.eq(a("awaddr")), aw_full.eq(1)]
        with m.If(a("wvalid") & ~w_full):
            m.d.sync += [w_data.eq(a("wdata")), w_strb.eq(a("wstrb")), w_full.eq(1)]
        with m.If(a("bvalid") & a("bready")):
            m.d.sync += a("bvalid").eq(0)

        go = aw_full & w_full & ~a("bvalid")
        mask = Cat(*[b.replicate(8) for b in w_strb])
        merge = lambda old, reg: ((old & ~mask) | (w_data & mask)) & reg.mask
        pulse = {name: Signal(name=f"w_{name}") for name in ("start", "resume", "soft_reset")}
        m.d.comb += [self.start.eq(pulse["start"]), self.resume.eq(pulse["resume"]),
                     self.soft_reset.eq(pulse["soft_reset"])]
        clear = Signal(len(EVENTS))
        resp = Signal(2)
        with m.If(go):
            m.d.sync += [aw_full.eq(0), w_full.eq(0), a("bvalid").eq(1), a("bresp").eq(resp)]
            with m.Switch(aw_addr[2:]):
                for reg in REGS:
                    with m.Case(reg.offset >> 2):
                        m.d.comb += resp.eq(RESP_SLVERR if reg.access == "RO" else RESP_OKAY)
                        self._write_reg(m, reg, rw, merge, mask, w_data, pulse, clear,
                                        snapshot)
                with m.Default():
                    m.d.comb += resp.eq(RESP_DECERR)
        # Events set IRQ_STATUS; a write of 1 clears a bit (an event in the same cycle wins).
        m.d.sync += irq_status.eq((irq_status & ~clear) | self.events)

    def _write_reg(self, m, reg, rw, merge, mask, w_data, pulse, clear, snapshot):
        byte0 = mask[0]
        if reg.name in rw:
            m.d.sync += rw[reg.name].eq(merge(rw[reg.name], reg))
        elif reg.name == "CONTROL":
            for f in reg.fields:
                m.d.comb += pulse[f.name].eq(w_data[f.lsb] & byte0)
        elif reg.name == "IRQ_STATUS":
            m.d.comb += clear.eq(w_data[:len(EVENTS)] & mask[:len(EVENTS)])
        elif reg.name == "SCALAR_DATA":
            m.d.comb += [self.scalar_we.eq(1), self.scalar_wdata.eq(merge(0, reg))]
        elif reg.name == "SEED_DATA":
            m.d.comb += [self.seed_we.eq(1), self.seed_data.eq(merge(0, reg))]
        elif reg.name == "COUNTER_SNAPSHOT":
            with m.If(w_data[0] & byte0):
                m.d.sync += snapshot.eq(self.counters)

    def _read_side(self, m, rw, irq_status, snapshot):
        a = self._port
        m.d.comb += a("arready").eq(~a("rvalid"))
        with m.If(a("rvalid") & a("rready")):
            m.d.sync += a("rvalid").eq(0)
        value, resp = Signal(32), Signal(2)
        status = Cat(self.busy, self.done, self.error, self.host, 0, 0, 0, 0, self.error_code)
        fixed = {"ID": ID, "VERSION": VERSION, "CONFIG_HASH": config_hash(self._cfg),
                 "STATUS": status, "ERROR_ADDR": self.error_addr,
                 "HOST_STEP": self.host_step, "IRQ_STATUS": irq_status,
                 "SCALAR_DATA": self.scalar_rdata}
        with m.Switch(a("araddr")[2:]):
            for reg in REGS:
                with m.Case(reg.offset >> 2):
                    if reg.name in rw:
                        m.d.comb += value.eq(rw[reg.name])
                    elif reg.name in fixed:
                        m.d.comb += value.eq(fixed[reg.name])
                    elif reg.offset >= COUNTER_BASE:
                        i, hi = divmod(reg.offset - COUNTER_BASE, 8)
                        word = snapshot[i]
                        m.d.comb += value.eq(word[32:] if hi else word[:32])
                    # W1 and WO registers read 0
            with m.Default():
                m.d.comb += resp.eq(RESP_DECERR)
        with m.If(a("arvalid") & ~a("rvalid")):
            m.d.sync += [a("rvalid").eq(1), a("rdata").eq(value), a("rresp").eq(resp)]
