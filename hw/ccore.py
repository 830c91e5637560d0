"""C-Core top: tile descriptors (`hw.isa.tile`, made by `sim.golden.ccore`) run from the
buffers through the array into the partial-sum buffer; a band's last tile streams its
finished sums out on `o`.

Per tile: (1) unless WG, three weight-buffer reads shift into the PEs' shadow weight
registers (bottom PE row first), beside the beats, once the previous tile's weights have been
swapped in; (2) one beat per cycle: group g, beat q reads one entry per (WPU, PE row) slot
from the input buffer (WG also one error entry per WPU), and a small FIFO carries how the
entries become the beat (this entry's coordinate, or the previous entry's odd one beside this
one's even one for stride-2 pairs, or zero); the tile's first beat waits for its weights and
swaps them in; (3) each array transfer accumulates into the partial-sum buffer at its index
in the tile, column 0 of every PE row (WG: one transfer, its WPUs' partial sums added per PE
column), and with `emit` the new sums also leave on `o`, in address order. A descriptor the
buffers cannot serve raises `error` (sticky) and is dropped, never run. `retired` pulses when
a tile's last sums are in the partial-sum buffer (its reads of the buffers long done).
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import divmod_const
from .array import CCoreArray
from .config import Configured
from .fields import field
from .input_buffer import InputBuffer, ibuf_write_layout
from .isa.modes import LANES, Phase
from .isa.tile import ccore_tile_layout
from .lockstep import all_of, any_of
from .pe import operand_shape, saturated, sum_lane_layout
from .pint import pint_value
from .psum_buffer import PsumBuffer, psum_lane_layout
from .reuse import Reused
from .weight_buffer import WeightBuffer, wbuf_write_layout

__all__ = ["CCore", "ccore_lanes"]


def ccore_lanes(cfg):
    """Partial-sum lanes: lane l of column 0 of every PE row of every WPU of every cluster."""
    return cfg.clusters * cfg.wpus * cfg.pe_rows * LANES


class CCore(Configured, wiring.Component):
    def __init__(self, cfg):
        def members(cfg):
            # The weight network's transposed read and the WG error routing (element k of an
            # error entry to cluster k) both give one entry's P channels to the P clusters.
            if cfg.clusters != cfg.pe_cols:
                raise ValueError(f"the C-Core needs clusters == pe_cols, not {cfg.clusters} "
                                 f"and {cfg.pe_cols}")
            return {
                "wr_x": In(stream.Signature(ibuf_write_layout(cfg))),
                "wr_e": In(stream.Signature(ibuf_write_layout(cfg))),
                "wr_w": In(stream.Signature(wbuf_write_layout(cfg))),
                "tile": In(stream.Signature(ccore_tile_layout(cfg))),
                "o": Out(stream.Signature(data.ArrayLayout(psum_lane_layout(cfg),
                                                           ccore_lanes(cfg)))),
                "error": Out(1),
                "conflicts": Out(32),
                "retired": Out(1),
            }
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        K, W, R, P = cfg.clusters, cfg.wpus, cfg.pe_rows, cfg.pe_cols
        nb, depth = R * W, 1 << cfg.ibuf_bits
        m.submodules.ibuf = ibuf = Reused(lambda: InputBuffer(cfg), "input_buffer", cfg)
        m.submodules.ebuf = ebuf = Reused(lambda: InputBuffer(cfg), "input_buffer", cfg)
        m.submodules.wbuf = wbuf = Reused(lambda: WeightBuffer(cfg), "weight_buffer", cfg)
        m.submodules.array = array = Reused(lambda: CCoreArray(cfg), "ccore_array", cfg)
        lanes = ccore_lanes(cfg)
        m.submodules.psum = psum = Reused(lambda: PsumBuffer(cfg, lanes), "psum_buffer",
                                          (cfg, lanes))
        wiring.connect(m, wiring.flipped(self.wr_x), ibuf.wr)
        wiring.connect(m, wiring.flipped(self.wr_e), ebuf.wr)
        wiring.connect(m, wiring.flipped(self.wr_w), wbuf.wr)
        wiring.connect(m, psum.o, wiring.flipped(self.o))
        m.d.comb += self.conflicts.eq(ibuf.conflicts + ebuf.conflicts)

        # ---- the descriptor: checked on arrival, held while the tile runs
        t_in = self.tile.payload
        tile = Signal(ccore_tile_layout(cfg))
        mode = tile.mode
        is_wg = mode.phase == Phase.WG
        is_bp = mode.phase == Phase.BP
        m.d.comb += array.mode.eq(mode)

        def fits(h, w, blocks, base):
            pairs = (w + 1) >> 1
            lines, _ = divmod_const(h + (nb - 1), nb)   # (by adders: `hw.arith`)
            return base + lines * pairs * blocks <= depth

        def row_transfers(md, w):
            return Mux(md.k1 | ~md.stride2, w, Mux(md.phase == Phase.BP, w + 1, (w + 1) >> 1))

        # Partial-sum addresses a tile uses, and the beats it writes (WG: W per address).
        addresses_of = lambda t: Mux(t.mode.phase == Phase.WG, P,
                                     t.groups * row_transfers(t.mode, t.w))
        total_of = lambda t: Mux(t.mode.phase == Phase.WG, P * W, addresses_of(t))
        wd = 1 << cfg.wbuf_bits
        g_, b_, cb_ = t_in.wgroup, t_in.wblk, t_in.wblocks
        # The largest address the weight read makes (WeightBuffer's formulas: the last kernel
        # row u = R - 1; 1x1, whose blocks come in LANES, the last lane).
        cb_lanes, cb_rest = divmod_const(cb_, LANES)
        w_top = Mux(t_in.mode.k1,
                    Mux(t_in.mode.phase == Phase.BP, b_ * cb_lanes + g_,
                        (LANES * g_ + LANES - 1) * cb_lanes + divmod_const(b_, LANES)[0]),
                    Mux(t_in.mode.phase == Phase.BP, (b_ * cb_ + g_) * R + R - 1,
                        (g_ * cb_ + b_) * R + R - 1))
        w_inner = Mux(t_in.mode.k1 & (t_in.mode.phase == Phase.BP), LANES * g_ + LANES - 1,
                      Mux(t_in.mode.phase == Phase.BP, g_, b_))
        bad = Signal()
        m.d.comb += bad.eq(any_of([
            t_in.mode.as_value()[:2] == 3,                            # no such phase
            t_in.mode.k1 & t_in.mode.stride2,
            t_in.mode.k1 & (t_in.mode.phase == Phase.WG),   # runs as 1x1 FP, transposed
            (t_in.h == 0) | (t_in.w == 0) | (t_in.groups == 0) | (t_in.blocks == 0),
            t_in.cb >= t_in.blocks, ~fits(t_in.h, t_in.w, t_in.blocks, t_in.xbase),
            t_in.pbase + addresses_of(t_in) > (1 << cfg.psum_bits),
            (t_in.mode.phase == Phase.WG) & ((t_in.eh == 0) | (t_in.ew == 0)
                                             | (t_in.eb >= t_in.eblocks)
                                             | ~fits(t_in.eh, t_in.ew, t_in.eblocks,
                                                     t_in.ebase)),
            (t_in.mode.phase != Phase.WG) & ((w_inner >= cb_) | (t_in.wbase + w_top >= wd)),
            t_in.mode.k1 & (cb_rest != 0),            # the 1x1 layout's blocks come in 3s
        ]))

        # ---- result side: what the tiles whose results are still coming want done with them
        most = max(1 << cfg.psum_bits, P * W)
        res_layout = data.StructLayout({"total": range(most + 1), "wg": 1, "first": 1,
                                        "emit": 1, "pbase": cfg.psum_bits})
        m.submodules.results = results = fifo.SyncFIFOBuffered(width=res_layout.size, depth=4)
        res = Signal(res_layout)
        m.d.comb += res.eq(results.r_data)
        done = Signal(range(most))                    # partial-sum beats of the head tile

        # ---- issue side: a tile's beats, and beside them its weight loads into the PEs'
        # shadow registers (once the previous weights were swapped in). The next tile is
        # taken with this one's last beat, once its weights are loaded; its first beat
        # waits at the array for the swap. A tile of another mode waits for the results to
        # drain, since the WPUs' merging follows `mode`.
        w_req, w_got = Signal(range(R + 1)), Signal(range(R + 1))
        g = Signal.like(tile.groups)
        q = Signal(range((2 << cfg.ibuf_bits) + 3))
        rw = signed(len(tile.h) + 3)
        base = Signal(rw)                         # the group's first output row
        step = Mux(mode.k1, LANES * W, W)
        nq = Signal.like(q)
        m.d.comb += nq.eq(Mux(mode.k1, tile.w, Mux(~mode.stride2, tile.w + 2,
                                                   Mux(is_bp, tile.w + 1, (tile.w + 3) >> 1))))
        beat_go = Signal()
        issue = Signal()                          # a beat's reads leave this cycle
        shadow_full = Signal()                    # the next tile's weights wait in the PEs
        w_pending = Signal()                      # the current tile's weights still to load
        w_swap = Signal()

        can_take = results.w_rdy & ~w_pending & ((t_in.mode.as_value() == mode.as_value())
                                                 | (results.level == 0))
        busy = Signal()                           # a tile's beats are being issued
        last_issue = issue & (q == nq - 1) & (g == tile.groups - 1)
        m.d.comb += [beat_go.eq(busy), self.tile.ready.eq((~busy | last_issue) & can_take)]
        with m.If(issue):
            with m.If(q == nq - 1):
                m.d.sync += [q.eq(0), g.eq(g + 1), base.eq(base + step)]
                with m.If(g == tile.groups - 1):
                    m.d.sync += busy.eq(0)
            with m.Else():
                m.d.sync += q.eq(q + 1)
        # A new tile is taken in the cycle the last beat of this one issues, or later.
        with m.If(self.tile.valid & self.tile.ready):
            with m.If(bad):
                m.d.sync += self.error.eq(1)
            with m.Else():
                m.d.sync += [tile.eq(t_in), w_req.eq(0), w_got.eq(0), g.eq(0), q.eq(0),
                             base.eq(t_in.row0), busy.eq(1),
                             w_pending.eq(t_in.mode.phase != Phase.WG)]
                entry = Signal(res_layout)
                m.d.comb += [entry.total.eq(total_of(t_in)),
                             entry.wg.eq(t_in.mode.phase == Phase.WG),
                             entry.first.eq(t_in.first), entry.emit.eq(t_in.emit),
                             entry.pbase.eq(t_in.pbase),
                             results.w_data.eq(entry), results.w_en.eq(1)]
        # Weight loads: rows shift down the columns as they load, bottom kernel row first.
        m.d.comb += [wbuf.rd.valid.eq(w_pending & (w_req < R) & ~shadow_full),
                     wbuf.rd.payload.k1.eq(mode.k1), wbuf.rd.payload.bp.eq(is_bp),
                     wbuf.rd.payload.group.eq(tile.wgroup), wbuf.rd.payload.blk.eq(tile.wblk),
                     wbuf.rd.payload.blocks.eq(tile.wblocks),
                     wbuf.rd.payload.base.eq(tile.wbase),
                     wbuf.rd.payload.u.eq(R - 1 - w_req)]
        with m.If(wbuf.rd.valid & wbuf.rd.ready):
            m.d.sync += w_req.eq(w_req + 1)
        with m.If(wbuf.o.valid):
            m.d.sync += w_got.eq(w_got + 1)
            with m.If(w_got == R - 1):
                m.d.sync += [shadow_full.eq(1), w_pending.eq(0)]
        m.d.comb += [wbuf.o.ready.eq(1), array.w_load.eq(wbuf.o.valid),
                     array.w_swap.eq(w_swap)]
        for k in range(K):
            for c in range(P):
                for j in range(LANES):
                    # (decoded once per column as they load: `hw.pe.operand_shape`)
                    m.d.comb += array.w[k][c][j].eq(
                        pint_value(field(wbuf.o.payload, k, c, j), cfg.pint))
        with m.If(w_swap):
            m.d.sync += shadow_full.eq(0)

        # ---- beat issue: the reads of (g, q), and how their entries make the beat
        side_layout = data.StructLayout({"x0": range(4), "x1": 1, "epar": 1, "row": 1,
                                         "first": 1, "last": 1, "start": 1})
        X0_CUR0, X0_CUR1, X0_PREV1, X0_ZERO = range(4)
        m.submodules.side = side = fifo.SyncFIFOBuffered(width=side_layout.size, depth=4)
        m.d.comb += issue.eq(beat_go & ibuf.rd.ready & ebuf.rd.ready & side.w_rdy)
        m.d.comb += [ibuf.rd.valid.eq(beat_go & ebuf.rd.ready & side.w_rdy),
                     ebuf.rd.valid.eq(beat_go & ibuf.rd.ready & side.w_rdy),
                     side.w_en.eq(issue)]

        pair = ~mode.k1 & mode.stride2 & ~is_bp        # FP / WG stride 2
        col = Signal(signed(len(q) + 2))
        m.d.comb += col.eq(Mux(pair, q << 1, Mux(mode.k1 | mode.stride2, q, q - 1)))
        col_ok = (col >= 0) & (col < tile.w)
        sd = Signal(side_layout)
        m.d.comb += [
            sd.x0.eq(Mux(pair, Mux(q == 0, X0_ZERO, X0_PREV1), Mux(col[0], X0_CUR1, X0_CUR0))),
            sd.x1.eq(pair), sd.epar.eq(q[0]), sd.row.eq(q == 0),
            sd.first.eq(is_wg & (g == 0) & (q == 0)),
            sd.last.eq(is_wg & (g == tile.groups - 1) & (q == nq - 1)),
            sd.start.eq(~is_wg & (g == 0) & (q == 0)),    # swap the weights in first
            side.w_data.eq(sd),
        ]
        rq = ibuf.rd.payload
        m.d.comb += [rq.cp.eq(col >> 1), rq.cb.eq(tile.cb), rq.pairs.eq((tile.w + 1) >> 1),
                     rq.blocks.eq(tile.blocks), rq.base.eq(tile.xbase)]
        for w in range(W):
            for r in range(R):
                row = Signal(rw, name=f"row{w}_{r}")
                # sim.golden.ccore.slot_row
                with m.If(mode.k1):
                    m.d.comb += row.eq(base + LANES * w + r)
                with m.Elif(is_bp & ~mode.stride2):
                    m.d.comb += row.eq(base + w + 1 - r)
                with m.Elif(is_bp):
                    m.d.comb += row.eq(base + w - (r == 2))
                with m.Elif(mode.stride2):
                    m.d.comb += row.eq((base << 1) + 2 * w + r - 1)
                with m.Else():
                    m.d.comb += row.eq(base + w + r - 1)
                slot = rq.rows[w * R + r]
                ok = col_ok & (row >= 0) & (row < tile.h)
                m.d.comb += [slot.valid.eq(ok), slot.row.eq(Mux(ok, row, 0))]
        # WG: WPU w's error row is its output row; its slot (w, 0) of the error buffer.
        eq_ = ebuf.rd.payload
        m.d.comb += [eq_.cp.eq(q >> 1), eq_.cb.eq(tile.eb), eq_.pairs.eq((tile.ew + 1) >> 1),
                     eq_.blocks.eq(tile.eblocks), eq_.base.eq(tile.ebase)]
        for w in range(W):
            erow = base + w
            ok = is_wg & (q < tile.ew) & (erow < tile.eh)
            m.d.comb += [eq_.rows[w * R].valid.eq(ok), eq_.rows[w * R].row.eq(Mux(ok, erow, 0))]

        # ---- beat assembly: the entries, the side FIFO -> the array
        beat = array.i.payload
        sd_o = Signal(side_layout)
        m.d.comb += sd_o.eq(side.r_data)
        # A tile's first beat waits for its weights to be swapped in (one cycle, between the
        # previous tile's last beat and it).
        swapped = Signal()
        need_swap = sd_o.start & ~swapped
        m.d.comb += w_swap.eq(side.r_rdy & need_swap & shadow_full)
        with m.If(w_swap):
            m.d.sync += swapped.eq(1)
        all_valid = all_of([ibuf.o.valid, ebuf.o.valid, side.r_rdy, ~need_swap])
        take = all_valid & array.i.ready
        with m.If(take & sd_o.start):
            m.d.sync += swapped.eq(0)
        m.d.comb += [array.i.valid.eq(all_valid), ibuf.o.ready.eq(take), ebuf.o.ready.eq(take),
                     side.r_en.eq(take),
                     beat.row.eq(sd_o.row), beat.first.eq(sd_o.first), beat.last.eq(sd_o.last)]
        # (hw.fields.field: single slices into the wide beat and entries)
        # The array takes decoded operands (`hw.pe.operand_shape`): each entry is decoded
        # here once, not in the MACs of every cluster it reaches.
        t = lambda code: pint_value(code, cfg.pint)
        for w in range(W):
            for r in range(R):
                cur0, cur1 = (field(ibuf.o.payload, w * R + r, j) for j in (0, 1))
                for c in range(P):
                    t0, t1 = (Signal(operand_shape(cfg), name=f"t{j}_{w}_{r}_{c}")
                              for j in (0, 1))
                    prev = Signal(operand_shape(cfg), name=f"prev{w}_{r}_{c}")
                    m.d.comb += [t0.eq(t(cur0[c])), t1.eq(t(cur1[c]))]
                    with m.If(take):
                        m.d.sync += prev.eq(t1)
                    m.d.comb += [
                        field(beat, "x", w, r, c, 0).eq(
                            Mux(sd_o.x0 == X0_CUR0, t0,
                                Mux(sd_o.x0 == X0_CUR1, t1,
                                    Mux(sd_o.x0 == X0_PREV1, prev, 0)))),
                        field(beat, "x", w, r, c, 1).eq(Mux(sd_o.x1, t0, 0)),
                    ]
        for k in range(K):
            for w in range(W):
                ev = Signal(operand_shape(cfg), name=f"e{k}_{w}")
                m.d.comb += ev.eq(t(Mux(sd_o.epar, field(ebuf.o.payload, w * R, 1, k),
                                        field(ebuf.o.payload, w * R, 0, k))))
                for r in range(R):
                    for c in range(P):
                        m.d.comb += field(beat, "e", k, w, r, c, 0).eq(ev)

        # ---- results -> the partial-sum buffer, in transfer order. WG: the one transfer as
        # W x P beats, WPU by WPU, column c of every WPU adding into address c (lanes of WPU 0),
        # so the WPUs' partial sums of one dw entry meet there.
        acc = psum.acc.payload
        wg_c, wg_w = Signal(range(P)), Signal(range(W))
        m.d.comb += [acc.first.eq(res.first & (~res.wg | (wg_w == 0))),
                     acc.emit.eq(res.emit & (~res.wg | (wg_w == W - 1))),
                     acc.addr.eq(res.pbase + Mux(res.wg, wg_c, done)), psum.rd.valid.eq(0)]
        # Each lane is its own signal, joined once: slices of the wide payload assigned
        # under conditions made Verilator write 36 MB of C++ for the VC709 C-Core.
        out = lambda k, w, r, c, l: field(array.o.payload, k, w, r, c, "lanes", l)
        lanes = []
        for k in range(K):
            for w in range(W):
                for r in range(R):
                    for l in range(LANES):
                        lane = Signal(psum_lane_layout(cfg), name=f"lane{k}_{w}_{r}_{l}")
                        with m.If(res.wg):
                            if w == 0:      # (WG: WPU wg_w's column wg_c into WPU 0's lanes)
                                # The PEs leave WG sums unsaturated; saturating here takes
                                # 72 clamps instead of one per MAC (1,728 for the VC709).
                                pick = Signal(sum_lane_layout(cfg), name=f"wg{k}_{r}_{l}")
                                with m.Switch(Cat(wg_c, wg_w)):
                                    for ww in range(W):
                                        for c in range(P):
                                            with m.Case(c | (ww << len(wg_c))):
                                                m.d.comb += pick.eq(out(k, ww, r, c, l))
                                m.d.comb += [lane.value.eq(saturated(pick)),
                                             lane.ovf.eq(pick.ovf)]
                        with m.Else():
                            # (FP, BP: merged sums, saturated by their WPU)
                            m.d.comb += [lane.value.eq(out(k, w, r, 0, l).value),
                                         lane.ovf.eq(out(k, w, r, 0, l).ovf)]
                        lanes.append(lane)
        m.d.comb += acc.lanes.eq(Cat(*lanes))
        last = done == res.total - 1
        m.d.comb += [psum.acc.valid.eq(array.o.valid & results.r_rdy),
                     array.o.ready.eq(psum.acc.ready & results.r_rdy & (~res.wg | last))]
        with m.If(psum.acc.valid & psum.acc.ready):
            m.d.sync += done.eq(Mux(last, 0, done + 1))
            m.d.comb += [results.r_en.eq(last), self.retired.eq(last)]
            with m.If(res.wg):
                m.d.sync += wg_c.eq(Mux(wg_c == P - 1, 0, wg_c + 1))
                with m.If(wg_c == P - 1):
                    m.d.sync += wg_w.eq(Mux(wg_w == W - 1, 0, wg_w + 1))
        return m
