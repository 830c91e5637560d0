"""The cycle model: a program's time on the accelerator, descriptor by descriptor, from the
blocks' documented rules, with the overlap the controller gives (each unit runs its queue in
order, tokens order the units, loads double-buffered beside compute by the compiler) and a
DRAM model.

Rules (measured on the RTL: `docs/bench_tiles.md`, `docs/bench_acore.md`):
- C-Core, two stages: a tile issues its beats (`ccore.beats`) plus TILE_GAP cycles (FP, BP;
  the weight swap and the buffers' pipeline around it), then its sums are written, one
  address per cycle as the transfers come (FP, BP) or, for WG, wpus x pe_cols writes after
  the tile's last beat; results are out RESULT_LAT (WG: WG_LAT) cycles after the last
  write's issue. Issue runs at most RESULT_FIFO tiles ahead of the writes, and a tile of
  another mode waits until the writes drain.
- A-Core: one element per cycle per pass; per channel set of N elements: FRN_FP N + 39 (the
  overlapped layer programs; the first channel's statistics pass N + 15 once per run),
  FRN_BP 2N + 79, SGD, ADD, COPY, TLU, SUM N + 15; the streaming pass of each set no
  faster than the bus brings its element inputs (`stream_wait`). A run streams its
  operands from DRAM beside the compute; around its sets, ACORE_RUN cycles (the checks, the scalar reads,
  the registers' loads, the scalar updates at the end: measured on the top's SUM and SGD
  runs of one set) and two DRAM latencies (its first operand, its last result answered).
- Buffer writes: one entry per cycle (input and error buffers: 2 x pe_cols codes; the
  weight buffer: pe_cols codes).
- STORE: a chunk (one write command) per cycle, inside the map or not
  (`hw.isa.store.store_cycles`), and no faster than DRAM takes the bytes. It takes a
  tile's sums as they leave the C-Core (FP, BP: RESULT_LAT after the emitting block's first
  beat; WG: WG_LAT after the tile's last beat), and the C-Core waits for it: the partial-sum
  buffer holds an emitted sum until the STORE takes it, so a tile is done only `tail`
  cycles (its last transfer's chunks) before the STORE is through it, and an FP or BP
  tile's next beats wait for that (measured on the top: a 3x3 FP tile of the small preset,
  2 chunks a transfer, runs at the STORE's pace, not at its beats').
- Program: the controller fetches one descriptor at a time (`hw.controller`: a read of
  WORD_BYTES, then decode and push into its unit's queue): a descriptor reaches its queue
  DRAM latency + its bus beats + FETCH_OVERHEAD cycles after the previous one did, or
  later when that queue is full.
- DRAM: one shared channel of `dram_bytes_per_cycle` (the paper's 29.9 GB/s on the VC709's
  two DDR3 SODIMMs times an efficiency, and at most what the AXI ports carry), each transfer
  after DRAM_LAT cycles; bursts round to whole bus beats. (`Dram.duplex`: reads and writes
  each have the rate, as the testbench's RAM serves them.)
"""

from dataclasses import dataclass

from hw.isa.apu import EMITS, Program
from hw.isa.modes import Phase
from hw.isa import store as isa_store
from hw.isa.program import WORD_BYTES, Buf, Fmt, Op, StoreLayout, Unit
from sim.golden import ccore, dram
from sim.golden import input_buffer as ibuf

__all__ = ["Dram", "tile_cycles", "acore_cycles", "simulate", "Result", "CATEGORIES",
           "TESTBENCH_RAM", "TILE_GAP", "RESULT_LAT", "WG_LAT", "ACORE_RUN", "FETCH_OVERHEAD",
           "stream_wait"]

