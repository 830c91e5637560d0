"""Input buffer (paper Fig. 8): 3 wpus banks of entries of two adjacent coordinates x
pe_cols channels, in the layout of `sim.golden.input_buffer` (row r in bank r mod banks).

A read names one row per (WPU, PE row) slot, with a valid bit (padding rows are not read and
come back as zeros), and the coordinate pair and channel block. Each bank serves the slot
whose row it holds: rows that a beat shares are read once, and the windows slide down the map
without moving data, since a row stays in its bank. Two different rows wanting one bank in
the same read is a conflict: `conflicts` counts them (the patterns never cause one; the tests
check the count stays 0). Two register stages.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import divmod_const
from .config import Configured
from .lockstep import any_of
from .pint import pint_layout

__all__ = ["InputBuffer", "ibuf_entry_layout", "ibuf_read_layout", "ibuf_write_layout"]


def _banks(cfg):
    return cfg.pe_rows * cfg.wpus


def ibuf_entry_layout(cfg):
    return data.ArrayLayout(data.ArrayLayout(pint_layout(cfg.pint), cfg.pe_cols), 2)


def ibuf_write_layout(cfg):
    return data.StructLayout({"bank": range(_banks(cfg)), "addr": cfg.ibuf_bits,
                              "data": ibuf_entry_layout(cfg)})


def ibuf_read_layout(cfg):
    """rows: one per (WPU, PE row) slot; the map (pairs coordinate pairs per row, blocks
    channel blocks) is stored from entry `base` of every bank."""
    a = range(1 << cfg.ibuf_bits)
    slot = data.StructLayout({"row": range(_banks(cfg) << cfg.ibuf_bits), "valid": 1})
    return data.StructLayout({"rows": data.ArrayLayout(slot, cfg.wpus * cfg.pe_rows),
                              "cp": a, "cb": a, "pairs": a, "blocks": a, "base": a})


class InputBuffer(Configured, wiring.Component):
    def __init__(self, cfg):
        super().__init__(cfg, lambda cfg: {
            "wr": In(stream.Signature(ibuf_write_layout(cfg))),
            "rd": In(stream.Signature(ibuf_read_layout(cfg))),
            "o": Out(stream.Signature(data.ArrayLayout(ibuf_entry_layout(cfg),
                                                       cfg.wpus * cfg.pe_rows))),
            "conflicts": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        nb, slots, depth = _banks(cfg), cfg.wpus * cfg.pe_rows, 1 << cfg.ibuf_bits
        req = self.rd.payload

        adv2, adv1, s1_valid = Signal(), Signal(), Signal()
        m.d.comb += [adv2.eq(~self.o.valid | self.o.ready), adv1.eq(~s1_valid | adv2),
                     self.rd.ready.eq(adv1), self.wr.ready.eq(1)]
        take = self.rd.valid & adv1

        # Each slot's row as (line, bank) = divmod(row, banks), by adders (`hw.arith`).
        bank_of = [Signal(range(nb), name=f"bank_of{s}") for s in range(slots)]
        line_of = [Signal(cfg.ibuf_bits, name=f"line_of{s}") for s in range(slots)]
        for s in range(slots):
            line, bank = divmod_const(req.rows[s].row, nb)
            m.d.comb += [bank_of[s].eq(bank), line_of[s].eq(line)]
        # Entry (line, cp, cb) of the map is base + line pairs blocks + cp blocks + cb: the
        # products shared by the banks, one per bank left (the line's).
        per_line, at = Signal(cfg.ibuf_bits), Signal(cfg.ibuf_bits)
        m.d.comb += [per_line.eq(req.pairs * req.blocks), at.eq(req.base + req.cp * req.blocks
                                                                + req.cb)]

        # Conflicts: two valid slots, different rows, one bank.
        clash = []
        for s in range(slots):
            for t in range(s + 1, slots):
                a, b = req.rows[s], req.rows[t]
                clash.append(a.valid & b.valid & (bank_of[s] == bank_of[t]) & (a.row != b.row))
        with m.If(take & any_of(clash)):
            m.d.sync += self.conflicts.eq(self.conflicts + 1)

        # Each bank reads the row of the first valid slot it holds.
        bank_data = []
        for b in range(nb):
            mem = memory.Memory(shape=ibuf_entry_layout(cfg), depth=depth, init=[])
            m.submodules[f"bank{b}"] = mem
            rp, wp = mem.read_port(), mem.write_port()
            m.d.comb += [wp.addr.eq(self.wr.payload.addr), wp.data.eq(self.wr.payload.data),
                         wp.en.eq(self.wr.valid & (self.wr.payload.bank == b)),
                         rp.en.eq(adv1)]
            line = Signal(cfg.ibuf_bits, name=f"line{b}")
            for s in reversed(range(slots)):        # the first matching slot wins
                with m.If(req.rows[s].valid & (bank_of[s] == b)):
                    m.d.comb += line.eq(line_of[s])
            m.d.comb += rp.addr.eq(at + line * per_line)
            bank_data.append(rp.data)

        # Stage 1 keeps where each slot's row went; stage 2 routes the banks to the slots.
        s1_bank = [Signal(range(nb), name=f"s1_bank{s}") for s in range(slots)]
        s1_on = [Signal(name=f"s1_on{s}") for s in range(slots)]
        with m.If(adv1):
            m.d.sync += s1_valid.eq(self.rd.valid)
            m.d.sync += [s1_bank[s].eq(bank_of[s]) for s in range(slots)]
            m.d.sync += [s1_on[s].eq(req.rows[s].valid) for s in range(slots)]
        with m.If(adv2):
            m.d.sync += self.o.valid.eq(s1_valid)
            for s in range(slots):
                pick = Signal(ibuf_entry_layout(cfg), name=f"pick{s}")
                with m.Switch(s1_bank[s]):
                    for b in range(nb):
                        with m.Case(b):
                            m.d.comb += pick.eq(bank_data[b])
                m.d.sync += self.o.payload[s].eq(Mux(s1_on[s], pick.as_value(), 0))
        return m
