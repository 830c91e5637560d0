"""The channel-set walk of an A-Core run, shared by its operand and result streams.

A run covers `images x groups` channel sets, image-major from (i0, g0), of tensors holding
`img_total x grp_total` sets; set (i, g) of a tensor whose sets are `stride` bytes starts at
`base + (i grp_total + g) stride` (`sim.golden.dram`).
"""

from amaranth.hdl import Signal
from amaranth.lib import data

from .isa.program import Op, layout

__all__ = ["check_lanes", "set_layout", "set_commands", "latch"]


def check_lanes(cfg, what):
    """A beat of `what` is one lane per element byte and its flags one byte: raise unless
    apus == pe_cols <= 8."""
    if cfg.apus != cfg.pe_cols:
        raise ValueError(f"a beat of {what} is a lane per element byte: apus ({cfg.apus}) "
                         f"must equal pe_cols ({cfg.pe_cols})")
    if cfg.apus > 8:
        raise ValueError(f"the flag bitmap is one byte per beat: at most 8 APUs, not "
                         f"{cfg.apus}")


def set_layout(cfg):
    """What an operand reader needs of a run: where its sets are and how big."""
    d = layout(cfg, Op.ACORE)
    return data.StructLayout({"base": cfg.dram_addr_bits, "eb_sh": 2, "n": d["n"].shape,
                              "images": d["images"].shape, "groups": d["groups"].shape,
                              "i0": d["i0"].shape, "g0": d["g0"].shape,
                              "grp_total": d["grp_total"].shape})


def set_commands(m, cfg, cmd, start, p, stride, widen):
    """One command per channel set of run `p` (latched at `start`), in run order: `stride`
    bytes per set; `widen`: commands rounded out to whole lanes. Returns (busy, skip, skipped):
    the bytes dropped at a command's start, pulsed with its handshake."""
    P = cfg.pe_cols
    active = Signal()
    a = Signal.like(p.images)
    b = Signal.like(p.groups)
    addr = Signal(cfg.dram_addr_bits + 24)
    with m.If(start):
        m.d.sync += [active.eq(1), a.eq(0), b.eq(0),
                     addr.eq(p.base + (p.i0 * p.grp_total + p.g0) * stride)]
    skip = Signal(range(P))
    m.d.comb += skip.eq(addr % P if widen else 0)
    c = cmd.payload
    if widen:
        m.d.comb += [c.addr.eq(addr - skip), c.bytes.eq(((skip + stride + P - 1) // P) * P)]
    else:
        m.d.comb += [c.addr.eq(addr), c.bytes.eq(stride)]
    m.d.comb += cmd.valid.eq(active)
    taken = cmd.valid & cmd.ready
    with m.If(taken):
        with m.If(b == p.groups - 1):
            m.d.sync += [b.eq(0), a.eq(a + 1),
                         addr.eq(addr + (p.grp_total - p.groups + 1) * stride)]
            with m.If(a == p.images - 1):
                m.d.sync += active.eq(0)
        with m.Else():
            m.d.sync += [b.eq(b + 1), addr.eq(addr + stride)]
    return active, skip, taken


def latch(m, reader):
    """The run's parameters, held from `start`; and `go`, the cycle after it."""
    p = Signal(set_layout(reader._cfg))
    go = Signal()
    m.d.sync += go.eq(reader.start)
    with m.If(reader.start):
        m.d.sync += p.eq(reader.p)
    return p, go