CLOCK_HZ = 200e6
TILE_GAP = 4            # cycles between an FP/BP tile's last beat and the next tile's first
RESULT_LAT = 12         # last beat issued -> its sums out of the partial-sum buffer (FP, BP)
WG_LAT = 7              # WG: the tile's transfer leaves the array after its last beat
RESULT_FIFO = 4         # tiles whose results may be outstanding
ACORE_RUN = 32          # an A-Core run's cycles outside its channel sets and DRAM latency
DRAM_LAT = 60           # cycles from a request to its first data (MIG at 200 MHz, roughly)
FETCH_OVERHEAD = 4      # a descriptor's fetch besides DRAM: the controller's fetch, decode
                        # and push states, the reader's output register (measured on the top)

# The paper's categories (Figs. 11-13) and ours: RdSum and WrSum are the C-Core's 32-bit sums
# that go through DRAM to the A-Core (the paper streams them directly), WrGrad the weight
# gradients, Prog the descriptors themselves.
CATEGORIES = ["RdAct", "RdWt", "WrOut", "RdFRN", "WrFRN", "RdWU", "WrWU", "RdSum", "WrSum",
              "WrGrad", "Prog"]


@dataclass(frozen=True)
class Dram:
    """DRAM bandwidth: `gbps` total (the paper's 29.9 GB/s for the VC709's two SODIMMs) times
    `efficiency`, capped by `ports` AXI ports of the configuration's width at the clock;
    `latency` cycles from a request to its first data."""
    gbps: float = 29.9
    efficiency: float = 0.8
    ports: int = 1
    latency: int = DRAM_LAT
    duplex: bool = False        # reads and writes each at the full rate (AXI's own channels
                                # to a memory that serves both at once, like AxiRam)

    def bytes_per_cycle(self, cfg):
        return min(self.gbps * 1e9 * self.efficiency / CLOCK_HZ, self.ports * cfg.axi_bytes)

    def describe(self, cfg):
        bpc = self.bytes_per_cycle(cfg)
        bound = "the AXI port" if bpc == self.ports * cfg.axi_bytes else "the DDR3 channels"
        return (f"{self.gbps} GB/s x {self.efficiency} efficiency, {self.ports} AXI port(s) "
                f"of {cfg.axi_data_bits} bits: {bpc:.1f} bytes/cycle = "
                f"{bpc * CLOCK_HZ / 1e9:.1f} GB/s at 200 MHz (bound by {bound})")


# A DRAM like the testbenches' AxiRam without pauses: a few cycles through the hub's arbiter
# and the channel queues, a whole bus word every cycle each way. The RTL's counters are held
# to the model with it (`sim.tb.tb_top`, `sim.bench_top`).
TESTBENCH_RAM = Dram(efficiency=1.0, latency=4, duplex=True)


def _wg(t):
    return t.mode.phase == Phase.WG


def tile_cycles(tiles, cfg):
    """Cycles of a sequence of tiles on an idle C-Core, first descriptor to last sum out."""
    c = _CCore(cfg)
    end = 0
    for t in tiles:
        end = c.tile(t, 0)[1]
    return end


def _tile_costs(t, cfg):
    """(issue cycles, is WG, transfers) of one tile."""
    wg = _wg(t)
    return ccore.beats(t) + (0 if wg else TILE_GAP), wg, ccore.transfers(t, cfg)


