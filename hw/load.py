"""The load unit: a LOAD descriptor (`hw.isa.program.Load`) -> DMA read commands for its
pattern, and the bytes that come back -> entries written into the input, error or weight
buffer, one entry per cycle (the buffers' write ports; two columns of a map that come in
one bus word are one entry, written at once).

Pattern: n2 x n1 x n0 elements of `elem` bytes at addr + i2 s2 + i1 s1 + i0 s0, in that
order; a contiguous inner level (s0 = elem) goes as one command. Maps (X, E): the lanes (P
codes each: one column of one channel block) fill `blocks` x `rows` x `w`, block by block,
row by row; two columns make an entry, at bank row mod banks, address base +
((row div banks) pairs + column div 2) blocks + block (`sim.golden.input_buffer`); an odd
last column pairs with zeros. Weights (W): lane e is entry e, bank e mod 3K, address base +
e div 3K. A descriptor whose byte count is not its map's, or not whole entries, sets `error`
(BAD_LOAD) and is dropped.
"""

from amaranth.hdl import Array, Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .config import Configured
from .dma import dma_cmd_layout, dma_word_layout
from .input_buffer import ibuf_write_layout
from .isa.program import Buf, Op, layout
from .isa.regs import ErrorCode
from .weight_buffer import wbuf_write_layout

__all__ = ["LoadUnit"]


