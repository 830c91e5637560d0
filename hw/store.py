"""The STORE unit: the sums of the C-Core's emitting tiles -> DRAM, 32 bits each, placed as
`sim.golden.store.writes` places them (a STORE descriptor's layout and offsets, the tile's
own fields).

A STORE takes the next `count` emitting tiles (their fields from the TILE unit's `emitted`
stream, in the order the C-Core emits them) and, for each, its `ccore.transfers` beats on
`o`. A beat's lanes are written in **chunks**: the K = clusters sums of one channel block
at one pixel (K consecutive 32-bit words in a MAP32 map), or, for WG, the P input channels
of one weight (P consecutive words of the weight image): a WG tile's P beats, one per input
channel, are gathered first. Each chunk is one write command of the DMA writer (4-byte
lanes); chunks outside the map, channels from `out_c` on and, with `up2`, the zeros between
a stride-2 1x1 BP's outputs are handled as the golden model does. A WIMG32_C STORE (only
the centre tap of each 3x3 kernel is a 1x1 weight) walks only the centre chunks of a WG
tile: K of its 9 K. A STORE is done when the writer has
answered every one of its commands; the next STORE starts while those answers are still
coming (up to `IN_FLIGHT` STOREs wait for theirs), and they are done in order.

A chunk outside the DRAM window is an ADDRESS error, a layout that does not fit the tile
(MAP32 for a WG tile, a weight image for FP or BP) or `count` = 0 BAD_STORE; the unit then stops until
reset.
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import divmod_const
from .ccore import ccore_lanes
from .config import Configured
from .dma import dma_cmd_layout, dma_word_layout
from .fields import field
from .isa.modes import LANES, Phase
from .isa.program import Op, StoreLayout, layout
from .isa.regs import ErrorCode
from .isa.store import BP1, BP3S2, CLASSES, FP1, FP3, WG, WG_CENTRE, WORD, chunks
from .isa.tile import ccore_tile_layout
from .psum_buffer import psum_lane_layout

__all__ = ["StoreUnit", "IN_FLIGHT"]

IN_FLIGHT = 4           # STOREs whose commands are all sent, waiting for the writer's answers


class StoreUnit(Configured, wiring.Component):
    def __init__(self, cfg):
        def members(cfg):
            K = cfg.clusters
            if not cfg.apus == K == cfg.pe_cols:
                raise ValueError(f"the STORE layouts need apus == clusters == pe_cols, not "
                                 f"{cfg.apus}, {K}, {cfg.pe_cols}")
            if cfg.acc_bits > 8 * WORD:
                raise ValueError(f"STORE writes {8 * WORD}-bit sums; acc_bits is "
                                 f"{cfg.acc_bits}")
            if K * WORD > cfg.axi_bytes:
                raise ValueError(f"a chunk of {K} sums ({K * WORD} bytes) must fit one bus "
                                 f"word ({cfg.axi_bytes} bytes)")
            a = cfg.dram_addr_bits
            return {
                "desc": In(stream.Signature(layout(cfg, Op.STORE))),
                "tiles": In(stream.Signature(ccore_tile_layout(cfg))),
                "o": In(stream.Signature(data.ArrayLayout(psum_lane_layout(cfg),
                                                          ccore_lanes(cfg)))),
                "cmd": Out(stream.Signature(dma_cmd_layout(cfg))),
                "words": Out(stream.Signature(dma_word_layout(cfg, WORD))),
                "written": In(1),
                "dram_base": In(a), "dram_size": In(a),
                "done": Out(1), "error": Out(1), "code": Out(8),
            }
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        K, P, W = cfg.clusters, cfg.pe_cols, cfg.wpus
        d = Signal(layout(cfg, Op.STORE))
        t = Signal(ccore_tile_layout(cfg))
        beat = Signal(self.o.payload.shape())
        tables = {cls: chunks(cfg, cls) for cls in CLASSES}
        most = max(len(c) for c in tables.values())

        left = Signal.like(d.count)                 # tiles of this STORE still to place
        cls = Signal(range(len(CLASSES)))
        g = Signal.like(t.groups)                   # the transfer: row group, column
        j = Signal(range((2 << cfg.ibuf_bits) + 2))
        # The tile as placed (its fields plus the descriptor's offsets), wide enough for both:
        # a 1x1 layer's WG places block cb + cb_off of hundreds, beyond the tile's own field.
        base = Signal(signed(max(t.row0.shape().width, 16) + 2))
        wide_field = lambda name: Signal(18, name=f"placed_{name}")
        placed = {name: wide_field(name) for name in ("wgroup", "cb", "eb")}
        q = Signal(range(most))                     # the chunk, and (up2) its quadrant
        sub = Signal(2)
        sent = Signal(16)                           # commands of this STORE so far

        # WG: the P beats of a tile (input channels 0..P-1) are gathered first, the lanes
        # the WG tables read; a chunk is then one weight's P input channels, P words that
        # lie side by side in the image, instead of P chunks of one word.
        wg_lanes = sorted({lanes[0] for lanes, _ in tables[WG]})
        acc = self.o.payload.shape().elem_shape["value"].shape
        wgbuf = [[Signal(acc, name=f"wg{c}_{ln}") for ln in wg_lanes] for c in range(P)]

        # ---- the chunk at (cls, q): its lanes and where they go
        values = [Signal(signed(8 * WORD), name=f"value{i}") for i in range(K)]
        ba, ya, xa = (Signal(signed(8), name=n) for n in ("ba", "ya", "xa"))
        exists = Signal()
        with m.Switch(cls):
            for c, table in tables.items():
                with m.Case(c):
                    with m.Switch(q):
                        for i, (lanes, (pa, pb, pc)) in enumerate(table):
                            with m.Case(i):
                                m.d.comb += [exists.eq(1), ba.eq(pa), ya.eq(pb), xa.eq(pc)]
                                if c in (WG, WG_CENTRE):
                                    at = wg_lanes.index(lanes[0])
                                    m.d.comb += [values[n].eq(wgbuf[n][at])
                                                 for n in range(P)]
                                else:
                                    m.d.comb += [values[n].eq(beat[ln].value)
                                                 for n, ln in enumerate(lanes)]
        last_q = Signal()
        with m.Switch(cls):
            for c, table in tables.items():
                with m.Case(c):
                    m.d.comb += last_q.eq(q == len(table) - 1)

        valid, addr, nwords, zero, outside = self._place(m, d, placed, cls, base, j, ba, ya,
                                                         xa, sub)
        m.d.comb += self.cmd.payload.addr.eq(addr)
        m.d.comb += self.cmd.payload.bytes.eq(nwords * WORD)
        # A chunk's word waits in a small FIFO, so that the next chunk's command can go
        # while the writer places this one's lanes: a chunk a cycle.
        word = Signal(self.words.payload.shape())
        m.submodules.wq = wq = fifo.SyncFIFO(width=len(word.as_value()), depth=4)
        m.d.comb += [word.data.eq(Mux(zero, 0, Cat(*values))), word.units.eq(nwords),
                     word.last.eq(1), wq.w_data.eq(word),
                     self.words.payload.eq(wq.r_data), self.words.valid.eq(wq.r_rdy),
                     wq.r_en.eq(self.words.ready)]

        # ---- sequencing
        cmd_sent, word_sent = Signal(), Signal()
        per_row = Signal.like(j)
        m.d.comb += per_row.eq(Mux(t.mode.k1 | ~t.mode.stride2, t.w,
                                   Mux(t.mode.phase == Phase.BP, t.w + 1, (t.w + 1) >> 1)))
        step = Mux(t.mode.k1, LANES * W, W)
        last_transfer = Mux(t.mode.phase == Phase.WG, j == P - 1,
                            (j == per_row - 1) & (g == t.groups - 1))
        quads = Mux(d.up2 & (t.mode.phase != Phase.WG), 3, 0)
        # STOREs whose commands are all sent wait in `answers` with their counts; answers
        # come in order, so each answers the oldest first: `credit` counts those not yet
        # given to a done STORE, and the oldest is done in the cycle its last one comes
        # (so an error answer is always the oldest unfinished STORE's).
        m.submodules.answers = answers = fifo.SyncFIFO(width=16, depth=IN_FLIGHT)
        credit = Signal(17)
        have = credit + self.written
        pop = answers.r_rdy & (have >= answers.r_data)
        m.d.comb += [answers.r_en.eq(pop), self.done.eq(pop)]
        m.d.sync += credit.eq(have - Mux(pop, answers.r_data, 0))
        took = self.cmd.valid & self.cmd.ready
        m.d.sync += sent.eq(sent + took)
        code = Signal(8)
        m.d.comb += self.code.eq(code)

        def take_tile():
            """The next emitting tile's fields (`tiles` is taken this cycle), then its
            beats; a layout that does not fit the tile is BAD_STORE."""
            tin = self.tiles.payload
            md = tin.mode
            m.d.sync += [t.eq(tin), placed["wgroup"].eq(tin.wgroup + d.group_off),
                         placed["cb"].eq(tin.cb + d.cb_off),
                         placed["eb"].eq(tin.eb + d.eb_off),
                         base.eq(tin.row0 + d.row_off), g.eq(0), j.eq(0)]
            centre = d.layout == StoreLayout.WIMG32_C
            m.d.sync += cls.eq(Mux(md.phase == Phase.WG, Mux(centre, WG_CENTRE, WG),
                               Mux(md.k1, Mux(md.phase == Phase.BP, BP1, FP1),
                                   Mux((md.phase == Phase.BP) & md.stride2, BP3S2,
                                       FP3))))
            wimg = d.layout != StoreLayout.MAP32
            with m.If(wimg != (md.phase == Phase.WG)):
                m.d.sync += code.eq(ErrorCode.BAD_STORE.value)
                m.next = "ERROR"
            with m.Else():
                m.next = "BEAT"

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.desc.ready.eq(answers.w_rdy)
                taken = self.desc.valid & answers.w_rdy
                with m.If(taken & (self.desc.payload.count == 0)):
                    # (the layout can hold 0; no tile would ever end such a STORE)
                    m.d.sync += code.eq(ErrorCode.BAD_STORE.value)
                    m.next = "ERROR"
                with m.Elif(taken):
                    m.d.sync += [d.eq(self.desc.payload), left.eq(self.desc.payload.count)]
                    m.next = "TILE"
            with m.State("TILE"):
                m.d.comb += self.tiles.ready.eq(1)
                with m.If(self.tiles.valid):
                    take_tile()
            with m.State("BEAT"):
                m.d.comb += self.o.ready.eq(1)
                with m.If(self.o.valid & (t.mode.phase == Phase.WG)):
                    with m.Switch(j):
                        for c in range(P):
                            with m.Case(c):
                                m.d.sync += [wgbuf[c][i].eq(field(self.o.payload, ln, "value"))
                                             for i, ln in enumerate(wg_lanes)]
                    m.d.sync += [q.eq(0), sub.eq(0)]
                    with m.If(j == P - 1):
                        m.next = "CHUNK"
                    with m.Else():
                        m.d.sync += j.eq(j + 1)
                with m.Elif(self.o.valid):
                    m.d.sync += [beat.eq(self.o.payload), q.eq(0), sub.eq(0)]
                    m.next = "CHUNK"
            with m.State("CHUNK"):
                write = exists & valid
                m.d.comb += [self.cmd.valid.eq(write & ~cmd_sent & ~outside),
                             wq.w_en.eq(write & ~word_sent & ~outside)]
                took_cmd = cmd_sent | (self.cmd.valid & self.cmd.ready)
                took_word = word_sent | (wq.w_en & wq.w_rdy)
                with m.If(write & outside):
                    m.d.sync += code.eq(ErrorCode.ADDRESS.value)
                    m.next = "ERROR"
                with m.Elif(~write | (took_cmd & took_word)):
                    m.d.sync += [cmd_sent.eq(0), word_sent.eq(0)]
                    with m.If(sub != quads):
                        m.d.sync += sub.eq(sub + 1)
                    with m.Elif(~last_q):
                        m.d.sync += [q.eq(q + 1), sub.eq(0)]
                    with m.Elif(~last_transfer):
                        # The next beat is taken in the cycle the last chunk goes (BEAT
                        # only when it has not come yet): a 3x3 FP transfer in W cycles.
                        m.d.comb += self.o.ready.eq(1)
                        with m.If(self.o.valid):
                            m.d.sync += [beat.eq(self.o.payload), q.eq(0), sub.eq(0)]
                        with m.Else():
                            m.next = "BEAT"
                        with m.If((t.mode.phase != Phase.WG) & (j == per_row - 1)):
                            m.d.sync += [j.eq(0), g.eq(g + 1), base.eq(base + step)]
                        with m.Else():
                            m.d.sync += j.eq(j + 1)
                    with m.Elif(left == 1):
                        m.d.comb += [answers.w_data.eq(sent + took), answers.w_en.eq(1)]
                        m.d.sync += sent.eq(0)
                        m.next = "IDLE"
                    with m.Else():
                        # The next tile is taken in the cycle the last chunk goes, when
                        # its fields are there (TILE only when they have not come yet).
                        m.d.sync += left.eq(left - 1)
                        m.d.comb += self.tiles.ready.eq(1)
                        with m.If(self.tiles.valid):
                            take_tile()
                        with m.Else():
                            m.next = "TILE"
                with m.Else():
                    m.d.sync += [cmd_sent.eq(took_cmd), word_sent.eq(took_word)]
            with m.State("ERROR"):
                pass
        # One error pulse on entering ERROR.
        was = Signal()
        stopped = Signal()
        m.d.comb += stopped.eq(code != 0)
        m.d.sync += was.eq(stopped)
        m.d.comb += self.error.eq(stopped & ~was)
        return m

    def _place(self, m, d, t, cls, base, j, ba, ya, xa, sub):
        """(valid, address, words, zero, outside) of the current chunk and up2 quadrant;
        `t`: the placed wgroup, cb and eb."""
        cfg = self._cfg
        K, P = cfg.clusters, cfg.pe_cols
        wide = signed(cfg.dram_addr_bits + 40)
        # WG: the weight image, entry (bank, address) at (address 3K + bank) P; a weight at
        # its entry's place plus its input channel's place in the block: the chunk holds
        # input channels 0..P-1 (the tile's P beats).
        k, u, v = ba, ya, xa
        og, cb = t["eb"], t["cb"]
        # The tile's part of the address, registered: the chunks come after the tile's P
        # beats are gathered, so the row's product and thirds (`hw.arith`) are off the
        # chunk's path. Full image: ((row 3 + u) 3K + 3k + v) P; centre taps only:
        # ((row div 3) 3K + 3k + (og + cb) mod 3) P.
        row = og * d.cblocks + cb
        row3, _ = divmod_const(row, 3)
        _, ogcb3 = divmod_const(og + cb, 3)
        full_at, centre_at = Signal(wide), Signal(wide)
        m.d.sync += [full_at.eq(d.addr + WORD * P * 3 * (3 * K) * row),
                     centre_at.eq(d.addr + WORD * P * (row3 * (3 * K) + ogcb3))]
        is_c = d.layout == StoreLayout.WIMG32_C
        wg_valid = ~is_c | ((u == 1) & (v == 1))
        wg_addr = Signal(wide)
        m.d.comb += wg_addr.eq(Mux(is_c, centre_at + WORD * P * 3 * k,
                                   full_at + WORD * P * (u * (3 * K) + 3 * k + v)))
        # MAP32: the chunk's block, row and column; with up2 the outputs are every other
        # row and column of the stored map.
        bm = Mux((cls == FP1) | (cls == BP1), LANES, 1)
        blk = Signal(range(1 << 18))
        m.d.comb += blk.eq(bm * t["wgroup"] + ba)
        s2 = cls == BP3S2
        y = Signal(signed(base.shape().width + 3))
        x = Signal(signed(j.shape().width + 3))
        m.d.comb += [y.eq(Mux(s2, 2 * base, base) + ya), x.eq(Mux(s2, 2 * j, j) + xa)]
        oh = Mux(d.up2, (d.out_h + 1) >> 1, d.out_h)
        ow = Mux(d.up2, (d.out_w + 1) >> 1, d.out_w)
        inside = (y >= 0) & (y < oh) & (~s2 | ((x >= 0) & (x < ow)))
        yy = Mux(d.up2, 2 * y + sub[1], y)
        xx = Mux(d.up2, 2 * x + sub[0], x)
        quad_in = ~d.up2 | ((yy < d.out_h) & (xx < d.out_w))
        ch0 = blk * K
        room = d.out_c - ch0
        map_addr = Signal(wide)
        m.d.comb += map_addr.eq(d.addr + blk * d.s_blk + yy * d.s_row + xx * d.s_col)

        wg = (cls == WG) | (cls == WG_CENTRE)
        valid, zero = Signal(), Signal()
        nwords = Signal(range(K + 1))
        raw = Signal(wide)
        m.d.comb += [valid.eq(Mux(wg, wg_valid, inside & quad_in & (ch0 < d.out_c))),
                     nwords.eq(Mux(wg, P, Mux(room < K, room, K))),
                     zero.eq(~wg & d.up2 & (sub != 0)),
                     raw.eq(Mux(wg, wg_addr, map_addr))]
        # (raw + nwords WORD > base + size, with the chunk's size taken from the limit:
        # the address and the limit are then computed side by side, not one after the other)
        limit = Signal(wide)
        m.d.comb += limit.eq(self.dram_base + self.dram_size - nwords * WORD)
        outside = (raw < self.dram_base) | (raw > limit)
        return valid, raw[:cfg.dram_addr_bits], nwords, zero, outside