class _CCore:
    """The C-Core's two stages (see the module doc)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.issue_free = 0
        self.write_free = 0
        self.done = []          # when each tile's writes finished (for the FIFO bound)
        self.mode = None

    def tile(self, t, ready, costs=None):
        """(start, end) of a tile that may start at `ready`."""
        cfg = self.cfg
        issue, wg, transfers = costs or _tile_costs(t, cfg)
        start = max(ready, self.issue_free)
        if len(self.done) >= RESULT_FIFO:
            start = max(start, self.done[-RESULT_FIFO])
        if self.mode is not None and t.mode != self.mode:
            start = max(start, self.write_free)
        self.mode = t.mode
        issue_end = start + issue
        if wg:
            end = max(issue_end + WG_LAT, self.write_free) + cfg.wpus * cfg.pe_cols
        else:
            end = max(issue_end - TILE_GAP + RESULT_LAT, self.write_free + transfers)
        self.issue_free = issue_end
        self.write_free = end
        self.done.append(end)
        if len(self.done) > RESULT_FIFO:
            del self.done[0]
        return start, end


def acore_cycles(d):
    """A-Core compute cycles of a run (channel sets one after another, APUs in step)."""
    sets, n = d.images * d.groups, d.n
    if d.prog == Program.FRN_FP:
        return (n + 15) + sets * (n + 39)
    if d.prog == Program.FRN_BP:
        return sets * (2 * n + 79)
    return sets * (n + 15)


def stream_wait(d, cfg, bpc):
    """Cycles a run's streaming pass waits on DRAM: each set's pass takes an element of
    every lane a cycle, and its element inputs (x0, x1, x2, flags) no faster than the bus
    brings them (the small preset's 8-byte bus: FRN_BP's 32-bit dz, code x_hat and flag
    byte of 2 lanes are 11 bytes an element)."""
    per = cfg.apus * sum(f.bytes for a, f in ((d.x0, d.x0_fmt), (d.x1, d.x1_fmt)) if a)
    per += cfg.apus * 4 if d.x2 else 0
    per += dram.flag_bytes(cfg.apus) if d.fl_in else 0
    n = d.n
    return d.images * d.groups * max(0, int(-(-n * per // bpc)) - n)


def _beats(nbytes, cfg):
    return -(-nbytes // cfg.axi_bytes) * cfg.axi_bytes


def load_bytes(d, cfg):
    """Bytes a LOAD moves over the bus (each contiguous run rounded to whole beats)."""
    if d.s0 == d.elem or d.n0 == 1:
        run, runs = d.elem * d.n0, d.n1 * d.n2
    else:
        run, runs = d.elem, d.n0 * d.n1 * d.n2
    return runs * _beats(run, cfg)


def _stream_bytes(d, eb, cfg):
    return d.images * d.groups * d.n * cfg.apus * eb


def acore_traffic(d, cfg):
    """{category: bytes} a run reads and writes (from its operands)."""
    apus = cfg.apus
    out = {}

    def add(cat, nbytes):
        out[cat] = out.get(cat, 0) + nbytes

    sgd = d.prog == Program.SGD
    for addr, fmt in ((d.x0, d.x0_fmt), (d.x1, d.x1_fmt)):
        if addr:
            cat = "RdWU" if sgd else "RdSum" if fmt == Fmt.I32 else \
                "RdFRN" if d.prog in (Program.FRN_BP, Program.SUM) else "RdAct"
            add(cat, _stream_bytes(d, fmt.bytes, cfg))
    if d.x2:
        add("RdWU", _stream_bytes(d, 4, cfg))
    if d.raw0:
        add("WrWU" if sgd else "WrSum", _stream_bytes(d, 4, cfg))
    if d.code0:
        add("WrWU" if sgd else "WrOut", _stream_bytes(d, 1, cfg))
    if d.out1:
        add("WrWU" if sgd else "WrFRN", _stream_bytes(d, d.out1_fmt.bytes, cfg))
    fb = dram.flag_bytes(apus)
    if d.fl_in:
        add("RdFRN", d.images * d.groups * d.n * fb)
    if d.fl_out:
        add("WrFRN", d.images * d.groups * d.n * fb)
    words = len(EMITS.get(d.prog, ()))
    if d.emit:
        add("WrFRN", words * d.images * d.groups * apus * 8)
    if d.state:
        add("RdFRN", 2 * d.images * d.groups * apus * 8)
    if d.param:
        add("RdWU" if sgd else "RdFRN", 12 if sgd else 3 * d.groups * apus * 4)
    return out


def store_bytes(d, t, cfg):
    """Bytes a STORE writes for its tile."""
    if d.layout != StoreLayout.MAP32:
        return cfg.clusters * cfg.pe_cols * 4 * (1 if d.layout == StoreLayout.WIMG32_C else 9)
    per_pe = 3 * cfg.pe_rows if t.mode.k == 1 else \
        4 if t.mode.phase == Phase.BP and t.mode.stride == 2 else 1     # (BP stride 2: 2 x 2)
    outs = ccore.transfers(t, cfg) * cfg.clusters * cfg.wpus * per_pe
    return outs * 4 * (4 if d.up2 else 1)


def store_cycles(d, t, cfg):
    """Cycles the STORE unit needs for a tile of its (a chunk a cycle, `hw.isa.store`)."""
    return isa_store.store_cycles(cfg, t.mode, ccore.transfers(t, cfg), d.up2,
                                 d.layout == StoreLayout.WIMG32_C)


def store_tail(d, t, cfg):
    """Cycles the STORE unit still needs once a tile's last transfer has left the C-Core:
    that transfer's chunks."""
    transfers = ccore.transfers(t, cfg)
    per = store_cycles(d, t, cfg)
    if _wg(t):
        return per - transfers                      # (the P beats gathered, then the chunks)
    return per // transfers


