"""The DMA: an AXI4 master's read side (`DmaReader`: commands, each a DRAM address and a
length, -> the bytes there, in order, in words of the bus width) and write side (`DmaWriter`:
commands and words -> the bytes written).

A command's address and length are multiples of the configuration's `pe_cols` bytes (a
buffer entry's channel block: the unit every program tensor is laid out in; a writer may be
given another lane size), so bytes move in
lanes of that size and the realignment is a lane shifter, not a byte shifter. Each command
becomes INCR bursts of at most 256 beats that never cross a 4 KiB boundary; up to
`outstanding` bursts are in flight (one ID, so they return in order). Output words carry the
command's lanes from lane 0 up, `units` valid lanes (all but possibly in the last word) and
`last` on the command's final word. A command that is not lane-aligned, or a read answered
SLVERR or DECERR, sets `error` (sticky until `clear`) with the command's address.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .axi import axi4_read_master, axi4_write_master
from .config import Configured

__all__ = ["DmaReader", "DmaWriter", "dma_cmd_layout", "dma_word_layout"]


def dma_cmd_layout(cfg):
    return data.StructLayout({"addr": cfg.dram_addr_bits, "bytes": cfg.dram_addr_bits})


def dma_word_layout(cfg, lane_bytes=None):
    """A bus word of `lane_bytes`-byte lanes (default pe_cols): `units` valid from lane 0."""
    lanes = cfg.axi_bytes // (lane_bytes or cfg.pe_cols)
    return data.StructLayout({"data": cfg.axi_data_bits, "units": range(lanes + 1),
                              "last": 1})


def _bursts(m, dma, ch, cmd, info, info_layout, inflight, done, B, lb, unit, outstanding,
            lengths=None, addrs=None, max_beats=256, credit=None):
    """A command stream -> INCR bursts on channel `ch` ("ar" or "aw") of dma's m_axi port:
    at most `max_beats` beats, none across 4 KiB, at most `outstanding` in flight (`done`
    retires one), each only when `credit(beats)` holds. Each accepted command's (address,
    first lane, lanes) goes to `info`; a command that is not lane-aligned sets dma.error
    instead. `lengths` (a FIFO) receives every burst's beat count, `addrs` its address.
    Returns (sent, beats): the burst issued this cycle and its length."""
    ax = lambda name: getattr(dma, f"m_axi_{ch}{name}")
    run_addr = Signal(dma.cfg.dram_addr_bits, name=f"{ch}_run_addr")
    run_beats = Signal(dma.cfg.dram_addr_bits, name=f"{ch}_run_beats")
    c = cmd.payload
    aligned = ((c.addr % unit) == 0) & ((c.bytes % unit) == 0) & (c.bytes != 0)
    # The next command is taken in the cycle the current one's last burst goes: a burst
    # a cycle for single-burst commands.
    last_goes = Signal(name=f"{ch}_last_goes")
    m.d.comb += cmd.ready.eq(((run_beats == 0) | last_goes) & info.w_rdy)
    entry = Signal(info_layout)
    m.d.comb += [entry.addr.eq(c.addr), entry.offset.eq((c.addr % B) // unit),
                 entry.lanes.eq(c.bytes // unit), info.w_data.eq(entry)]
    with m.If(cmd.valid & cmd.ready):
        with m.If(aligned):
            first = c.addr >> lb
            m.d.sync += [run_addr.eq(first << lb),
                         run_beats.eq(((c.addr + c.bytes - 1) >> lb) - first + 1)]
            m.d.comb += info.w_en.eq(1)
        with m.Else():
            m.d.sync += [dma.error.eq(1), dma.error_addr.eq(c.addr)]

    to_4k = (4096 - (run_addr & 4095)) >> lb
    capped = Mux(run_beats < max_beats, run_beats, max_beats)
    beats = Signal(range(257), name=f"{ch}_beats")
    m.d.comb += beats.eq(Mux(to_4k < capped, to_4k, capped))
    room = inflight < outstanding
    if credit is not None:
        room = room & credit(beats)
    if lengths is not None:
        room = room & lengths.w_rdy & addrs.w_rdy
        # (the burst's address, and whether it ends its command)
        m.d.comb += [lengths.w_data.eq(beats), addrs.w_data.eq(Cat(run_addr, run_beats == beats))]
    m.d.comb += [ax("addr").eq(run_addr), ax("len").eq(beats - 1), ax("size").eq(lb),
                 ax("burst").eq(1), ax("id").eq(0), ax("cache").eq(0b0011), ax("prot").eq(0),
                 ax("lock").eq(0), ax("valid").eq((run_beats != 0) & room)]
    sent = ax("valid") & ax("ready")
    m.d.comb += last_goes.eq(sent & (run_beats == beats))
    if lengths is not None:
        m.d.comb += [lengths.w_en.eq(sent), addrs.w_en.eq(sent)]
    # (a command taken this cycle sets the run: its assignments above must win)
    with m.If(sent & ~(cmd.valid & cmd.ready & aligned)):
        m.d.sync += [run_addr.eq(run_addr + (beats << lb)), run_beats.eq(run_beats - beats)]
    m.d.sync += inflight.eq(inflight + sent - done)
    return sent, beats


class _R:
    """The R channel's signals as the data side uses them."""

    def __init__(self, data_bits):
        self.valid, self.ready, self.popped = Signal(), Signal(), Signal()
        self.data, self.resp, self.last = Signal(data_bits), Signal(2), Signal()