class LoadUnit(Configured, wiring.Component):
    def __init__(self, cfg):
        super().__init__(cfg, lambda cfg: {
            "desc": In(stream.Signature(layout(cfg, Op.LOAD))),
            "rd": Out(stream.Signature(dma_cmd_layout(cfg))),
            "words": In(stream.Signature(dma_word_layout(cfg))),
            "wr_x": Out(stream.Signature(ibuf_write_layout(cfg))),
            "wr_e": Out(stream.Signature(ibuf_write_layout(cfg))),
            "wr_w": Out(stream.Signature(wbuf_write_layout(cfg))),
            "busy": Out(1), "done": Out(1), "error": Out(1), "code": Out(8),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        d = Signal(layout(cfg, Op.LOAD))
        active = Signal()
        issuing = Signal()
        lanes_total = Signal(48)
        a = self.desc.payload
        P = cfg.pe_cols
        nbytes = a.n0 * a.n1 * a.n2 * a.elem
        map_bytes = a.blocks * a.rows * a.w * P
        is_map = a.buf != Buf.W
        ok = (nbytes != 0) & Mux(is_map, nbytes == map_bytes, nbytes % P == 0)
        m.d.comb += [self.desc.ready.eq(~active), self.busy.eq(active),
                     self.code.eq(ErrorCode.BAD_LOAD.value)]
        start = Signal()
        with m.If(self.desc.valid & ~active):
            with m.If(ok):
                m.d.comb += start.eq(1)
                m.d.sync += [d.eq(a), active.eq(1), issuing.eq(1),
                             lanes_total.eq(nbytes // P)]
            with m.Else():
                m.d.sync += self.error.eq(1)
        issued_all = Signal()
        self._commands(m, d, issuing, issued_all, start)
        packed_all = Signal()
        self._pack(m, d, active, lanes_total, packed_all, start, a)
        with m.If(issued_all):
            m.d.sync += issuing.eq(0)
        with m.If(active & ~issuing & packed_all):
            m.d.sync += active.eq(0)
            m.d.comb += self.done.eq(1)
        return m

    def _commands(self, m, d, issuing, issued_all, start):
        """The pattern's elements (the inner level merged when contiguous) as commands.
        Addresses advance by the strides (modulo the address width, as the sum
        addr + i2 s2 + i1 s1 + i0 s0 wraps): no products on the command's path."""
        i0, i1, i2 = (Signal(16, name=f"i{k}") for k in range(3))
        # Element (i2, i1, 0)'s address with and without the i1 term, and the command's.
        a2, a1, a0 = (Signal(self._cfg.dram_addr_bits, name=f"a{k}") for k in (2, 1, 0))
        merged = d.s0 == d.elem
        length = Signal.like(self.rd.payload.bytes)
        m.d.comb += [self.rd.valid.eq(issuing & ~issued_all),
                     self.rd.payload.addr.eq(a0), self.rd.payload.bytes.eq(length)]
        last0 = merged | (i0 == d.n0 - 1)
        last1 = i1 == d.n1 - 1
        last2 = i2 == d.n2 - 1
        a = self.desc.payload                   # (taken at `start`)
        with m.If(start):
            m.d.sync += [a2.eq(a.addr), a1.eq(a.addr), a0.eq(a.addr),
                         length.eq(Mux(a.s0 == a.elem, a.n0 * a.elem, a.elem))]
        with m.If(self.rd.valid & self.rd.ready):
            with m.If(~last0):
                m.d.sync += [i0.eq(i0 + 1), a0.eq(a0 + d.s0)]
            with m.Else():
                m.d.sync += i0.eq(0)
                with m.If(~last1):
                    m.d.sync += [i1.eq(i1 + 1), a1.eq(a1 + d.s1), a0.eq(a1 + d.s1)]
                with m.Else():
                    m.d.sync += i1.eq(0)
                    with m.If(~last2):
                        next2 = a2 + d.s2
                        m.d.sync += [i2.eq(i2 + 1), a2.eq(next2), a1.eq(next2),
                                     a0.eq(next2)]
                    with m.Else():
                        m.d.sync += [i2.eq(0), issued_all.eq(1)]
        with m.If(~issuing):
            m.d.sync += issued_all.eq(0)

    def _pack(self, m, d, active, lanes_total, packed_all, start, a):
        """Lanes -> entries, one per cycle (a map's column pair from one word at once).
        Banks and addresses are counted as the map is walked (modulo the buffer's depth, as
        the formula's sum wraps), not divided and multiplied: one product per descriptor."""
        cfg = self._cfg
        P, U = cfg.pe_cols, cfg.axi_bytes // cfg.pe_cols
        w = P * 8
        nb, nbw = cfg.pe_rows * cfg.wpus, 3 * cfg.clusters
        word = self.words.payload
        lane = Signal(range(U + 1))               # next lane of the current word
        taken = Signal(48)                         # lanes consumed of the descriptor
        m.d.comb += packed_all.eq(taken == lanes_total)
        cur = [word.data[i * w:(i + 1) * w] for i in range(U)]
        lanes = Array(cur)
        this = lanes[lane]
        nxt = Array(cur[1:] + [cur[-1]])[lane]      # the lane after `this` in the word

        # Map position of the next lane (X/E).
        row = Signal(16)
        col = Signal(16)
        first_half = Signal(w)                     # the even column, waiting for its pair
        is_w = d.buf == Buf.W
        ab = cfg.ibuf_bits
        # X/E: row mod banks; base + blk + (row div banks) pairs blocks; (col div 2) blocks.
        bank = Signal(range(nb))
        blk_at, row_at, col_at = Signal(ab), Signal(ab), Signal(ab)
        line = Signal(ab)                           # pairs x blocks: a bank's line of rows
        # W: entry mod 3K, base + entry div 3K.
        wbank = Signal(range(nbw))
        waddr = Signal(cfg.wbuf_bits)
        with m.If(start):
            m.d.sync += [line.eq(((a.w + 1) >> 1) * a.blocks), blk_at.eq(a.base),
                         row_at.eq(a.base), waddr.eq(a.base)]

        ent_x = Signal(ibuf_write_layout(cfg))
        ent_w = Signal(wbuf_write_layout(cfg))
        odd_col = col[0]
        # An even column whose odd neighbour is the next lane of the same word: the pair
        # is one entry, written this cycle (an entry a cycle, 2 pe_cols codes).
        pair = Signal()
        m.d.comb += pair.eq(~is_w & ~odd_col & (col + 1 < d.w) & (lane + 1 < word.units)
                            & (taken + 1 < lanes_total))
        width = Mux(pair, 2, 1)                    # lanes this step takes
        row_end = col + width - 1 == d.w - 1
        word_done = lane + width >= word.units
        # An entry completes with a pair, on an odd column, or on the row's last (even)
        # column.
        complete = Mux(is_w, 1, pair | odd_col | row_end)
        m.d.comb += [
            ent_x.bank.eq(bank), ent_x.addr.eq(row_at + col_at),
            ent_x.data.eq(Mux(pair, Cat(this, nxt),
                              Mux(odd_col, Cat(first_half, this), Cat(this, Signal(w))))),
            ent_w.bank.eq(wbank), ent_w.addr.eq(waddr),
            ent_w.data.eq(this),
            self.wr_x.payload.eq(ent_x), self.wr_e.payload.eq(ent_x),
            self.wr_w.payload.eq(ent_w),
        ]
        have = active & self.words.valid & (taken != lanes_total)
        write = have & complete
        m.d.comb += [self.wr_x.valid.eq(write & (d.buf == Buf.X)),
                     self.wr_e.valid.eq(write & (d.buf == Buf.E)),
                     self.wr_w.valid.eq(write & is_w)]
        sink_ready = Mux(is_w, self.wr_w.ready,
                         Mux(d.buf == Buf.X, self.wr_x.ready, self.wr_e.ready))
        step = have & (~complete | sink_ready)
        m.d.comb += self.words.ready.eq(step & word_done)
        with m.If(step):
            m.d.sync += [taken.eq(taken + width), lane.eq(Mux(word_done, 0, lane + width))]
            with m.If(is_w):
                m.d.sync += wbank.eq(Mux(wbank == nbw - 1, 0, wbank + 1))
                with m.If(wbank == nbw - 1):
                    m.d.sync += waddr.eq(waddr + 1)
            with m.Else():
                with m.If(~odd_col & ~pair):
                    m.d.sync += first_half.eq(this)
                with m.If(row_end):
                    m.d.sync += [col.eq(0), col_at.eq(0)]
                    with m.If(row == d.rows - 1):
                        m.d.sync += [row.eq(0), bank.eq(0),
                                     blk_at.eq(blk_at + 1), row_at.eq(blk_at + 1)]
                    with m.Else():
                        m.d.sync += [row.eq(row + 1),
                                     bank.eq(Mux(bank == nb - 1, 0, bank + 1))]
                        with m.If(bank == nb - 1):
                            m.d.sync += row_at.eq(row_at + line)
                with m.Else():
                    m.d.sync += col.eq(col + width)
                    # (the next column starts a new pair: the entry address moves on)
                    with m.If(odd_col | pair):
                        m.d.sync += col_at.eq(col_at + d.blocks)
        with m.If(~active):
            m.d.sync += [taken.eq(0), lane.eq(0), row.eq(0), col.eq(0), bank.eq(0),
                         col_at.eq(0), wbank.eq(0)]
