"""Weight buffer and the two-level weight network (paper Fig. 8, 9).

3K banks (K = clusters) of 2^wbuf_bits entries of P = pe_cols codes, in the layout of
`sim.golden.weight_buffer` (one copy for FP and BP). A read request names the pattern and
the tile coordinates; every bank computes its own address, each is read at most once, and the
network routes the entries to the clusters' PE columns and lanes:
  level 1, direct (FP): cluster k, column c <- element c of a bank of row k;
           transposed (BP): cluster k, column c <- element k of a bank of row c;
  level 2 (the lane within a PE): direct for 3x3, rotated by the block index mod 3 for 1x1
           (its consecutive output channels rotate through the bank columns).
Result: one PE row's weights for every cluster, the array's `w` port. Two register stages.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import divmod_const
from .cluster import weights_layout
from .config import Configured
from .pint import pint_layout

__all__ = ["WeightBuffer", "wbuf_write_layout", "wbuf_read_layout"]


def wbuf_write_layout(cfg):
    return data.StructLayout({
        "bank": range(3 * cfg.clusters), "addr": cfg.wbuf_bits,
        "data": data.ArrayLayout(pint_layout(cfg.pint), cfg.pe_cols)})


def wbuf_read_layout(cfg):
    """k1: 1x1 kernel; bp: transposed; group: og (FP) / ig (BP); blk: cb (FP) / ob (BP);
    u: kernel row (3x3); blocks: the layer's input-channel blocks (CB); base: the entry the
    layer is stored from in every bank."""
    a = range(1 << cfg.wbuf_bits)
    return data.StructLayout({"k1": 1, "bp": 1, "group": a, "blk": a, "u": range(3),
                              "blocks": a, "base": a})


class WeightBuffer(Configured, wiring.Component):
    def __init__(self, cfg):
        def members(cfg):
            if cfg.clusters != cfg.pe_cols:
                raise ValueError(f"the transposed read needs clusters == pe_cols, not "
                                 f"{cfg.clusters} and {cfg.pe_cols}")
            return {
                "wr": In(stream.Signature(wbuf_write_layout(cfg))),
                "rd": In(stream.Signature(wbuf_read_layout(cfg))),
                "o": Out(stream.Signature(data.ArrayLayout(weights_layout(cfg),
                                                           cfg.clusters))),
            }
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        K, P, depth = cfg.clusters, cfg.pe_cols, 1 << cfg.wbuf_bits
        entry = data.ArrayLayout(pint_layout(cfg.pint), P)
        req = self.rd.payload

        adv2 = Signal()
        s1_valid = Signal()
        adv1 = Signal()
        m.d.comb += [adv2.eq(~self.o.valid | self.o.ready), adv1.eq(~s1_valid | adv2),
                     self.rd.ready.eq(adv1), self.wr.ready.eq(1)]

        # Banks, each with its own address (the network's "index from the address"). The
        # thirds of blk and blocks by adders (`hw.arith`), not dividers.
        mod3 = lambda v: v % 3
        blk3, blk_rest = divmod_const(req.blk, 3)
        cb3, _ = divmod_const(req.blocks, 3)
        data_out = []
        for b1 in range(K):
            row = []
            for b2 in range(3):
                mem = memory.Memory(shape=entry, depth=depth, init=[])
                m.submodules[f"bank{b1}_{b2}"] = mem
                rp, wp = mem.read_port(), mem.write_port()
                m.d.comb += [
                    wp.addr.eq(self.wr.payload.addr), wp.data.eq(self.wr.payload.data),
                    wp.en.eq(self.wr.valid & (self.wr.payload.bank == 3 * b1 + b2)),
                    rp.en.eq(adv1),
                ]
                addr = Signal(range(depth), name=f"addr{b1}_{b2}")
                g, blk, cb_ = req.group, req.blk, req.blocks
                with m.If(~req.k1):
                    # FP: (o div K, cb) = (group, blk); BP: (blk, group).
                    m.d.comb += addr.eq((Mux(req.bp, blk, g) * cb_ + Mux(req.bp, g, blk)) * 3
                                        + req.u)
                with m.Elif(~req.bp):
                    # ((o div K) CB + cb) div 3 with o div K = 3 og + j; CB is a multiple of 3.
                    j = mod3(b2 + 3 - blk_rest)           # (b2 - cb) mod 3
                    m.d.comb += addr.eq((3 * g + j) * cb3 + blk3)
                with m.Else():
                    # o div K = ob, cb = 3 ig + lane.
                    m.d.comb += addr.eq(blk * cb3 + g)
                m.d.comb += rp.addr.eq(req.base + addr)
                row.append(rp.data)
            data_out.append(row)

        # Stage 1: the request's routing fields, aligned with the banks' read data.
        k1, bp, rot = Signal(), Signal(), Signal(range(3))
        with m.If(adv1):
            m.d.sync += [s1_valid.eq(self.rd.valid), k1.eq(req.k1), bp.eq(req.bp),
                         rot.eq(blk_rest)]

        # Stage 2: level 1 (direct / transposed) and level 2 (lane order), registered.
        out = self.o.payload
        with m.If(adv2):
            m.d.sync += self.o.valid.eq(s1_valid)
            for k in range(K):
                for c in range(P):
                    for lane in range(3):
                        # 1x1 FP: lane l of cluster k is output channel 3 (og K + k) + l.
                        b1_fp1, j = (3 * k + lane) % K, (3 * k + lane) // K
                        src = Signal(pint_layout(cfg.pint), name=f"w{k}_{c}_{lane}")
                        with m.If(~k1 & ~bp):
                            m.d.comb += src.eq(data_out[k][lane][c])
                        with m.Elif(~k1):
                            m.d.comb += src.eq(data_out[c][lane][k])
                        with m.Elif(~bp):
                            with m.Switch(rot):
                                for r in range(3):
                                    with m.Case(r):
                                        m.d.comb += src.eq(data_out[b1_fp1][(j + r) % 3][c])
                        with m.Else():
                            with m.Switch(rot):
                                for r in range(3):
                                    with m.Case(r):
                                        m.d.comb += src.eq(data_out[c][(r + lane) % 3][k])
                        m.d.sync += out[k][c][lane].eq(src)
        return m