def _rotate(m, lanes, amount, name):
    """rot[t] = lanes[(t + amount) % U]: a barrel shifter, one 2:1 stage per bit of `amount`
    (U a power of two), cheaper than a U:1 multiplexer per lane when lanes are narrow."""
    U, w = len(lanes), len(lanes[0])
    assert U & (U - 1) == 0, U
    v = Cat(*lanes)
    for k in range((U - 1).bit_length()):
        step = Signal(U * w, name=f"{name}_s{k}")
        m.d.comb += step.eq(Mux(amount[k], v.rotate_right((1 << k) * w), v))
        v = step
    return [v[t * w:(t + 1) * w] for t in range(U)]


def _max_beats(buffer):
    """A burst's most beats: 256, or with a buffer half of it (at least 1), so that one
    burst fills while the previous one empties."""
    return max(1, buffer // 2) if buffer else 256


class DmaReader(Configured, wiring.Component):
    """See the module's docstring. `buffer` (beats; None: none): R beats land in a FIFO of
    that depth and a burst (then at most half of it: one burst comes while the previous
    one drains) is requested only when the FIFO has room for all of it, so `rready` never
    falls: readers that share an R channel, and whose consumers may wait on each other (the
    A-Core's operands, zipped), must have one, or one stalled consumer would hold every
    other reader's data behind its own."""

    def __init__(self, cfg, outstanding=4, buffer=None):
        if buffer is not None and not 1 <= buffer <= 256:
            raise ValueError(f"buffer must be None or in [1, 256] beats, not {buffer}")
        self._buffer = buffer

        def members(cfg):
            if cfg.axi_bytes % cfg.pe_cols:
                raise ValueError(f"the bus ({cfg.axi_bytes} bytes) must hold whole "
                                 f"{cfg.pe_cols}-byte lanes")
            if not 1 <= outstanding <= 16:
                raise ValueError(f"outstanding must be in [1, 16], not {outstanding}")
            return {
                "cmd": In(stream.Signature(dma_cmd_layout(cfg))),
                "o": Out(stream.Signature(dma_word_layout(cfg))),
                **axi4_read_master("m_axi", cfg.dram_addr_bits, cfg.axi_data_bits),
                "error": Out(1), "error_addr": Out(cfg.dram_addr_bits), "clear": In(1),
                "idle": Out(1),
            }
        self._outstanding = outstanding
        super().__init__(cfg, members)

    def _ax(self, name):
        return getattr(self, f"m_axi_{name}")

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        B, unit = cfg.axi_bytes, cfg.pe_cols
        U, lb = B // unit, (B - 1).bit_length()
        a_bits = cfg.dram_addr_bits
        # What the data side needs to know of each accepted command, in order.
        info_layout = data.StructLayout({"addr": a_bits, "offset": range(U),
                                         "lanes": a_bits})
        m.submodules.info = info = fifo.SyncFIFOBuffered(width=info_layout.size,
                                                         depth=self._outstanding)
        inflight = Signal(range(self._outstanding + 1))
        got_last = Signal()
        self._r = self._r_channel(m)
        sent, beats = _bursts(m, self, "ar", self.cmd, info, info_layout, inflight, got_last,
                              B, lb, unit, self._outstanding,
                              max_beats=_max_beats(self._buffer), credit=self._credit)
        if self._buffer:
            # Beats promised to bursts in flight or waiting in the FIFO.
            m.d.sync += self._promised.eq(self._promised + Mux(sent, beats, 0)
                                          - self._r.popped)
        self._data(m, info, info_layout, got_last, B, U, unit)
        m.d.comb += self.idle.eq(~info.r_rdy & (inflight == 0) & ~self.o.valid)
        with m.If(self.clear):
            m.d.sync += self.error.eq(0)
        return m

    def _r_channel(self, m):
        """The R beats the data side sees: the port's, or (with a buffer) the FIFO's."""
        ax = self._ax
        r = _R(self._cfg.axi_data_bits)
        if not self._buffer:
            self._credit = None
            m.d.comb += [r.valid.eq(ax("rvalid")), r.data.eq(ax("rdata")),
                         r.resp.eq(ax("rresp")), r.last.eq(ax("rlast")),
                         ax("rready").eq(r.ready)]
            return r
        w = self._cfg.axi_data_bits
        m.submodules.rbuf = rbuf = fifo.SyncFIFOBuffered(width=w + 3, depth=self._buffer)
        self._promised = Signal(range(self._buffer + 1))
        self._credit = lambda beats: self._promised + beats <= self._buffer
        m.d.comb += [rbuf.w_data.eq(Cat(ax("rdata"), ax("rresp"), ax("rlast"))),
                     rbuf.w_en.eq(ax("rvalid")), ax("rready").eq(rbuf.w_rdy),
                     r.valid.eq(rbuf.r_rdy), r.data.eq(rbuf.r_data[:w]),
                     r.resp.eq(rbuf.r_data[w:w + 2]), r.last.eq(rbuf.r_data[w + 2]),
                     rbuf.r_en.eq(r.ready), r.popped.eq(rbuf.r_rdy & r.ready)]
        return r

    def _data(self, m, info, info_layout, got_last, B, U, unit):
        """R beats -> output words: drop the first beat's leading lanes, join each beat's
        lanes to those held back, emit whole words, the command's rest as its last."""
        r = self._r
        w = unit * 8
        head = Signal(info_layout)
        m.d.comb += head.eq(info.r_data)
        first = Signal(init=1)                  # the next beat is its command's first
        left = Signal(self._cfg.dram_addr_bits)  # lanes of the command still to emit
        hold = [Signal(w, name=f"hold{i}") for i in range(U)]
        held = Signal(range(U))
        extra = Signal(self._cfg.axi_data_bits)  # a second word a last beat made
        extra_units = Signal(range(U + 1))
        extra_full = Signal()

        beat = [r.data[i * w:(i + 1) * w] for i in range(U)]
        skip = Mux(first, head.offset, 0)
        avail = U - skip
        # The held lanes, then the beat's after its first `skip`, as 2U lanes: lane i < U is
        # hold[i] below `held`, then beat[i - held + skip]; lane U + i is beat[U + i - held
        # + skip]; zero past the beat. Both come from one rotation of the beat.
        rot = _rotate(m, beat, (skip - held)[:len(held)], "rot")
        low = [Signal(w, name=f"low{i}") for i in range(U)]
        high = [Signal(w, name=f"high{i}") for i in range(U)]
        for i in range(U):
            is_held = (i < held) if i < U - 1 else 0        # (held < U)
            m.d.comb += [low[i].eq(Mux(is_held, hold[i], Mux(skip + i < U + held, rot[i], 0))),
                         high[i].eq(Mux(skip + i < held, rot[i], 0))]
        total = held + avail
        remaining = Mux(first, head.lanes, left)

        o = self.o.payload
        room = ~self.o.valid | self.o.ready
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        take = r.valid & room & ~extra_full & info.r_rdy
        m.d.comb += [r.ready.eq(take), got_last.eq(take & r.last)]
        with m.If(extra_full & room):
            m.d.sync += [o.data.eq(extra), o.units.eq(extra_units), o.last.eq(1),
                         self.o.valid.eq(1), extra_full.eq(0)]
        with m.If(take):
            m.d.sync += first.eq(0)
            with m.If(r.resp != 0):
                m.d.sync += [self.error.eq(1), self.error_addr.eq(head.addr)]
            with m.If(remaining <= total):
                # The command ends in this beat.
                m.d.comb += info.r_en.eq(1)
                m.d.sync += [first.eq(1), held.eq(0), o.data.eq(Cat(*low)),
                             self.o.valid.eq(1)]
                with m.If(remaining <= U):
                    m.d.sync += [o.units.eq(remaining), o.last.eq(1)]
                with m.Else():
                    m.d.sync += [o.units.eq(U), o.last.eq(0), extra.eq(Cat(*high)),
                                 extra_units.eq(remaining - U), extra_full.eq(1)]
            with m.Elif(total >= U):
                m.d.sync += [o.data.eq(Cat(*low)), o.units.eq(U), o.last.eq(0),
                             self.o.valid.eq(1), left.eq(remaining - U), held.eq(total - U)]
                m.d.sync += [hold[i].eq(high[i]) for i in range(U)]
            with m.Else():
                m.d.sync += [left.eq(remaining), held.eq(total)]
                m.d.sync += [hold[i].eq(low[i]) for i in range(U)]


class DmaWriter(Configured, wiring.Component):
    """The DMA's write side: commands (address, length in lanes, as DmaReader) and, on `i`,
    their data as words packed from lane 0 (`units` valid lanes, the rest of a command's
    lanes in its next words) -> INCR bursts (at most 256 beats, none across 4 KiB, several
    in flight), W beats with the strobes of the lanes they carry, B responses checked
    (SLVERR or DECERR: `error` with the burst's address; a misaligned command: `error`
    with its address); `written` pulses when a command's last burst is answered.
    `buffer` (beats; None: none): store and forward, W beats wait in a FIFO of that depth
    and a burst (then at most half of it) is requested only once all its beats are
    there. Writers that share a W channel (AXI4 has no WID: W follows AW order) and whose
    producers wait on each other (the A-Core's results, fanned out in step) must have one.
    AW never waits for W data. `lane_bytes` (default pe_cols, a power of
    two) sets the lane: the STORE unit's writer moves 4-byte sums."""

    def __init__(self, cfg, outstanding=4, lane_bytes=None, buffer=None):
        if buffer is not None and not 1 <= buffer <= 256:
            raise ValueError(f"buffer must be None or in [1, 256] beats, not {buffer}")
        self._buffer = buffer

        def members(cfg):
            lane = lane_bytes or cfg.pe_cols
            if lane & (lane - 1) or cfg.axi_bytes % lane:
                raise ValueError(f"the bus ({cfg.axi_bytes} bytes) must hold whole "
                                 f"{lane}-byte lanes, a power of two")
            self._lane = lane
            if not 1 <= outstanding <= 16:
                raise ValueError(f"outstanding must be in [1, 16], not {outstanding}")
            return {
                "cmd": In(stream.Signature(dma_cmd_layout(cfg))),
                "i": In(stream.Signature(dma_word_layout(cfg, lane_bytes))),
                **axi4_write_master("m_axi", cfg.dram_addr_bits, cfg.axi_data_bits),
                "error": Out(1), "error_addr": Out(cfg.dram_addr_bits), "clear": In(1),
                "idle": Out(1), "written": Out(1),
            }
        self._outstanding = outstanding
        super().__init__(cfg, members)

    def _ax(self, name):
        return getattr(self, f"m_axi_{name}")

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        B, unit = cfg.axi_bytes, self._lane
        U, lb = B // unit, (B - 1).bit_length()
        info_layout = data.StructLayout({"addr": cfg.dram_addr_bits, "offset": range(U),
                                         "lanes": cfg.dram_addr_bits})
        # (unbuffered: a command's lanes can be placed the cycle after it is taken)
        m.submodules.info = info = fifo.SyncFIFO(width=info_layout.size,
                                                 depth=self._outstanding)
        # The bursts in flight: their lengths for W, their addresses for B.
        # (unbuffered: a burst's W beats can follow its AW the next cycle)
        m.submodules.lengths = lengths = fifo.SyncFIFO(width=9, depth=self._outstanding)
        m.submodules.addrs = addrs = fifo.SyncFIFO(width=cfg.dram_addr_bits + 1,
                                                   depth=self._outstanding)
        inflight = Signal(range(self._outstanding + 1))
        answered = Signal()
        credit = None
        pushing = Signal()                                 # a beat enters the buffer now
        if self._buffer:
            stored = Signal(range(self._buffer + 1))       # W beats no burst has claimed
            # (counting the beat that enters now: a single-beat command's burst goes the
            # cycle its data comes, and the next command is taken then)
            credit = lambda beats: stored + pushing >= beats
        sent, beats = _bursts(m, self, "aw", self.cmd, info, info_layout, inflight, answered,
                              B, lb, unit, self._outstanding, lengths, addrs,
                              max_beats=_max_beats(self._buffer), credit=credit)
        pushed = self._frame(m, lengths, *self._beats(m, info, info_layout, U, unit))
        if self._buffer:
            m.d.comb += pushing.eq(pushed)
            m.d.sync += stored.eq(stored + pushed - Mux(sent, beats, 0))
        # B: every response retires a burst; one that is not OKAY is an error, reported
        # with that burst's address.
        ax = self._ax
        a = cfg.dram_addr_bits
        m.d.comb += [ax("bready").eq(1), answered.eq(ax("bvalid")),
                     addrs.r_en.eq(ax("bvalid")),
                     self.written.eq(ax("bvalid") & addrs.r_data[a])]
        with m.If(ax("bvalid") & (ax("bresp") != 0)):
            m.d.sync += [self.error.eq(1), self.error_addr.eq(addrs.r_data[:a])]
        with m.If(self.clear):
            m.d.sync += self.error.eq(0)
        m.d.comb += self.idle.eq(~info.r_rdy & (inflight == 0) & ~lengths.r_rdy
                                 & ~self._held)
        return m

    def _beats(self, m, info, info_layout, U, unit):
        """Input words -> W beats: a command's first beat starts at its first lane; lanes
        an input word brings beyond a beat wait for the next one. Lanes are held at the
        beat lane they will take, so one rotation of each input word places it."""
        w = unit * 8
        head = Signal(info_layout)
        m.d.comb += head.eq(info.r_data)
        first = Signal(init=1)
        left = Signal(self._cfg.dram_addr_bits)
        hold = [Signal(w, name=f"whold{i}") for i in range(U)]     # by beat lane
        held = Signal(range(U))

        offset = Mux(first, head.offset, 0)
        remaining = Mux(first, head.lanes, left)
        need = Signal(range(U + 1))
        m.d.comb += need.eq(Mux(remaining < U - offset, remaining, U - offset))
        word = self.i.payload
        lanes_in = [word.data[i * w:(i + 1) * w] for i in range(U)]
        from_hold = held >= need                            # no input word needed
        total = held + word.units
        # The held lanes are beat lanes [offset, offset + held) (within one beat: a beat
        # goes as soon as its lanes are there); the word's lane i goes to lane
        # offset + held + i, past the beat's end into the next beat's first lanes.
        at = Signal(range(U), name="w_at")
        m.d.comb += at.eq(offset + held)
        rot = _rotate(m, lanes_in, (U - at)[:len(at)], "wrot")
        # Beats formed here go to the framer (`_frame`: wlast) directly, or through the
        # store-and-forward FIFO.
        out_ready = Signal()
        can = info.r_rdy
        beat = can & (from_hold | (self.i.valid & (total >= need)))
        absorb = can & ~from_hold & self.i.valid & (total < need)
        placed = [Signal(w, name=f"wlane{j}") for j in range(U)]
        strb = Signal(U)
        held_lane = [Signal(name=f"wheld{j}") for j in range(U)]    # lane j is held
        for j in range(U):
            m.d.comb += [held_lane[j].eq((j < at) if j < U - 1 else 0),     # (at < U)
                         placed[j].eq(Mux(held_lane[j], hold[j], rot[j]))]
            # (offset < U, so the last lane is never before it)
            after = (offset <= j) if j < U - 1 else 1
            m.d.comb += strb[j].eq(after & (j < offset + need))
        data, strobes = Cat(*placed), Cat(*[s.replicate(unit) for s in strb])
        go = beat & out_ready
        take_word = (go & ~from_hold) | absorb
        m.d.comb += self.i.ready.eq(take_word)
        with m.If(go):
            m.d.sync += [first.eq(0), left.eq(remaining - need)]
            # The word's lanes past this beat start the next one, from its lane 0.
            m.d.sync += held.eq(Mux(from_hold, held, total) - need)
            m.d.sync += [hold[j].eq(rot[j]) for j in range(U)]
            with m.If(remaining == need):
                m.d.comb += info.r_en.eq(1)
                m.d.sync += [first.eq(1), held.eq(0)]
        with m.If(absorb):
            m.d.sync += held.eq(total)
            for j in range(U):
                with m.If(~held_lane[j]):
                    m.d.sync += hold[j].eq(rot[j])
        return beat, out_ready, data, strobes

    def _frame(self, m, lengths, beat, out_ready, data, strobes):
        """W beats -> the W channel with wlast at each burst's end (`lengths`), directly or,
        with a buffer, from the FIFO that AW waits on (`self._stored`: beats not yet
        claimed by a burst)."""
        ax = self._ax
        burst_left = Signal(range(257))
        known = lengths.r_rdy | (burst_left != 0)
        if self._buffer:
            B = self._cfg.axi_data_bits
            m.submodules.wbuf = wbuf = fifo.SyncFIFO(width=B + B // 8, depth=self._buffer)
            m.d.comb += [wbuf.w_data.eq(Cat(data, strobes)), wbuf.w_en.eq(beat),
                         out_ready.eq(wbuf.w_rdy)]
            valid, data, strobes = wbuf.r_rdy, wbuf.r_data[:B], wbuf.r_data[B:]
            self._held = wbuf.r_rdy
            m.d.comb += wbuf.r_en.eq(ax("wvalid") & ax("wready"))
            pushed = beat & wbuf.w_rdy
        else:
            valid = beat
            self._held = 0
            m.d.comb += out_ready.eq(ax("wready") & known)
        m.d.comb += [ax("wdata").eq(data), ax("wstrb").eq(strobes),
                     ax("wvalid").eq(valid & known),
                     ax("wlast").eq(Mux(burst_left == 0, lengths.r_data == 1,
                                        burst_left == 1))]
        with m.If(ax("wvalid") & ax("wready")):
            with m.If(burst_left == 0):
                m.d.comb += lengths.r_en.eq(1)
                m.d.sync += burst_left.eq(lengths.r_data - 1)
            with m.Else():
                m.d.sync += burst_left.eq(burst_left - 1)
        return pushed if self._buffer else None
