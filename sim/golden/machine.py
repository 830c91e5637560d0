"""The golden machine: a program (`hw.isa.program`) run on a numpy DRAM image with the golden
blocks, descriptor by descriptor, the way the accelerator will run it.

State: the DRAM image, the input, error and weight buffers (entries as the RTL stores them),
the partial-sum buffer (`PsumModel`), the C-Core's queue of emitted tiles, the A-Core's
converter state (one LFSR per lane, the max |x| tracker of converter 0) and the scalar table
S. A TILE computes its partial sums from what the buffers hold (the golden convolutions on
the maps and weights it reads, placed by `ccore.tile_places`); an A-Core run reads its
operand tensors, runs the golden A-Core function of its program on each channel set, and
converts out0 lane by lane in the order the hardware does (channel sets in run order,
elements in order), drawing stochastic rounding from each lane's LFSR.

Units run their queues in order; across units only the program's tokens order them. The
machine simulates the queues and tokens (a program that would deadlock fails with the
descriptors that wait), checks that tokens balance at END, and checks every access to a
buffer or DRAM range against the accesses of other units with vector clocks: an access not
ordered after a conflicting one is a race, reported with both descriptors. `serial=True`
runs in program order instead (a debugging aid, as VTA's force-serial).
"""

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from hw.isa.apu import MAX_SHIFT, Program
from hw.isa.modes import LANES, Phase
from hw.isa.program import (READS, SLOTS, Buf, Fmt, Op, ScaleOp, Unit, line_bytes,
                            operand_format)
from sim.golden import acore, ccore, conv, convert, dram, pint, store
from sim.golden import input_buffer as ibuf
from sim.golden import weight_buffer as wbuf
from sim.golden.psum_buffer import PsumModel

__all__ = ["Machine", "MachineError", "RaceError", "DeadlockError"]

UNITS = (Unit.LD, Unit.CC, Unit.AC, Unit.ST)


class MachineError(RuntimeError):
    """A descriptor the hardware would refuse (it names the descriptor's index)."""


class DeadlockError(MachineError):
    pass


class RaceError(MachineError):
    pass


@dataclass
class _Access:
    lo: int
    hi: int
    write: bool
    unit: Unit
    epoch: int
    index: int


@dataclass
class Stats:
    """What a run did: descriptors per op, DRAM bytes moved, MACs, overflows."""
    ops: dict = field(default_factory=dict)
    dram_read: int = 0
    dram_written: int = 0
    overflows: int = 0          # partial sums that saturated (the `ovf` flags stored)
    host_steps: int = 0


