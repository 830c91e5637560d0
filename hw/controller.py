"""The global controller: fetches the program (`hw.isa.program`) from DRAM, checks and
dispatches each descriptor to its unit's queue, and lets a unit's head go only when the
tokens it waits for are there, exactly as the golden machine's queues do.

- **Fetch** one descriptor (WORD_BYTES) at a time through a DMA read port, at `pc` from
  PROGRAM_BASE; a descriptor outside the DRAM window is an ADDRESS error.
- **Decode**: an undefined op is BAD_OP, bits beyond the kind's layout BAD_WORD; LOAD, TILE,
  STORE, ACORE go to their unit's queue, SCALE to the A-Core's (it runs in order with the
  A-Core's runs, here, on the scalar table), SYNC to the queue it names.
- **Issue**, per unit: the queue's head waits for one token from each unit in its `wait`
  bits and for the unit to take it (a unit takes the next descriptor when it can: the
  C-Core's unit while earlier tiles still retire, the others when the previous one is done);
  SYNC and SCALE run here once the unit has nothing in flight. Units finish in order, up to
  `in_flight` each; when one is done, a token goes to each unit in its `signal`.
- **END and HOST** wait for every queue and unit to empty. END with tokens left is a
  TOKENS error; HOST stops with its step number until `resume`.
- A unit's error, or nothing moving for `watchdog` cycles while busy, stops the run
  (ERROR_ADDR: the descriptor's address); so does a bus error on a fetch (`fetch_error`,
  READ_ERROR at the fetched address).
- **The scalar table**: SCALE reads and writes it here; an ACORE run in flight has it
  through the `ac_s_*` port (one cycle of read latency); the host through `scalar_*`. `soft_reset` returns to idle; a fetch in flight
  across it is answered later, and that word is dropped.
"""

from amaranth.hdl import Cat, Module, Mux, ResetInserter, Signal, signed
from amaranth.lib import data, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .config import Configured
from .dma import dma_cmd_layout, dma_word_layout
from .isa.pack import width
from .isa.program import SLOTS, WORD_BITS, WORD_BYTES, Op, ScaleOp, layout
from .isa.regs import COUNTERS, ErrorCode
from .regs import EVENTS

__all__ = ["Controller", "UNITS", "unit_desc_layout"]

UNITS = ("ld", "cc", "ac", "st")        # bit i of wait / signal: hw.isa.program.Unit
COUNTER = {name: i for i, (name, _) in enumerate(COUNTERS)}


def unit_desc_layout(cfg):
    """What a unit gets: the descriptor's word and the DRAM address it came from."""
    return data.StructLayout({"word": WORD_BITS, "addr": cfg.dram_addr_bits})


def _members(cfg):
    a = cfg.dram_addr_bits
    members = {
        "start": In(1), "resume": In(1), "soft_reset": In(1),
        "program_base": In(a), "dram_base": In(a), "dram_size": In(a),
        "scalar_index": In(10), "scalar_wdata": In(32), "scalar_we": In(1),
        "scalar_rdata": Out(32),
        "busy": Out(1), "done": Out(1), "error": Out(1), "host": Out(1),
        "error_code": Out(8), "error_addr": Out(a), "host_step": Out(32),
        "events": Out(len(EVENTS)),
        "counters": Out(data.ArrayLayout(64, len(COUNTERS))),
        "dma_read_bytes": In(16), "dma_write_bytes": In(16), "dram_wait": In(1),
        "fetch": Out(stream.Signature(dma_cmd_layout(cfg))),
        "words": In(stream.Signature(dma_word_layout(cfg))),
        "fetch_error": In(1),
        # The A-Core unit's port to the scalar table (while its run is in flight).
        "ac_s_addr": In(range(SLOTS)), "ac_s_rdata": Out(signed(32)),
        "ac_s_wdata": In(signed(32)), "ac_s_we": In(1),
    }
    for u in UNITS:
        members[u] = Out(stream.Signature(unit_desc_layout(cfg)))
        members[f"{u}_done"] = In(1)
        members[f"{u}_error"] = In(1)
        members[f"{u}_code"] = In(8)
    return members


