"""Dependencies between units, from the buffer and DRAM ranges each descriptor touches, as
the program's tokens.

`regions(d)` lists what a descriptor reads and writes (its own arithmetic from the fields;
the golden machine checks the same accesses independently while it runs). A descriptor
depends on the latest earlier descriptor of each other unit that wrote what it reads, or
read or wrote what it writes. `add_tokens` turns those dependencies into `wait` / `signal`
bits: walking each unit's descriptors in order, a dependency on a descriptor of unit V not
already covered by an earlier wait on V marks that descriptor to signal and this one to
wait, so the n-th wait on a channel always takes the n-th signal and the tokens balance. A
HOST step or END waits for every unit, so nothing before it needs a token.
"""

from dataclasses import replace

from hw.isa.apu import EMITS, Program
from hw.isa.program import Buf, Op, StoreLayout, Unit, line_bytes
from sim.golden import ccore, dram
from sim.golden import input_buffer as ibuf

__all__ = ["regions", "dependencies", "add_tokens"]

UNITS = (Unit.LD, Unit.CC, Unit.AC, Unit.ST)


def _span(addr, elem, *levels):
    top = addr + elem + sum((n - 1) * s for n, s in levels if n > 0)
    return addr, top


def regions(d, cfg):
    """[(space, lo, hi, write)] a descriptor touches."""
    P, apus, line = cfg.pe_cols, cfg.apus, line_bytes(cfg)
    out = []
    if d.op == Op.LOAD:
        lo, hi = _span(d.addr, d.elem, (d.n0, d.s0), (d.n1, d.s1), (d.n2, d.s2))
        out.append(("DRAM", lo, hi, False))
        if d.buf == Buf.W:
            n = d.nbytes // P
            out.append(("W", d.base, d.base + -(-n // (3 * cfg.clusters)), True))
        else:
            out.append((d.buf.name, d.base,
                        d.base + ibuf.entries(d.rows, d.w, d.blocks, cfg), True))
    elif d.op == Op.TILE:
        # (The partial-sum buffer is the C-Core's alone: no other unit to order against.)
        t = d.tile
        out.append(("X", t.xbase, t.xbase + ibuf.entries(t.h, t.w, t.blocks, cfg), False))
        if t.mode.phase == 2:
            out.append(("E", t.ebase, t.ebase + ibuf.entries(t.eh, t.ew, t.eblocks, cfg),
                        False))
        else:
            top = max(ccore.weight_top(t, cfg), ccore.weight_top(t, cfg, d.nblk))
            out.append(("W", t.wbase, t.wbase + top + 1, False))
    elif d.op == Op.STORE:
        if d.layout == StoreLayout.MAP32:
            if d.s_col == 0:                            # rows are images (FC vectors)
                hi = d.addr + d.out_h * d.s_row
            else:
                hi = d.addr + -(-d.out_c // apus) * d.s_blk
        else:
            k1 = d.layout == StoreLayout.WIMG32_C
            hi = d.addr + 4 * dram.wimg_elements(d.out_h, d.cblocks * P, k1, cfg)
        out.append(("DRAM", d.addr, hi, True))
    elif d.op == Op.ACORE:
        out += _acore_regions(d, cfg, line)
    return out


def _stream(d, line_addr, eb, apus, line, write):
    base = line_addr * line
    first = ((d.i0 * d.grp_total + d.g0) * d.n) * apus * eb
    last = (((d.i0 + d.images - 1) * d.grp_total + d.g0 + d.groups - 1) * d.n) * apus * eb
    return ("DRAM", base + first, base + last + d.n * apus * eb, write)


def _acore_regions(d, cfg, line):
    apus = cfg.apus
    out = []
    for addr, fmt in ((d.x0, d.x0_fmt), (d.x1, d.x1_fmt)):
        if addr:
            out.append(_stream(d, addr, fmt.bytes, apus, line, False))
    if d.x2:
        out.append(_stream(d, d.x2, 4, apus, line, False))
    if d.raw0:
        out.append(_stream(d, d.raw0, 4, apus, line, True))
    if d.code0:
        out.append(_stream(d, d.code0, 1, apus, line, True))
    if d.out1:
        out.append(_stream(d, d.out1, d.out1_fmt.bytes, apus, line, True))
    fb = dram.flag_bytes(apus)
    for addr, write in ((d.fl_in, False), (d.fl_out, True)):
        if addr:
            out.append(_stream(d, addr, fb, 1, line, write))
    words = len(EMITS.get(d.prog, ()))
    for addr, n, write in ((d.emit, words, True), (d.state, 2, False)):
        if addr:
            base = addr * line
            out.append(("DRAM", base, base + dram.emit_bytes(n, d.grp_total, d.img_total,
                                                             apus, line), write))
    if d.param:
        base = d.param * line
        size = 12 if d.prog == Program.SGD else 3 * dram.param_row_bytes(d.grp_total * apus,
                                                                          line)
        out.append(("DRAM", base, base + size, False))
    return out


BUCKET = {"DRAM": 1 << 16}       # bytes per bucket of the DRAM's record index


def dependencies(descs, cfg):
    """Per descriptor: {unit: index of the latest descriptor of that unit it must follow}.

    Records: per space and bucket, the latest access per (range, unit, read/write) (a unit
    runs in order, so an earlier access of the same range by the same unit adds nothing);
    a write drops the records it covers."""
    spaces = {}               # space -> {bucket: {key: (lo, hi, unit, index, write)}}
    deps = []
    for i, d in enumerate(descs):
        if d.op in (Op.HOST, Op.END):
            spaces.clear()
            deps.append({})
            continue
        u = d.unit
        need = {}
        for space, lo, hi, write in regions(d, cfg):
            if hi <= lo:
                continue
            size = BUCKET.get(space, 1 << 30)
            buckets = spaces.setdefault(space, {})
            ids = range(lo // size, (hi - 1) // size + 1)
            seen = set()
            for bid in ids:
                for key, r in list(buckets.get(bid, {}).items()):
                    if key in seen:
                        continue
                    seen.add(key)
                    if r[0] < hi and lo < r[1] and r[2] != u and (write or r[4]):
                        need[r[2]] = max(need.get(r[2], -1), r[3])
                    if write and lo <= r[0] and r[1] <= hi:
                        for b2 in range(r[0] // size, (r[1] - 1) // size + 1):
                            buckets.get(b2, {}).pop(key, None)
            rec = (lo, hi, u, i, write)
            for bid in ids:
                buckets.setdefault(bid, {})[(lo, hi, u, write)] = rec
        deps.append(need)
    return deps


def add_tokens(descs, meta, cfg):
    """The descriptors with wait / signal bits that order every dependency."""
    deps = dependencies(descs, cfg)
    covered = {(v, u): -1 for v in UNITS for u in UNITS}
    wait = [0] * len(descs)
    signal = [0] * len(descs)
    for i, d in enumerate(descs):
        if d.op in (Op.HOST, Op.END):
            for key in covered:
                covered[key] = i
            continue
        u = d.unit
        for v, x in deps[i].items():
            if x > covered[(v, u)]:
                covered[(v, u)] = x
                signal[x] |= u
                wait[i] |= v
    return [replace(d, wait=int(w), signal=int(s)) if (w or s) else d
            for d, w, s in zip(descs, wait, signal)]