@dataclass
class Result:
    cycles: int
    starts: list
    ends: list
    busy: dict                  # unit -> cycles it worked
    bytes: dict                 # category -> bytes
    by_layer: dict              # (layer, phase) -> {"calc": C-Core cycles, "acore": ...,
                                #   category: bytes, "start": , "end": }
    host_steps: int = 0
    host_bytes: int = 0


def simulate(descs, meta, cfg, dram_model=Dram(), queue_depth=8, write_banks=False):
    """Run the program's timing. Descriptors dispatch in order into per-unit queues of
    `queue_depth`; a descriptor starts when its unit is free and its tokens are there.
    write_banks: a what-if, the buffers taking one entry per bank per cycle instead of one
    entry per cycle (today's RTL)."""
    bpc = dram_model.bytes_per_cycle(cfg)
    n = len(descs)
    starts, ends = [0] * n, [0] * n
    unit_free = {u: 0 for u in (Unit.LD, Unit.CC, Unit.AC, Unit.ST)}
    unit_hist = {u: [] for u in unit_free}
    tokens = {}                 # (v, u) -> [producer end times], FIFO
    taken = {}
    cc = _CCore(cfg)
    emitted = []                # ends of emitting tiles, for the stores, in order
    store_i = 0
    dispatch = 0
    busy = {u: 0 for u in unit_free}
    totals = {c: 0 for c in CATEGORIES}
    by_layer = {}
    hosts, host_bytes = 0, 0
    barrier = 0

    dram_free = {"r": 0, "w": 0}

    def dram_time(ready, nbytes, way="r"):
        """When `nbytes` read (way "r") or written ("w") from `ready` are done."""
        way = way if dram_model.duplex else "r"     # (one shared channel otherwise)
        begin = max(ready, dram_free[way])
        dram_free[way] = begin + nbytes / bpc
        return begin + dram_model.latency + nbytes / bpc

    produced = {}               # descriptor -> [(token key, index)] it signalled

    def retire_late(i, t, when):
        """Tile descriptor i's emitting tile `t` is done no earlier than `when` (it waited
        for the STORE): its end, its tokens and the C-Core's stages move with it."""
        if when <= ends[i]:
            return
        ends[i] = when
        for key, k in produced.get(i, ()):
            tokens[key][k] = max(tokens[key][k], when)
        cc.write_free = max(cc.write_free, when)
        if not _wg(t):          # (the emitting block's last beat waited too)
            cc.issue_free = max(cc.issue_free, when - RESULT_LAT + TILE_GAP)
            unit_free[Unit.CC] = max(unit_free[Unit.CC], cc.issue_free)

    fetch = dram_model.latency + -(-WORD_BYTES // cfg.axi_bytes) + FETCH_OVERHEAD
    for i, d in enumerate(descs):
        layer, phase = meta[i][0], meta[i][1]
        dispatch += fetch
        rec = by_layer.setdefault((layer, phase), {"calc": 0, "acore": 0, "start": None,
                                                   "end": 0})
        totals["Prog"] += 64        # the descriptor itself, fetched ahead
        if d.op in (Op.HOST, Op.END):
            t = max([barrier, dispatch] + list(unit_free.values()))
            starts[i] = ends[i] = t
            barrier = dispatch = t          # (the next fetch starts once the units are idle)
            for u in unit_free:
                unit_free[u] = t
            if d.op == Op.HOST:
                hosts += 1
            continue
        u = d.unit
        hist = unit_hist[u]
        if len(hist) >= queue_depth:
            dispatch = max(dispatch, starts[hist[-queue_depth]])
        ready = max(dispatch, barrier)
        for v in (Unit.LD, Unit.CC, Unit.AC, Unit.ST):
            if d.wait & v:
                k = taken.get((v, u), 0)
                taken[(v, u)] = k + 1
                ready = max(ready, tokens[(v, u)][k])
        start = max(ready, unit_free[u])
        traffic = {}
        if d.op == Op.TILE:
            t = d.tile
            costs = _tile_costs(t, cfg)
            first_start = None
            for j in range(d.nblk):
                s0, end = cc.tile(t, start, costs)
                first_start = s0 if first_start is None else first_start
                if t.emit and (costs[1] or j == d.nblk - 1):
                    first_out = cc.issue_free + WG_LAT if costs[1] else s0 + RESULT_LAT
                    emitted.append((end, t, i, first_out))
            start = first_start
            busy[u] += costs[0] * d.nblk
            rec["calc"] += costs[0] * d.nblk
            unit_free[u] = cc.issue_free
        elif d.op == Op.LOAD:
            nbytes = load_bytes(d, cfg)
            if d.buf == Buf.W:
                writes = d.nbytes // cfg.pe_cols
                writes = -(-writes // (3 * cfg.clusters)) if write_banks else writes
            else:
                writes = ibuf.entries(d.rows, d.w, d.blocks, cfg) * (
                    1 if write_banks else ibuf.banks(cfg))
            end = max(dram_time(start, nbytes), start + writes)
            traffic["RdWt" if d.buf == Buf.W else "RdAct"] = nbytes
            busy[u] += end - start
            unit_free[u] = end
        elif d.op == Op.STORE:
            mine = emitted[store_i:store_i + d.count]
            store_i += d.count
            t = mine[-1][1]
            per, tail = store_cycles(d, t, cfg), store_tail(d, t, cfg)
            start = max(start, mine[0][3])
            at = start
            for when, _, tile_i, first_out in mine:
                at = max(at, first_out) + per
                at = max(at, when + tail)
                retire_late(tile_i, t, at - tail)
            nbytes = store_bytes(d, t, cfg) * d.count
            end = max(dram_time(start, nbytes, "w"), at)
            traffic["WrSum" if d.layout == StoreLayout.MAP32 else "WrGrad"] = nbytes
            busy[u] += end - start
            unit_free[u] = end
        elif d.op == Op.ACORE:
            traffic = acore_traffic(d, cfg)
            nbytes = sum(traffic.values())
            compute = acore_cycles(d) + stream_wait(d, cfg, bpc)
            written = sum(b for c, b in traffic.items() if c.startswith("Wr"))
            end = max(start + ACORE_RUN + 2 * dram_model.latency + compute,
                      dram_time(start, nbytes - written, "r"), dram_time(start, written, "w"))
            busy[u] += compute
            rec["acore"] += compute
            unit_free[u] = end
        else:                       # SCALE, SYNC
            end = start + (1 if d.op == Op.SCALE else 0)
            unit_free[u] = end
        starts[i], ends[i] = start, end
        hist.append(i)
        for v in (Unit.LD, Unit.CC, Unit.AC, Unit.ST):
            if d.signal & v:
                tokens.setdefault((u, v), []).append(end)
                produced.setdefault(i, []).append(((u, v), len(tokens[(u, v)]) - 1))
        for c, b in traffic.items():
            totals[c] += b
            rec[c] = rec.get(c, 0) + b
        rec["start"] = start if rec["start"] is None else min(rec["start"], start)
        rec["end"] = max(rec["end"], end)
    total = max(ends) if ends else 0
    return Result(int(total), starts, ends, busy, totals, by_layer, hosts, host_bytes)