class Controller(Configured, wiring.Component):
    def __init__(self, cfg, queue_depth=4, in_flight=4, watchdog=1 << 20):
        def members(cfg):
            if WORD_BYTES % cfg.pe_cols:
                raise ValueError(f"descriptors ({WORD_BYTES} bytes) must be whole "
                                 f"{cfg.pe_cols}-byte DMA lanes")
            return _members(cfg)
        for name, v in (("queue_depth", queue_depth), ("in_flight", in_flight)):
            if not 1 <= v <= 64:
                raise ValueError(f"{name} must be in [1, 64], not {v}")
        self._depth, self._in_flight, self._watchdog = queue_depth, in_flight, watchdog
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        # Every queue, with its head's decoded fields.
        self._queues = {}
        for u in UNITS:
            q = fifo.SyncFIFOBuffered(width=WORD_BITS + cfg.dram_addr_bits,
                                      depth=self._depth)
            m.submodules[f"q_{u}"] = q
            self._queues[u] = q
        m.submodules.scalars = self._scalars = memory.Memory(shape=signed(32), depth=SLOTS,
                                                             init=[])
        self._running = Signal()
        self._stop = Signal()            # an error this cycle: stop
        self._stop_code = Signal(8)
        self._stop_addr = Signal(cfg.dram_addr_bits)
        self._moved = Signal()           # something progressed this cycle (watchdog)
        self._wvalid, self._wready = Signal(), Signal()     # `words`, as the FSM sees it
        idle_units = self._issue(m)
        self._sequence(m, idle_units)
        self._errors(m)
        self._count(m)
        # Soft reset: every register of the controller (queues, tokens, state, counters)
        # back to its initial value; the scalar table keeps its contents.
        top = Module()
        top.submodules.core = ResetInserter({"sync": self.soft_reset})(m)
        self._stale_words(top)
        return top

    def _stale_words(self, m):
        """A fetch the DMA took before a soft reset still answers after it: its word is
        dropped, not taken for the next program's first descriptor. (Outside the soft
        reset: it counts the fetches in flight across it.)"""
        owed = Signal(4)                 # fetches taken whose last word has not come
        stale = Signal(4)                # of those, the ones from before a soft reset
        asked = self.fetch.valid & self.fetch.ready
        got = self.words.valid & self.words.ready & self.words.payload.last
        m.d.comb += [self._wvalid.eq(self.words.valid & (stale == 0)),
                     self.words.ready.eq(Mux(stale != 0, 1, self._wready))]
        m.d.sync += owed.eq(owed + asked - got)
        with m.If(self.soft_reset):
            m.d.sync += stale.eq(owed + asked - got)
        with m.Elif(got & (stale != 0)):
            m.d.sync += stale.eq(stale - 1)

    # --- fetch, decode, dispatch, END / HOST --------------------------------------------------

    def _sequence(self, m, idle_units):
        cfg = self._cfg
        pc = self._pc = Signal(cfg.dram_addr_bits)
        word = Signal(WORD_BITS)
        lanes = Signal(range(WORD_BYTES // cfg.pe_cols + 1))
        op = word[:4]
        lane_bits = cfg.pe_cols * 8
        in_window = (pc >= self.dram_base) & (pc + WORD_BYTES <= self.dram_base + self.dram_size)
        widths = {o: width(layout(cfg, o)) for o in Op}
        m.d.comb += [self.fetch.payload.addr.eq(pc), self.fetch.payload.bytes.eq(WORD_BYTES)]
        m.d.comb += self._wready.eq(0)
        queue_of = {Op.LOAD: "ld", Op.TILE: "cc", Op.STORE: "st", Op.ACORE: "ac",
                    Op.SCALE: "ac"}
        sync_unit = word[12:14]            # SYNC's unit field follows the 12-bit header
        beyond = Signal()
        with m.Switch(op):
            for o in Op:
                with m.Case(o.value):
                    m.d.comb += beyond.eq(word[widths[o]:].any() if widths[o] < WORD_BITS
                                          else 0)
        ended = Signal()
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [pc.eq(self.program_base), self._running.eq(1),
                                 self.done.eq(0), self.error.eq(0), self.host.eq(0),
                                 self.error_code.eq(0)]
                    m.next = "FETCH"
            with m.State("FETCH"):
                with m.If(~in_window):
                    m.d.comb += [self._stop.eq(1), self._stop_code.eq(ErrorCode.ADDRESS.value),
                                 self._stop_addr.eq(pc)]
                    m.next = "STOPPED"
                with m.Else():
                    m.d.comb += self.fetch.valid.eq(1)
                    with m.If(self.fetch.ready):
                        m.d.sync += [word.eq(0), lanes.eq(0)]
                        m.next = "ASSEMBLE"
            with m.State("ASSEMBLE"):
                m.d.comb += self._wready.eq(1)
                with m.If(self._wvalid):
                    w = self.words.payload
                    shifted = Signal(WORD_BITS + cfg.axi_data_bits)
                    m.d.comb += shifted.eq(w.data << (lanes * lane_bits))
                    m.d.sync += [word.eq(word | shifted[:WORD_BITS]),
                                 lanes.eq(lanes + w.units)]
                    with m.If(w.last):
                        m.next = "DECODE"
            with m.State("DECODE"):
                m.d.comb += self._moved.eq(1)
                with m.If(op > max(o.value for o in Op)):
                    m.d.comb += [self._stop.eq(1), self._stop_code.eq(ErrorCode.BAD_OP.value),
                                 self._stop_addr.eq(pc)]
                    m.next = "STOPPED"
                with m.Elif(beyond):
                    m.d.comb += [self._stop.eq(1),
                                 self._stop_code.eq(ErrorCode.BAD_WORD.value),
                                 self._stop_addr.eq(pc)]
                    m.next = "STOPPED"
                with m.Elif((op == Op.END.value) | (op == Op.HOST.value)):
                    m.next = "DRAIN"
                with m.Else():
                    m.next = "PUSH"
            with m.State("PUSH"):
                for i, u in enumerate(UNITS):
                    q = self._queues[u]
                    ops = [o for o, qu in queue_of.items() if qu == u]
                    mine = ((op == Op.SYNC.value) & (sync_unit == i))
                    for o in ops:
                        mine = mine | (op == o.value)
                    m.d.comb += q.w_data.eq(Cat(word, pc))
                    with m.If(mine & q.w_rdy):
                        m.d.comb += q.w_en.eq(1)
                        m.d.sync += pc.eq(pc + WORD_BYTES)
                        m.next = "FETCH"
            with m.State("DRAIN"):
                with m.If(idle_units):
                    with m.If(op == Op.END.value):
                        with m.If(self._tokens_left):
                            m.d.comb += [self._stop.eq(1),
                                         self._stop_code.eq(ErrorCode.TOKENS.value),
                                         self._stop_addr.eq(pc)]
                            m.next = "STOPPED"
                        with m.Else():
                            m.d.comb += ended.eq(1)
                            m.d.sync += [self.done.eq(1), self._running.eq(0)]
                            m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [self.host.eq(1), self.host_step.eq(word[12:28])]
                        m.next = "HOSTWAIT"
            with m.State("HOSTWAIT"):
                with m.If(self.resume):
                    m.d.sync += [self.host.eq(0), pc.eq(pc + WORD_BYTES)]
                    m.next = "FETCH"
            with m.State("STOPPED"):
                m.d.sync += self._running.eq(0)
                with m.If(self.start):
                    m.d.sync += [pc.eq(self.program_base), self._running.eq(1),
                                 self.done.eq(0), self.error.eq(0), self.error_code.eq(0)]
                    m.next = "FETCH"
        # Events (IRQ_STATUS): END reached, a stop for an error, `host` rising.
        was_host = Signal()
        m.d.sync += was_host.eq(self.host)
        m.d.comb += [self.busy.eq(self._running),
                     self.events.eq(Cat(ended, self._stop & self._running,
                                        self.host & ~was_host))]

    # --- per unit: tokens and issue -----------------------------------------------------------

    def _issue(self, m):
        """Heads of the queues to the units when their tokens are there; tokens back when
        the units are done. Returns 'every queue and unit is idle'."""
        cfg = self._cfg
        n = len(UNITS)
        tok = [[Signal(8, name=f"tok_{UNITS[v]}_{UNITS[u]}") for u in range(n)]
               for v in range(n)]
        inc = [[Signal(name=f"inc_{UNITS[v]}_{UNITS[u]}") for u in range(n)] for v in range(n)]
        dec = [[Signal(name=f"dec_{UNITS[v]}_{UNITS[u]}") for u in range(n)] for v in range(n)]
        for v in range(n):
            for u in range(n):
                m.d.sync += tok[v][u].eq(tok[v][u] + inc[v][u] - dec[v][u])
        self._tokens_left = Signal()
        m.d.comb += self._tokens_left.eq(Cat(*[t != 0 for row in tok for t in row]).any())
        self._tok = tok
        idle = []
        rd_scale = self._scalars.read_port(transparent_for=())
        wr_scale = self._scalars.write_port()
        self._scale_ports = (rd_scale, wr_scale)
        for u, name in enumerate(UNITS):
            q = self._queues[name]
            head = Signal(unit_desc_layout(cfg), name=f"head_{name}")
            m.d.comb += head.eq(q.r_data)
            wait, signal = head.word[4:8], head.word[8:12]
            op = head.word[:4]
            # The signals of this unit's descriptors in flight, oldest first: units finish
            # in order (the C-Core's takes the next TILE while earlier tiles still retire).
            owed = fifo.SyncFIFO(width=n + cfg.dram_addr_bits, depth=self._in_flight)
            m.submodules[f"owed_{name}"] = owed
            inflight = Signal(name=f"inflight_{name}")
            m.d.comb += inflight.eq(owed.r_rdy)
            tokens_ok = Cat(*[~wait[v] | (tok[v][u] != 0) for v in range(n)]).all()
            local = op == Op.SYNC.value
            if name == "ac":
                local = local | (op == Op.SCALE.value)
            # (not gated by this cycle's stop: a unit's error may answer its `valid` at once)
            go = q.r_rdy & tokens_ok & Mux(local, ~inflight, owed.w_rdy) & self._running
            port = getattr(self, name)
            m.d.comb += [port.payload.eq(head), port.valid.eq(go & ~local)]
            issued = Signal(name=f"issued_{name}")
            finished = Signal(name=f"finished_{name}")
            done_signals = Signal(4, name=f"done_signals_{name}")
            if name == "ac":
                scale_done = self._scale(m, head, go & local & (op == Op.SCALE.value))
                sync_now = go & local & (op == Op.SYNC.value)
                m.d.comb += issued.eq((go & ~local & port.ready) | sync_now | scale_done)
            else:
                m.d.comb += issued.eq((go & ~local & port.ready) | (go & local))
            with m.If(issued):
                m.d.comb += q.r_en.eq(1)
                m.d.comb += [dec[v][u].eq(wait[v]) for v in range(n)]
            # Completion: a unit's done pulse, or a local descriptor at once.
            local_done = issued & (local if name != "ac" else
                                   (op == Op.SYNC.value) | (op == Op.SCALE.value))
            last_addr = Signal(cfg.dram_addr_bits, name=f"addr_{name}")
            with m.If(issued & ~local_done):
                m.d.comb += [owed.w_data.eq(Cat(signal, head.addr)), owed.w_en.eq(1)]
                m.d.sync += last_addr.eq(head.addr)
            with m.If(getattr(self, f"{name}_done") & inflight):
                m.d.comb += [owed.r_en.eq(1), finished.eq(1), done_signals.eq(owed.r_data[:n])]
            with m.If(local_done):
                m.d.comb += [finished.eq(1), done_signals.eq(signal)]
            with m.If(finished):
                m.d.comb += [inc[u][w].eq(done_signals[w]) for w in range(n)]
                m.d.comb += self._moved.eq(1)
            self._inflight = getattr(self, "_inflight", {})
            self._inflight[name] = inflight
            self._inflight_addr = getattr(self, "_inflight_addr", {})
            # A unit's error is about the descriptor it took last (the C-Core refuses a tile
            # as it takes it), or, in the cycle it takes one, the head's; but a bus error
            # answers the oldest descriptor still in flight there: answers come in order,
            # and the one unit that takes a descriptor before the last's answers are in
            # (STORE) is done with it in the cycle its last answer comes.
            bus = Cat(getattr(self, f"{name}_code") == c.value
                      for c in (ErrorCode.READ_ERROR, ErrorCode.WRITE_ERROR)).any()
            self._inflight_addr[name] = Mux(bus & inflight, owed.r_data[n:],
                                            Mux(issued, head.addr, last_addr))
            self._waiting = getattr(self, "_waiting", {})
            self._waiting[name] = q.r_rdy & ~tokens_ok & ~inflight
            idle.append(~q.r_rdy & ~inflight)
        all_idle = Signal()
        m.d.comb += all_idle.eq(Cat(*idle).all())
        with m.If(self.start & ~self._running):
            m.d.sync += [tok[v][u].eq(0) for v in range(n) for u in range(n)]
        # The host's access to the scalar table (when no SCALE writes).
        rd_host = self._scalars.read_port(transparent_for=(wr_scale,))
        m.d.comb += [rd_host.addr.eq(self.scalar_index), self.scalar_rdata.eq(rd_host.data)]
        with m.If(~self._scale_writing & self.scalar_we):
            m.d.comb += [wr_scale.addr.eq(self.scalar_index), wr_scale.data.eq(self.scalar_wdata),
                         wr_scale.en.eq(1)]
        # An ACORE run in flight has the table (SCALE, which also runs in the A-Core's
        # queue, cannot run meanwhile); its writes win over the host's.
        m.d.comb += self.ac_s_rdata.eq(rd_scale.data)
        with m.If(self._inflight["ac"]):
            m.d.comb += rd_scale.addr.eq(self.ac_s_addr)
            with m.If(self.ac_s_we):
                m.d.comb += [wr_scale.addr.eq(self.ac_s_addr), wr_scale.data.eq(self.ac_s_wdata),
                             wr_scale.en.eq(1)]
        return all_idle

    def _scale(self, m, head, start):
        """SCALE on the scalar table: read a and b (two cycles, one read port), then write
        d. Returns the pulse of its completion."""
        rd, wr = self._scale_ports
        f = Signal(layout(self._cfg, Op.SCALE))
        m.d.comb += f.eq(head.word[:width(layout(self._cfg, Op.SCALE))])
        a_val = Signal(signed(32))
        phase = Signal(2)
        done = Signal()
        self._scale_writing = phase == 2
        zero = lambda slot: slot == 0
        with m.Switch(phase):
            with m.Case(0):
                m.d.comb += rd.addr.eq(f.a)
                with m.If(start):
                    m.d.sync += phase.eq(1)
            with m.Case(1):
                m.d.comb += rd.addr.eq(f.b)
                m.d.sync += [a_val.eq(Mux(zero(f.a), 0, rd.data)), phase.eq(2)]
            with m.Case(2):
                b_val = Mux(zero(f.b), 0, rd.data)
                result = Signal(signed(32))
                with m.Switch(f.sop):
                    with m.Case(ScaleOp.SET.value):
                        m.d.comb += result.eq(f.imm)
                    with m.Case(ScaleOp.ADD.value):
                        m.d.comb += result.eq(a_val + b_val + f.imm)
                    with m.Case(ScaleOp.SUB.value):
                        m.d.comb += result.eq(a_val - b_val + f.imm)
                    with m.Case(ScaleOp.MAX.value):
                        m.d.comb += result.eq(Mux(a_val > b_val, a_val, b_val) + f.imm)
                m.d.comb += [wr.addr.eq(f.d), wr.data.eq(result), wr.en.eq(f.d != 0),
                             done.eq(1)]
                m.d.sync += phase.eq(0)
        return done

    # --- errors and counters ------------------------------------------------------------------

    def _errors(self, m):
        """A unit's error stops the run with its code and the address of the descriptor in
        flight there; so does the watchdog."""
        quiet = Signal(range(self._watchdog + 1))
        with m.If(~self._running | self._moved | self.host):
            m.d.sync += quiet.eq(0)
        with m.Else():
            m.d.sync += quiet.eq(quiet + 1)
        with m.If(self.fetch_error & self._running):
            m.d.comb += [self._stop.eq(1), self._stop_code.eq(ErrorCode.READ_ERROR.value),
                         self._stop_addr.eq(self._pc)]
        for u in UNITS:
            with m.If(getattr(self, f"{u}_error") & self._running):
                m.d.comb += [self._stop.eq(1), self._stop_code.eq(getattr(self, f"{u}_code")),
                             self._stop_addr.eq(self._inflight_addr[u])]
        with m.If(quiet == self._watchdog):
            m.d.comb += [self._stop.eq(1), self._stop_code.eq(ErrorCode.WATCHDOG.value)]
        with m.If(self._stop & self._running):
            m.d.sync += [self.error.eq(1), self.error_code.eq(self._stop_code),
                         self.error_addr.eq(self._stop_addr), self._running.eq(0)]

    def _count(self, m):
        """The counters of `hw.isa.regs.COUNTERS`, cleared at start, running while busy."""
        c = self.counters
        by = {"CYCLES": 1, "DMA_READ_BYTES": self.dma_read_bytes,
              "DMA_WRITE_BYTES": self.dma_write_bytes, "DRAM_WAIT": self.dram_wait,
              "DESCRIPTORS": Cat(*[self._queues[u].w_en for u in UNITS]).any()}
        for u in UNITS:
            by[f"{u.upper()}_BUSY"] = self._inflight[u]
            by[f"{u.upper()}_TOKEN_WAIT"] = self._waiting[u]
        with m.If(self.start & ~self._running):
            m.d.sync += [c[i].eq(0) for i in range(len(COUNTERS))]
        with m.Elif(self._running):
            m.d.sync += [c[COUNTER[name]].eq(c[COUNTER[name]] + inc)
                         for name, inc in by.items()]