class Machine:
    """One accelerator: `run(program)` executes descriptors on `dram` (a uint8 array)."""

    def __init__(self, cfg, dram_bytes, seeds=None, queue_depth=8):
        if not (cfg.apus == cfg.clusters == cfg.pe_cols):
            raise ValueError(f"the machine needs apus == clusters == pe_cols (one A-Core lane "
                             f"per output channel of a cluster), not {cfg.apus}, "
                             f"{cfg.clusters}, {cfg.pe_cols}")
        self.cfg = cfg
        self.dram = np.zeros(dram_bytes, np.uint8)
        nb, depth = ibuf.banks(cfg), 1 << cfg.ibuf_bits
        self.bufs = {Buf.X: np.zeros((nb, depth, 2, cfg.pe_cols), np.int64),
                     Buf.E: np.zeros((nb, depth, 2, cfg.pe_cols), np.int64)}
        self.wbuf = np.zeros((3 * cfg.clusters, 1 << cfg.wbuf_bits, cfg.pe_cols), np.int64)
        self.psum = PsumModel(ccore.lanes(cfg), cfg)
        self.emitted = deque()
        self.S = np.zeros(SLOTS, np.int64)
        seeds = seeds if seeds is not None else [0x1234_5678 + 0x9E37_79B9 * k
                                                 for k in range(cfg.apus)]
        self.lfsr = [int(s) & 0xFFFF_FFFF or 1 for s in seeds]
        self.max_abs = 0
        self.queue_depth = queue_depth
        self.stats = Stats()
        # (a run resets these; calls outside a run, as the RTL tests make, act as the A-Core)
        self._reset_tracking()
        self._unit = Unit.AC

    # --- running a program ------------------------------------------------------------------

    def run(self, descs, host=None, serial=False, start=0):
        """Run descriptors from `start` until END (returns its index) or a HOST step (calls
        host(step, machine), then goes on). Raises MachineError naming the descriptor."""
        self._reset_tracking()
        queues = {u: deque() for u in UNITS}
        tokens = {(v, u): deque() for v in UNITS for u in UNITS}
        pc, n = start, len(descs)
        while True:
            progress = False
            # The dispatcher: in program order, into bounded queues; END and HOST wait for
            # every unit to be idle.
            while pc < n:
                d = descs[pc]
                if d.op in (Op.END, Op.HOST):
                    if any(queues.values()):
                        break
                    self._barrier()
                    if d.op == Op.END:
                        left = [f"{v.name}->{u.name}" for (v, u), q in tokens.items() if q]
                        if left:
                            raise MachineError(f"END at {pc}: tokens never taken: "
                                               f"{', '.join(left)}")
                        return pc
                    self.stats.host_steps += 1
                    if host is None:
                        raise MachineError(f"HOST step {d.step} at {pc} and no host to run it")
                    host(d.step, self)
                    pc += 1
                    progress = True
                    continue
                unit = d.unit
                if unit is None:
                    raise MachineError(f"descriptor {pc}: no unit runs {d!r}")
                if serial and any(queues.values()):
                    break
                if len(queues[unit]) >= self.queue_depth:
                    break
                queues[unit].append((pc, d))
                pc += 1
                progress = True
            # The units: each runs its head when its tokens (and, for ST, an emitted tile)
            # are there.
            for u in UNITS:
                while queues[u]:
                    i, d = queues[u][0]
                    need = [v for v in UNITS if d.wait & v]
                    if any(not tokens[(v, u)] for v in need):
                        break
                    if d.op == Op.STORE and len(self.emitted) < d.count:
                        break
                    queues[u].popleft()
                    clocks = [tokens[(v, u)].popleft() for v in need]
                    self._begin(u, clocks)
                    try:
                        self._execute(i, d)
                    except (ValueError, IndexError) as exc:
                        raise MachineError(f"descriptor {i} ({d.op.name}): {exc}") from exc
                    for v in UNITS:
                        if d.signal & v:
                            tokens[(u, v)].append(dict(self.vc[u]))
                    progress = True
                    if serial:
                        break
            if not progress:
                if pc >= n:
                    raise MachineError("the program ends without END")
                stuck = [f"{u.name} at {q[0][0]} ({q[0][1].op.name}, waits "
                         f"{Unit(q[0][1].wait)!r})" for u, q in queues.items() if q]
                raise DeadlockError(f"no unit can go on: {'; '.join(stuck) or 'all idle'}; "
                                    f"the dispatcher waits at {pc}")

    # --- ordering checks ---------------------------------------------------------------------

    def _reset_tracking(self):
        self.vc = {u: {v: 0 for v in UNITS} for u in UNITS}
        self.access = {}

    def _begin(self, u, clocks):
        for c in clocks:
            for v in UNITS:
                self.vc[u][v] = max(self.vc[u][v], c[v])
        self.vc[u][u] += 1
        self._unit = u

    def _barrier(self):
        top = {v: max(self.vc[u][v] for u in UNITS) for v in UNITS}
        for u in UNITS:
            self.vc[u] = dict(top)

    def _touch(self, space, lo, hi, write, index):
        """Record an access to [lo, hi) of a space; raise if it races with another unit's.
        Per range and unit only the latest access counts (a unit runs in order)."""
        if hi <= lo:
            return
        u = self._unit
        vc = self.vc[u]
        recs = self.access.setdefault(space, {})
        for r in list(recs.values()):
            if r.lo < hi and lo < r.hi and r.unit != u and (write or r.write) \
                    and vc[r.unit] < r.epoch:
                raise RaceError(f"{space} [{lo:#x}, {hi:#x}): descriptor {index} "
                                f"({u.name}, {'write' if write else 'read'}) is not ordered "
                                f"after descriptor {r.index} ({r.unit.name}, "
                                f"{'write' if r.write else 'read'})")
        if write:
            for key in [k for k, r in recs.items() if lo <= r.lo and r.hi <= hi]:
                del recs[key]
        recs[(lo, hi, u, write)] = _Access(lo, hi, write, u, vc[u], index)

    # --- the descriptors ---------------------------------------------------------------------

    def _execute(self, i, d):
        self.stats.ops[d.op.name] = self.stats.ops.get(d.op.name, 0) + 1
        {Op.LOAD: self._load, Op.TILE: self._tile, Op.STORE: self._store,
         Op.ACORE: self._acore, Op.SCALE: self._scale,
         Op.SYNC: lambda i, d: None}[d.op](i, d)

    def _pattern(self, d):
        """Byte offsets of a LOAD's elements, in stream order."""
        i2, i1, i0 = np.meshgrid(np.arange(d.n2), np.arange(d.n1), np.arange(d.n0),
                                 indexing="ij")
        return (d.addr + i2 * d.s2 + i1 * d.s1 + i0 * d.s0).ravel()

    def _load(self, i, d):
        cfg, P = self.cfg, self.cfg.pe_cols
        starts = self._pattern(d)
        if starts.size == 0 or d.elem == 0:
            raise ValueError("an empty LOAD")
        lo, hi = int(starts.min()), int(starts.max()) + d.elem
        self._touch("DRAM", lo, hi, False, i)
        idx = (starts[:, None] + np.arange(d.elem)[None, :]).ravel()
        if lo < 0 or hi > self.dram.size:
            raise IndexError(f"LOAD reads [{lo:#x}, {hi:#x}) outside DRAM")
        data = self.dram[idx].astype(np.int64)
        self.stats.dram_read += data.size
        if d.buf == Buf.W:
            nb = 3 * cfg.clusters
            if data.size % P:
                raise ValueError(f"{data.size} bytes are not whole {P}-code entries")
            entries = data.reshape(-1, P)
            top = d.base + -(-len(entries) // nb)
            if top > 1 << cfg.wbuf_bits:
                raise ValueError(f"{len(entries)} entries from {d.base} overrun the weight "
                                 f"buffer")
            self._touch("W", d.base, top, True, i)
            for e, entry in enumerate(entries):
                self.wbuf[e % nb, d.base + e // nb] = entry
            return
        if data.size != d.blocks * d.rows * d.w * P:
            raise ValueError(f"{data.size} bytes for a {d.blocks} x {d.rows} x {d.w} map of "
                             f"{P}-channel blocks ({d.blocks * d.rows * d.w * P})")
        if d.base + ibuf.entries(d.rows, d.w, d.blocks, cfg) > 1 << cfg.ibuf_bits:
            raise ValueError(f"a {d.rows} x {d.w} map of {d.blocks} blocks from entry "
                             f"{d.base} overruns the buffer")
        space = d.buf.name
        self._touch(space, d.base, d.base + ibuf.entries(d.rows, d.w, d.blocks, cfg), True, i)
        m = data.reshape(d.blocks, d.rows, d.w, P).transpose(0, 3, 1, 2)   # [blk, P, h, w]
        x = m.reshape(d.blocks * P, d.rows, d.w)
        for (bank, addr), entry in ibuf.image(x, cfg, d.base).items():
            self.bufs[d.buf][bank, addr] = entry

    # The C-Core ----------------------------------------------------------------------------

    def _map(self, buf, base, h, w, blocks, cb):
        """Block cb of the map a buffer holds, as decoded values [P, h, w]."""
        cfg, nb, P = self.cfg, ibuf.banks(self.cfg), self.cfg.pe_cols
        pairs = -(-w // 2)
        out = np.zeros((P, h, 2 * pairs), np.int64)
        mem = self.bufs[buf]
        for r in range(h):
            for cp in range(pairs):
                addr = base + ((r // nb) * pairs + cp) * blocks + cb
                out[:, r, 2 * cp:2 * cp + 2] = mem[r % nb, addr].T
        return pint.decode(out[:, :, :w], cfg.pint)

    def _weights(self, t):
        """The weights a tile's reads deliver, decoded: [K out][P in][3][3] (FP), the
        transposed [P err][K out][3][3] (BP), or 1x1 [3K][P] / [P][3K]."""
        cfg, K, P = self.cfg, self.cfg.clusters, self.cfg.pe_cols
        k1, bp = t.mode.k == 1, t.mode.phase == Phase.BP
        taps = [(0, 0)] if k1 else [(u, v) for u in range(3) for v in range(3)]
        if k1:
            outs = [LANES * K * t.wgroup + l * K + k for l in range(LANES) for k in range(K)] \
                if bp else [LANES * (t.wgroup * K + k) + l for k in range(K)
                            for l in range(LANES)]
            ins = [t.wblk * P + c for c in range(P)]
            rows, cols = (ins, outs) if bp else (outs, ins)
        else:
            rows = [t.wblk * P + c for c in range(P)] if bp else [t.wgroup * K + k
                                                                  for k in range(K)]
            cols = [t.wgroup * K + k for k in range(K)] if bp else [t.wblk * P + c
                                                                    for c in range(P)]
        # rows index the weight's output channel o, cols its input channel ci (FP); in BP the
        # read is transposed: o = ob P + c (rows), ci = ig K + k (cols).
        w = np.zeros((len(rows), len(cols), 3, 3) if not k1 else (len(rows), len(cols)),
                     np.int64)
        for a, o in enumerate(rows):
            for b, ci in enumerate(cols):
                for u, v in taps:
                    bank, addr = wbuf.bank_of(o, ci // P, u, v, k1, t.wblocks, cfg)
                    code = self.wbuf[bank, t.wbase + addr, ci % P]
                    w[(a, b) if k1 else (a, b, u, v)] = code
        return pint.decode(w, cfg.pint)

    def _tile(self, i, d):
        for t in d.tiles(self.cfg):
            self._one_tile(i, t)

    def _one_tile(self, i, t):
        cfg = self.cfg
        ccore.check_tile(t, cfg)
        ph, s, k = t.mode
        K = cfg.clusters
        self._touch("X", t.xbase, t.xbase + ibuf.entries(t.h, t.w, t.blocks, cfg), False, i)
        n_addr = ccore.transfers(t, cfg)
        self._touch("P", t.pbase, t.pbase + n_addr, True, i)
        x = self._map(Buf.X, t.xbase, t.h, t.w, t.blocks, t.cb)
        if ph == Phase.WG:
            self._touch("E", t.ebase, t.ebase + ibuf.entries(t.eh, t.ew, t.eblocks, cfg),
                        False, i)
            self._wg_tile(t, x, self._map(Buf.E, t.ebase, t.eh, t.ew, t.eblocks, t.eb))
            return
        self._touch("W", t.wbase, t.wbase + ccore.weight_top(t, cfg) + 1, False, i)
        w = self._weights(t)
        big = 1 << 20
        if k == 1:
            # FP: rows of w are the 3K outputs 3 (og K + k) + l; BP (transposed read): its
            # columns are the 3K outputs 3 K ig + l K + k.
            full = np.einsum("oc,chw->ohw", w.T if ph == Phase.BP else w, x)
            out_h, out_w = t.h, t.w
        elif ph == Phase.FP:
            full = conv.conv_fp(x[None], w, s, 1)[0]
            out_h, out_w = full.shape[1:]
        else:
            full = conv.conv_bp(x[None], w, (1, K, s * t.h, s * t.w), s, 1)[0]
            out_h, out_w = full.shape[1:]
        rows = self._rows(n_addr)
        for (addr, lane), (ch, y_, x_) in ccore.tile_places(t, big, big, cfg).items():
            c = self._local_channel(t, ch)
            if 0 <= y_ < out_h and 0 <= x_ < out_w:
                rows[addr][lane] = int(full[c, y_, x_])
        self._accumulate(t, rows, t.first)

    def _local_channel(self, t, ch):
        """A places() output channel -> index into the tile's computed block."""
        K = self.cfg.clusters
        if t.mode.k == 1:
            if t.mode.phase == Phase.FP:
                return ch - LANES * t.wgroup * K
            return (ch - LANES * K * t.wgroup)
        return ch - t.wgroup * K

    def _rows(self, n):
        return np.zeros((n, ccore.lanes(self.cfg)), np.int64)

    def _accumulate(self, t, rows, first):
        """Rows of exact sums -> the partial-sum buffer (saturated to acc_bits with the flag,
        as a MAC delivers them); with `emit`, the new sums go to the emitted queue."""
        vals, ovf = conv.saturate(np.asarray(rows, np.int64), self.cfg.acc_bits)
        out = []
        for a in range(len(rows)):
            got = self.psum.accumulate(first, t.pbase + a,
                                       list(zip(vals[a].tolist(), ovf[a].astype(int).tolist())),
                                       emit=bool(t.emit))
            out.append(got)
        if t.emit:
            self.emitted.append((t, out))

    def _wg_tile(self, t, x, e):
        """dw of one (og, cb) block, WPU by WPU as the RTL writes them: WPU w sums the error
        rows row0 + g wpus + w of the tile's groups; its column c goes to address c."""
        cfg, K, P, W = self.cfg, self.cfg.clusters, self.cfg.pe_cols, self.cfg.wpus
        s = t.mode.stride
        hx, wx = max(t.h, s * t.eh), max(t.w, s * t.ew)
        xp = np.zeros((P, hx, wx), np.int64)
        xp[:, :t.h, :t.w] = x
        oh, ow = conv.out_size(hx, 3, s, 1), conv.out_size(wx, 3, s, 1)
        for w in range(W):
            mask = np.zeros((K, oh, ow), np.int64)
            for g in range(t.groups):
                r = t.row0 + g * W + w
                if r < t.eh:
                    mask[:, r, :t.ew] = e[:, r, :]
            dw = conv.conv_wg(xp[None], mask[None], 3, s, 1)          # [K, P, 3, 3]
            rows = self._rows(P)
            for c in range(P):
                for kk in range(K):
                    for r in range(cfg.pe_rows):
                        for l in range(LANES):
                            rows[c][ccore.lane(cfg, kk, 0, r, l)] = int(dw[kk, c, r, l])
            self._accumulate(t.replace(emit=t.emit and w == W - 1), rows,
                             t.first and w == 0)

    def _store(self, i, d):
        if len(self.emitted) < d.count:
            raise ValueError(f"a STORE of {d.count} tiles with {len(self.emitted)} emitted")
        for _ in range(d.count):
            self._store_one(i, d, *self.emitted.popleft())

    def _store_one(self, i, d, t, rows):
        addrs, vals, ovfs = store.writes(d, t, rows, self.cfg)
        self.stats.overflows += ovfs
        if not addrs:
            return
        lo, hi = min(addrs), max(addrs) + 4
        self._touch("DRAM", lo, hi, True, i)
        for a, v in zip(addrs, vals):
            dram.put(self.dram, a, [v], 4)
        self.stats.dram_written += 4 * len(addrs)

    # The A-Core and the scalar table ------------------------------------------------------

    def _scale(self, i, d):
        if d.d == 0:
            raise ValueError("S[0] is the constant 0")
        a, b = int(self.S[d.a]), int(self.S[d.b])
        self.S[d.d] = {ScaleOp.SET: d.imm, ScaleOp.ADD: a + b + d.imm,
                       ScaleOp.SUB: a - b + d.imm, ScaleOp.MAX: max(a, b) + d.imm}[d.sop]

    def _stream(self, i, d, line, fmt, write=False, values=None, eb=None):
        """An operand tensor's channel sets of this run: read -> [sets, apus, N], or write
        values [sets, apus, N]."""
        cfg, apus, n = self.cfg, self.cfg.apus, d.n
        eb = eb or fmt.bytes
        base = line * line_bytes(cfg)
        sets = [(d.i0 + a, d.g0 + b) for a in range(d.images) for b in range(d.groups)]
        offs = [base + ((im * d.grp_total + g) * n) * apus * eb for im, g in sets]
        self._touch("DRAM", min(offs), max(offs) + n * apus * eb, write, i)
        if write:
            for off, v in zip(offs, values):
                dram.put(self.dram, off, np.asarray(v).T, eb)
            self.stats.dram_written += len(offs) * n * apus * eb
            return None
        self.stats.dram_read += len(offs) * n * apus * eb
        out = np.stack([dram.get(self.dram, off, n * apus, eb).reshape(n, apus).T
                        for off in offs])
        return out              # PINT codes stay codes: the program decodes where it needs to

    def _flags(self, i, d, line, write=False, bits=None):
        cfg, apus, n = self.cfg, self.cfg.apus, d.n
        fb = dram.flag_bytes(apus)
        base = line * line_bytes(cfg)
        sets = [(d.i0 + a, d.g0 + b) for a in range(d.images) for b in range(d.groups)]
        offs = [base + (im * d.grp_total + g) * n * fb for im, g in sets]
        self._touch("DRAM", min(offs), max(offs) + n * fb, write, i)
        if write:
            for off, b in zip(offs, bits):
                dram.put_flags(self.dram, off, np.asarray(b)[None, None])
            return None
        return np.stack([dram.get_flags(self.dram, off, (1, 1, apus, n))[0, 0] for off in offs])

    def _emits(self, i, d, line, words, write=False, values=None):
        """Words j of the run's channel sets: read -> [words, sets, apus]."""
        cfg, apus = self.cfg, self.cfg.apus
        base = line * line_bytes(cfg)
        sets = [(d.i0 + a, d.g0 + b) for a in range(d.images) for b in range(d.groups)]
        offs = [[base + dram.emit_offset(j, g, im, d.grp_total, d.img_total, apus,
                                         line_bytes(cfg))
                 for im, g in sets] for j in range(words)]
        flat = [o for row in offs for o in row]
        self._touch("DRAM", min(flat), max(flat) + apus * 8, write, i)
        if write:
            for j in range(words):
                for s, off in enumerate(offs[j]):
                    dram.put(self.dram, off, values[j][s], 8)
            return None
        return np.array([[dram.get(self.dram, off, apus, 8) for off in row] for row in offs])

    def operands(self, d):
        """What run `d` feeds the A-Core (`hw.operands` streams it): {name: [sets, apus, N]}
        for each operand its program reads (`READS`), as words: PINT codes decoded, 64-bit
        words saturated to a word; "fl": the flag bits."""
        cfg, apus = self.cfg, self.cfg.apus
        sets = d.images * d.groups
        out = {}
        for name in ("x0", "x1", "x2", "fl"):
            fmt = operand_format(d, name)
            if fmt == Fmt.NONE:
                continue
            if name == "fl":
                out[name] = self._flags(-1, d, d.fl_in).reshape(sets, apus, d.n)
                continue
            v = self._stream(-1, d, getattr(d, name), fmt)
            if fmt == Fmt.CODE:
                v = pint.decode(v, cfg.pint)
            out[name] = acore.sat(v, cfg.acore.word_bits)
        return out

    def _params(self, i, d, count):
        """[count][the run's groups][apus] int32 from the `param` tensor (rows of a line
        multiple, `dram.param_row_bytes`)."""
        cfg, apus = self.cfg, self.cfg.apus
        total = d.grp_total * apus
        stride = dram.param_row_bytes(total, line_bytes(cfg))
        base = d.param * line_bytes(cfg)
        self._touch("DRAM", base, base + count * stride, False, i)
        rows = np.stack([dram.get(self.dram, base + r * stride, total, 4) for r in range(count)])
        chans = [(d.g0 + b) * apus + k for b in range(d.groups) for k in range(apus)]
        # channel sets run image-major: repeat per image
        return rows[:, chans].reshape(count, d.groups, apus)

    def _acore(self, i, d):
        cfg, f, apus = self.cfg, self.cfg.acore, self.cfg.apus
        if not 1 <= d.n <= f.max_n:
            raise ValueError(f"N = {d.n} elements per channel (1 .. {f.max_n})")
        if d.prog in (Program.FRN_FP, Program.FRN_BP) and d.n > 1 << cfg.apu_buffer_bits:
            raise ValueError(f"{d.prog.name} keeps a channel in the APU's buffer: N = {d.n} "
                             f"is more than its {1 << cfg.apu_buffer_bits} elements")
        if d.images == 0 or d.groups == 0:
            raise ValueError("a run of no channel set")
        if d.i0 + d.images > d.img_total or d.g0 + d.groups > d.grp_total:
            raise ValueError("channel sets beyond the tensors' images or groups")
        decode = lambda codes: pint.decode(codes, cfg.pint)
        sets = d.images * d.groups
        per_set = lambda p: np.tile(p, (d.images, 1))     # [groups, apus] -> [sets, apus]
        real = np.array([[(d.g0 + b) * apus + k < d.chans for k in range(apus)]
                         for _ in range(d.images) for b in range(d.groups)])
        out0 = out1 = flags = emits = None
        if d.clear_max:
            self.max_abs = 0
        prog = d.prog
        fmt = lambda name: operand_format(d, name)
        if prog not in READS:
            raise ValueError(f"{prog.name} is not a program a run starts (the controller "
                             f"expands FRN_FP into the overlapped FRN_STATS/NEXT/LAST)")
        if prog == Program.FRN_FP:
            x = self._stream(i, d, d.x0, fmt("x0")).reshape(sets * apus, d.n)
            g, b, t = (per_set(p).reshape(-1) for p in self._params(i, d, 3))
            z, st = acore.frn_tlu_forward(x, g, b, t, eps=1, cfg=cfg)
            out0, out1, flags = z, st.xhat_q, st.bitmap
            emits = [st.q, st.e]
            e_real = st.e.reshape(sets, apus)[real]
            if d.emax and e_real.size:
                self.S[d.emax] = max(int(self.S[d.emax]), int(e_real.max()))
        elif prog == Program.FRN_BP:
            dz = self._stream(i, d, d.x0, fmt("x0")).reshape(sets * apus, d.n)
            xh = self._stream(i, d, d.x1, fmt("x1")).reshape(sets * apus, d.n)
            bits = self._flags(i, d, d.fl_in).reshape(sets * apus, d.n).astype(bool)
            qe = self._emits(i, d, d.state, 2)                      # [2, sets, apus]
            g = per_set(self._params(i, d, 1)[0]).reshape(-1)
            e_max = int(self.S[d.emax])
            if not -128 <= e_max <= 127:
                raise ValueError(f"e_max = S[{d.emax}] = {e_max} is not an exponent register's "
                                 f"value (-128 .. 127)")
            # Padding channels (all zeros) may have a larger exponent than the layer's real
            # ones, whose maximum e_max is: the loader gives their lanes min(e, e_max).
            e = np.where(real.reshape(-1), qe[1].reshape(-1),
                         np.minimum(qe[1].reshape(-1), e_max))
            if np.any(e < -128):
                raise ValueError(f"an FRN state exponent ({int(e.min())}) below -128")
            st = acore.FrnState(q=qe[0].reshape(-1), e=e, xhat=xh, bitmap=bits, xhat_q=None)
            dx, dg, db, dt = acore.frn_tlu_backward(dz, st, g, cfg, e_max=e_max)
            out0, emits = dx, [dg, db, dt]
        elif prog == Program.SUM:
            # (the APU takes words: 64-bit inputs saturate on the way in)
            w = acore.sat(self._stream(i, d, d.x0, fmt("x0")), f.word_bits)
            emits = [acore.channel_sum(w.reshape(sets * apus, d.n), cfg)]
        elif prog == Program.SGD:
            g = self._stream(i, d, d.x0, fmt("x0")).reshape(-1)
            v = self._stream(i, d, d.x1, fmt("x1")).reshape(-1)
            w = self._stream(i, d, d.x2, fmt("x2")).reshape(-1)
            base = d.param * line_bytes(cfg)
            self._touch("DRAM", base, base + 12, False, i)
            m_c, lr_c, lr_sh = (int(c) for c in dram.get(self.dram, base, 3, 4))
            g_c, g_sh = acore.sgd_grad_coef(int(self.S[d.sa]) - int(self.S[d.sb]), cfg)
            if g_sh > MAX_SHIFT or not 0 <= lr_sh <= MAX_SHIFT:
                raise ValueError(f"SGD shifts {g_sh} (gradient) and {lr_sh} (lr): 0 .. "
                                 f"{MAX_SHIFT}")
            w2, v2 = acore.sgd_momentum(w, v, g, (m_c, g_c, g_sh, lr_c, lr_sh), 32, cfg)
            # Elementwise: any consistent order; the streams are [sets, apus, N] here.
            out0, out1 = w2.reshape(sets * apus, d.n), v2.reshape(sets * apus, d.n)
        elif prog in (Program.ADD, Program.COPY):
            def operand(line, fmt):
                v = self._stream(i, d, line, fmt).reshape(sets * apus, d.n)
                return decode(v) if fmt == Fmt.CODE else v
            a = operand(d.x0, fmt("x0"))
            if prog == Program.COPY:
                out0 = a
            else:
                b = operand(d.x1, fmt("x1"))
                ea, eb = int(self.S[d.sa]), int(self.S[d.sb])
                _, sa, _, sb, _ = acore.add_coefs(ea, eb, cfg)
                if max(sa, sb) > MAX_SHIFT:
                    raise ValueError(f"ADD of exponents {ea} and {eb}: the smaller operand "
                                     f"would shift by more than {MAX_SHIFT}")
                out0, _ = acore.residual_add(a, ea, b, eb, cfg)
        else:
            raise ValueError(f"{prog.name} is not a program a run starts (the controller "
                             f"expands FRN_FP into the overlapped FRN_STATS/NEXT/LAST)")
        self._outputs(i, d, out0, out1, flags, emits, sets)

    def write_results(self, i, d, raw0=None, code0=None, out1=None, flags=None, emits=None):
        """Run d's results into DRAM where `hw.results` writes them: element results
        [sets, apus, N] (raw0 and out1 32-bit words or, out1_fmt CODE, codes; flags bits),
        emits [words][sets, apus]; an output whose line is 0, or None here, is skipped."""
        if raw0 is not None and d.raw0:
            self._stream(i, d, d.raw0, Fmt.I32, True, raw0)
        if code0 is not None and d.code0:
            self._stream(i, d, d.code0, Fmt.CODE, True, code0)
        if out1 is not None and d.out1:
            self._stream(i, d, d.out1, d.out1_fmt, True, out1)
        if flags is not None and d.fl_out:
            self._flags(i, d, d.fl_out, True, flags)
        if emits is not None and d.emit:
            self._emits(i, d, d.emit, len(emits), True, emits)

    def _outputs(self, i, d, out0, out1, flags, emits, sets):
        cfg, apus = self.cfg, self.cfg.apus
        shape = (sets, apus, d.n)
        o0 = codes = o1 = fl = None
        if out0 is not None:
            o0 = acore.sat(np.asarray(out0), cfg.acc_bits).reshape(shape)
            # Converter 0 takes every element, lane by lane, in run order.
            mode = convert.STOCHASTIC if d.stochastic else convert.NEAREST_EVEN
            sf = int(self.S[d.shift])
            codes = np.zeros(shape, np.int64)
            for k in range(apus):
                seq = o0[:, k, :].ravel()
                c, self.lfsr[k] = convert.convert(seq, sf, mode, self.lfsr[k], cfg)
                codes[:, k, :] = c.reshape(sets, d.n)
            self.max_abs = max(self.max_abs, int(np.max(np.abs(o0))))
        if out1 is not None and d.out1:
            o1 = acore.sat(np.asarray(out1), cfg.acc_bits).reshape(shape)
            if d.out1_fmt == Fmt.CODE:
                o1 = np.stack([convert.convert(o1[:, k, :].ravel(), d.shift1,
                                               convert.NEAREST_EVEN, 1, cfg)[0]
                               .reshape(sets, d.n) for k in range(apus)], axis=1)
        if flags is not None:
            fl = np.asarray(flags).reshape(shape)
        if emits is not None:
            emits = [np.asarray(e).reshape(sets, apus) for e in emits]
        self.write_results(i, d, o0, codes, o1, fl, emits)
        if d.cap:
            self.S[d.cap] = convert.next_shift(self.max_abs, cfg)
