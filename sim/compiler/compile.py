"""A network description -> the program of one training step (FP, BP, WG and the weight
update of one batch), with its DRAM plan.

The network is `sim.train.net`'s description. Every conv layer (conv + L1-FRN + TLU) runs its
three phases on the C-Core tile by tile (`sim.golden.ccore`'s tile arithmetic: bands with
halos, channel-block chunks, weight chunks, within the buffers of the configuration, loads
double-buffered where half a buffer holds them), its sums going to DRAM (STORE); the A-Core
reads them back for L1-FRN + TLU and for their backward. WG accumulates the batch in the
partial-sum buffer; the A-Core updates the weights (SGD) and the FRN parameters (their batch
sums, then SGD). FC layers run as 1x1 layers on the batch; 1x1 and FC WG as the centre tap
of 3x3 WG. What the hardware cannot run today (a 7x7 stem, max-pool, global average pool,
softmax and cross-entropy) is a HOST step naming the tensors it reads and writes. Exponents
and in-hindsight shifts live in the scalar table and follow the whole-tensor model
(`sim.train.pint_net`) step for step.
"""

from dataclasses import dataclass, field


from hw.isa.modes import LANES, Mode, Phase
from hw.isa.program import (SLOTS, Buf, Host, Load, Scale, Store, StoreLayout, TileOp, line_bytes)
from hw.isa.tile import Tile
from sim.golden import ccore, conv, dram
from sim.golden import input_buffer as ibuf

from .plan import DramPlan, refs_of

__all__ = ["Compiler", "Act", "ParamSet", "HostStep", "CompileError"]

NEG = -(1 << 30)            # the running max's start


class CompileError(ValueError):
    """A network the configuration cannot run; the message names the layer and the limit."""


@dataclass(eq=False)
class Act:
    """A map tensor [batch, C, H, W] in blocks of P channels: PINT codes (eb 1) or 32-bit
    sums (eb 4), and the scalar slot holding its exponent."""
    tensor: object
    c: int
    h: int
    w: int
    eb: int
    batch: int
    exp: int = 0

    @property
    def shape(self):
        return (self.batch, self.c, self.h, self.w)

    def offset(self, b, c, y, x, blk):
        return dram.map_offset(self.shape, self.eb, blk, b, c, y, x)

    def image_bytes(self, blk):
        return dram.map_bytes((1, self.c, self.h, self.w), self.eb, blk)


@dataclass(eq=False)
class ParamSet:
    """A layer's parameters in DRAM: its weight image as PINT codes (wq), 32-bit masters
    (wm), velocities (v) and gradients (g); conv layers also their FRN parameters."""
    name: str
    kind: str                   # "conv" or "fc"
    cin: int
    cout: int
    k: int
    stride: int
    cout_p: int
    cin_p: int
    k1: bool                    # stored as a 1x1 image
    wq: object
    wm: object
    v: object
    g: object
    hyper: object               # SGD coefficients (m_c, lr_c, lr_sh), written by the host
    frn: object = None          # [3][C] int32 masters: gamma, beta, tau
    frn_v: object = None
    frn_hyper: object = None    # 3 records
    frn_sums: list = None       # per parameter: its batch gradient (SUM's output)
    fc_in: tuple = None         # FC: the (C, H, W) of the map it reads

    @property
    def frn_row(self):
        return self.frn.meta["row"]


@dataclass
class HostStep:
    """A step the host runs between descriptors: what, on which layer, and the tensors it
    reads and writes."""
    index: int
    kind: str
    layer: str
    reads: list
    writes: list
    info: dict = field(default_factory=dict)


def _up(v, m):
    return -(-v // m) * m


def _chunks(n, per, mult=1):
    per = max(mult, per // mult * mult)
    return [(a, min(n, a + per)) for a in range(0, n, per)]


class Compiler:
    """Emits descriptors (address fields as `plan.Ref`s) and plans DRAM; `sim.compiler.step`
    drives it over a network."""

    def __init__(self, cfg, batch, double_buffer=True):
        if not cfg.apus == cfg.clusters == cfg.pe_cols:
            raise CompileError(f"the compiler maps one output channel of a cluster to one "
                               f"APU lane: it needs apus == clusters == pe_cols, not "
                               f"{cfg.apus}, {cfg.clusters}, {cfg.pe_cols}")
        if not 1 <= batch < 1 << 12:
            raise CompileError(f"batch {batch}: 1 .. {(1 << 12) - 1} images")
        self.cfg, self.B, self.P = cfg, batch, cfg.pe_cols
        self.line = line_bytes(cfg)
        self.plan = DramPlan(self.line, 1 << cfg.dram_addr_bits)
        self.descs, self.meta, self.hosts, self.params = [], [], [], []
        self.slots = {"zero": 0}
        self.acts = {}
        self.macs = {}
        self.where = ("", "")
        self.db = double_buffer
        self.half = {Buf.X: 0, Buf.E: 0, Buf.W: 0}
        self.resident = {}

    # --- emission -----------------------------------------------------------------------------

    def emit(self, d, traffic=None):
        i = len(self.descs)
        for _, r in refs_of(d):
            r.tensor.use(i)
        self.descs.append(d)
        self.meta.append((self.where[0], self.where[1], traffic or {}))
        return i

    def slot(self, name):
        if name not in self.slots:
            if len(self.slots) >= SLOTS:
                raise CompileError(f"the network needs more than the {SLOTS} scalar slots")
            self.slots[name] = len(self.slots)
        return self.slots[name]

    def scale(self, sop, d, a=0, b=0, imm=0):
        s = lambda v: self.slot(v) if isinstance(v, str) else v
        self.emit(Scale(sop, s(d), s(a), s(b), imm))

    def act(self, name, c, h, w, eb, kind, batch=None, persistent=False):
        batch = self.B if batch is None else batch
        t = self.plan.tensor(name, dram.map_bytes((batch, c, h, w), eb, self.P), kind,
                             persistent)
        a = Act(t, c, h, w, eb, batch, self.slot(f"{name}.e"))
        self.acts[name] = a
        return a

    def host(self, kind, layer, reads, writes, **info):
        h = HostStep(len(self.hosts), kind, layer, reads, writes, info)
        self.hosts.append(h)
        i = self.emit(Host(h.index))
        for t in reads + writes:
            t.use(i)
        self.resident.clear()
        return h

    def count(self, macs):
        key = self.where
        self.macs[key] = self.macs.get(key, 0) + macs

    def _next_half(self, buf, size):
        """Where the next load of a buffer goes: the other half when half holds it."""
        depth = 1 << (self.cfg.wbuf_bits if buf == Buf.W else self.cfg.ibuf_bits)
        if size > depth:
            raise CompileError(f"{self.where[0]}: {size} entries per bank for a "
                               f"{depth}-entry buffer")
        if self.db and size <= depth // 2:
            self.half[buf] ^= 1
            return self.half[buf] * (depth // 2)
        return 0

    def _cached(self, buf, key):
        got = self.resident.get(buf)
        return got[1] if got and got[0] == key else None

    # --- loads --------------------------------------------------------------------------------

    def load_map(self, buf, a, b, c0, c1, y0, y1, sub2=False, category="RdAct"):
        """Blocks [c0, c1) x rows [y0, y1) of image b of map `a` (sub2: of its every other
        row and column) into a buffer; returns the base entry (no load when that region
        is still there)."""
        P = self.P
        key = (id(a), b, c0, c1, y0, y1, sub2)
        if (base := self._cached(buf, key)) is not None:
            return base
        h, w = y1 - y0, (-(-a.w // 2) if sub2 else a.w)
        base = self._next_half(buf, ibuf.entries(h, w, c1 - c0, self.cfg))
        if sub2:
            d = Load(buf, a.tensor.ref(a.offset(b, c0 * P, 2 * y0, 0, P)), P,
                     n0=w, s0=2 * P, n1=h, s1=2 * a.w * P, n2=c1 - c0, s2=a.h * a.w * P,
                     w=w, rows=h, blocks=c1 - c0, base=base)
        else:
            d = Load(buf, a.tensor.ref(a.offset(b, c0 * P, y0, 0, P)), h * a.w * P,
                     n0=c1 - c0, s0=a.h * a.w * P, w=w, rows=h, blocks=c1 - c0, base=base)
        self.emit(d, {category: d.nbytes})
        self.resident[buf] = (key, base)
        return base

    def load_vectors(self, buf, a, c0, c1, b0, b1, category="RdAct"):
        """The FC's view of map `a`: each image's tensor as a vector of P-code blocks; blocks
        [c0, c1) of images [b0, b1) as a [blocks, images, 1] map."""
        P = self.P
        key = (id(a), "vec", c0, c1, b0, b1)
        if (base := self._cached(buf, key)) is not None:
            return base
        img = a.image_bytes(P)
        base = self._next_half(buf, ibuf.entries(b1 - b0, 1, c1 - c0, self.cfg))
        d = Load(buf, a.tensor.ref(b0 * img + c0 * P), P, n0=b1 - b0, s0=img,
                 n1=c1 - c0, s1=P, w=1, rows=b1 - b0, blocks=c1 - c0, base=base)
        self.emit(d, {category: d.nbytes})
        self.resident[buf] = (key, base)
        return base

    def load_weights(self, ps, q0, q1, c0, c1):
        """Rows [q0, q1) (output channel div clusters) x input blocks [c0, c1) of a weight
        image, as a layer of its own in the weight buffer; returns its base."""
        P, nb = self.P, 3 * self.cfg.clusters
        key = (ps.name, q0, q1, c0, c1)
        if (base := self._cached(Buf.W, key)) is not None:
            return base
        per_q = (c1 - c0) // 3 if ps.k1 else (c1 - c0) * 3        # addresses per q
        base = self._next_half(Buf.W, (q1 - q0) * per_q)
        cb_all = ps.cin_p // P
        row = (cb_all // 3 if ps.k1 else cb_all * 3) * nb * P      # image bytes per q
        first = (c0 // 3 if ps.k1 else c0 * 3) * nb * P
        d = Load(Buf.W, ps.wq.ref(q0 * row + first), per_q * nb * P, n0=q1 - q0, s0=row,
                 base=base)
        self.emit(d, {"RdWt": d.nbytes})
        self.resident[Buf.W] = (key, base)
        return base

    # --- the C-Core: FP and BP ----------------------------------------------------------------

    def _fit_bands(self, name, mode, n, hs, ws, blocks_total, outer, mult):
        """Groups per band and the channel-block chunks: the largest band whose map (all
        blocks, or chunks of them) fits (half) the input buffer and whose sums fit the
        partial-sum buffer (all output groups' sums when the blocks come in chunks)."""
        cfg = self.cfg
        depth, pdepth = 1 << cfg.ibuf_bits, 1 << cfg.psum_bits
        per_row = ccore.row_transfers(mode, ws)
        if per_row > pdepth:
            raise CompileError(f"{name}: a row of {ws} columns makes {per_row} partial sums;"
                               f" the buffer holds {pdepth}: the map is too wide")
        for g_band in range(n, 0, -1):
            _, y0, y1 = ccore.band_rows(mode, 0, g_band, hs, cfg)
            per_blk = ibuf.entries(y1 - y0, ws, 1, cfg)
            room = depth // 2 if self.db and per_blk * mult <= depth // 2 else depth
            fit = room // per_blk
            if fit < mult:
                continue
            chunks = _chunks(blocks_total, min(fit, _up(blocks_total, mult)), mult)
            sums = g_band * per_row * (outer if len(chunks) > 1 else 1)
            if sums <= pdepth:
                return g_band, chunks
        raise CompileError(f"{name}: one row group of a {ws}-column map does not fit the "
                           f"input buffer ({depth} entries per bank) and partial-sum buffer "
                           f"({pdepth}) of '{cfg.name}'")

    def fp_bp(self, name, mode, ps, src, out, images, sub2=False, vectors=None, up2=False,
              out_vectors=False, before=None, after=None):
        """FP or BP of `images` (FC: [0], the batch as one map) on the C-Core; the sums to
        the 32-bit map `out`; before(b) is emitted before image b's first load (what makes
        its input), after(b) once image b's sums are stored. vectors: FC FP reads
        `src` as vectors of that many blocks; out_vectors: FC BP writes each image's vector
        (`store_map`); sub2: a stride-2 1x1 layer reads every other row and column; up2: its
        BP writes every other one.

        Weights that need several chunks stay in the buffer while every image passes (small
        maps, many channels: the weights then load once per batch, the small maps once per
        chunk); otherwise images go one by one, each through every chunk."""
        cfg, P, K = self.cfg, self.P, self.cfg.clusters
        ph, s, k = mode
        k1 = k == 1
        lanes = LANES if k1 else 1
        if vectors is not None:
            hs, ws, real = src.batch, 1, vectors
        elif sub2:
            hs, ws, real = -(-src.h // 2), -(-src.w // 2), -(-src.c // P)
        else:
            hs, ws, real = src.h, src.w, -(-src.c // P)
        fp = ph == Phase.FP
        outer = (ps.cout_p if fp else ps.cin_p) // (K * lanes)
        blocks_total = (ps.cin_p if fp else ps.cout_p) // P
        real = min(real, blocks_total)
        if k1 or (fp is False and s == 1):
            rows = hs
        elif fp:
            rows = conv.out_size(hs, 3, s, 1)
        else:
            rows = out.h // 2 + 1
        n = ccore.groups_for(mode, rows, cfg)
        mult = 3 if k1 else 1
        g_band, chunks = self._fit_bands(name, mode, n, hs, ws, blocks_total, outer, mult)
        per_row = ccore.row_transfers(mode, ws)
        # Weight chunks: output groups (FP) or input groups (BP) per chunk.
        wdepth = 1 << cfg.wbuf_bits
        cbc = chunks[0][1] - chunks[0][0]
        per_group = cbc if k1 else cbc * 3                 # entries per bank per group
        room = wdepth // 2 if self.db and per_group <= wdepth // 2 else wdepth
        if per_group > wdepth:
            raise CompileError(f"{name}: one output group's weights need {per_group} "
                               f"entries per bank; the weight buffer has {wdepth}")
        gchunks = _chunks(outer, room // per_group)
        step = ccore.step(mode, cfg)
        emit_blk = real - 1
        bands = [(g0, min(n, g0 + g_band)) for g0 in range(0, n, g_band)]

        def work(b, gsel):
            for g0, g1 in bands:
                base_, y0, y1 = ccore.band_rows(mode, g0, g1, hs, cfg)
                row_off = g0 * step - base_
                for c0, c1 in chunks:
                    cr = min(c1, real)
                    if cr <= c0:
                        continue
                    if vectors is not None:
                        xb = self.load_vectors(Buf.X, src, c0, cr, y0, y1)
                        hmap, wmap = y1 - y0, 1
                    else:
                        xb = self.load_map(Buf.X, src, b, c0, cr, y0, y1, sub2,
                                           "RdAct" if fp else "RdErr")
                        hmap, wmap = y1 - y0, ws
                    for o0, o1 in gsel:
                        if fp:
                            wb = self.load_weights(ps, o0 * lanes, o1 * lanes, c0, c1)
                            wblocks = c1 - c0
                        else:
                            wb = self.load_weights(ps, c0, c1, o0 * lanes, o1 * lanes)
                            wblocks = (o1 - o0) * lanes
                        for og in range(o0, o1):
                            # The chunk's blocks in one descriptor, summed into one output.
                            pb = 0 if len(chunks) == 1 else og * (g1 - g0) * per_row
                            t = Tile(mode, hmap, wmap, cr - c0, 0, base_, g1 - g0,
                                     wgroup=og - o0, wblk=0, wblocks=wblocks,
                                     first=int(c0 == 0), emit=int(cr - 1 == emit_blk),
                                     xbase=xb, wbase=wb, pbase=pb)
                            op = TileOp(t, cr - c0)
                            ccore.check_tile(t, cfg, op.nblk)
                            self.emit(op)
                            if cr - 1 == emit_blk:
                                self.store_map(op.sub(cfg, -1), out, b, row_off, o0, up2,
                                               out_vectors)

        if len(gchunks) > 1 and len(images) > 1:
            for b in images:
                if before:
                    before(b)
            for gc in gchunks:
                for b in images:
                    work(b, [gc])
            for b in images:
                if after:
                    after(b)
        else:
            for b in images:
                if before:
                    before(b)
                work(b, gchunks)
                if after:
                    after(b)

    def store_map(self, t, out, b, row_off, group_off, up2=False, vectors=False):
        """An emitting tile's sums -> the 32-bit map `out` (image b). vectors: the tile's
        rows are images and its channels each image's vector (FC)."""
        P, cfg = self.P, self.cfg
        nbytes = ccore.transfers(t, cfg) * cfg.clusters * cfg.wpus * 4 * (
            LANES * cfg.pe_rows if t.mode.k == 1 else 1)
        if vectors:
            d = Store(StoreLayout.MAP32, out.tensor.ref(0),
                      out_c=_up(out.c, P) * out.h * out.w, out_h=out.batch, out_w=1,
                      row_off=row_off, group_off=group_off, s_blk=4 * P,
                      s_row=out.image_bytes(P), s_col=0)
        else:
            d = Store(StoreLayout.MAP32, out.tensor.ref(out.offset(b, 0, 0, 0, P)),
                      out_c=_up(out.c, P), out_h=out.h, out_w=out.w, row_off=row_off,
                      group_off=group_off, s_blk=out.h * out.w * P * 4,
                      s_row=out.w * P * 4, s_col=P * 4, up2=int(up2))
        self.emit(d, {"WrSum": nbytes})

    # --- the C-Core: WG -----------------------------------------------------------------------

    def wg(self, name, ps, x, e, stride, vectors=None):
        """WG over the batch: windows of (output group, input block) pairs, P partial-sum
        addresses each, into which every image's bands accumulate; dw (a 1x1 or FC layer's:
        the centre tap of 3x3 WG) to the gradient image. FC (vectors: the input's blocks):
        the batch is one map of B rows by 1 column, the images' vectors (x) and errors (e)
        as rows: the centre tap of 3x3 WG over it is sum_b e[b, o] x[b, c]."""
        cfg, P, K = self.cfg, self.P, self.cfg.clusters
        depth, pdepth = 1 << cfg.ibuf_bits, 1 << cfg.psum_bits
        mode = Mode(Phase.WG, stride, 3)
        og_total, cb_total = ps.cout_p // K, ps.cin_p // P
        real = vectors if vectors is not None else -(-x.c // P)
        pairs = pdepth // P
        B = self.B
        hx, wx, he, we = (B, 1, B, 1) if vectors is not None else (x.h, x.w, e.h, e.w)
        images = [0] if vectors is not None else range(B)
        n = ccore.groups_for(mode, he, cfg)
        # Windows of ncb x nog pairs: every image's maps load once per window, so choose
        # the shape that loads the fewest buffer entries over the batch.
        x_blk = ibuf.entries(hx, wx, 1, cfg)
        e_blk = ibuf.entries(he, we, 1, cfg)

        def load_cost(ncb):
            nog = max(1, min(og_total, pairs // ncb))
            windows = -(-min(cb_total, real) // ncb) * -(-og_total // nog)
            return windows * (ncb * x_blk + nog * e_blk) * len(images), ncb
        ncb = min(load_cost(c) for c in range(1, min(cb_total, pairs) + 1))[1]
        nog = max(1, min(og_total, pairs // ncb))
        while True:
            g_band = next((g for g in range(n, 0, -1)
                           if self._wg_fits(mode, g, hx, wx, he, we, ncb, nog)), 0)
            if g_band:
                break
            if ncb > 1:
                ncb //= 2
            elif nog > 1:
                nog //= 2
            else:
                raise CompileError(f"{name}: one WG row group of a {wx}-column map does not "
                                   f"fit the input and error buffers ({depth} entries)")
        bands = [(g0, min(n, g0 + g_band)) for g0 in range(0, n, g_band)]
        layout = StoreLayout.WIMG32_C if ps.k1 else StoreLayout.WIMG32
        for oa in range(0, og_total, nog):
            ob = min(og_total, oa + nog)
            for ca in range(0, cb_total, ncb):
                cx = min(ca + ncb, real) - ca
                if cx <= 0:
                    continue                # blocks beyond the input: dw stays 0
                for b in images:
                    for bi, (g0, g1) in enumerate(bands):
                        base_, y0, y1 = ccore.band_rows(mode, g0, g1, hx, cfg)
                        ey0, ey1 = ccore.wg_error_rows(g0, g1, he, cfg)
                        if vectors is not None:
                            xb = self.load_vectors(Buf.X, x, ca, ca + cx, y0, y1)
                            eb_ = self.load_map(Buf.E, e, 0, oa, ob, ey0, ey1,
                                                category="RdErr")
                        else:
                            xb = self.load_map(Buf.X, x, b, ca, ca + cx, y0, y1)
                            eb_ = self.load_map(Buf.E, e, b, oa, ob, ey0, ey1,
                                                category="RdErr")
                        last = b == images[-1] and bi == len(bands) - 1
                        for og in range(oa, ob):
                            t = Tile(mode, y1 - y0, wx, cx, 0, base_, g1 - g0,
                                     eh=ey1 - ey0, ew=we, eblocks=ob - oa, eb=og - oa,
                                     first=int(b == 0 and bi == 0), emit=int(last),
                                     xbase=xb, ebase=eb_, pbase=(og - oa) * ncb * P)
                            op = TileOp(t, cx)
                            ccore.check_tile(t, cfg, cx)
                            self.emit(op)
                            if last:
                                self.emit(Store(layout, ps.g.ref(0), out_c=ps.cout_p,
                                                out_h=ps.cout_p, out_w=1, cb_off=ca,
                                                eb_off=oa, cblocks=cb_total, count=cx),
                                          {"WrGrad": cx * P * K * (1 if ps.k1 else 9) * 4})

    def _wg_fits(self, mode, g, hx, wx, he, we, ncb, nog):
        _, y0, y1 = ccore.band_rows(mode, 0, g, hx, self.cfg)
        ey0, ey1 = ccore.wg_error_rows(0, g, he, self.cfg)
        depth = 1 << self.cfg.ibuf_bits
        return (ibuf.entries(y1 - y0, wx, ncb, self.cfg) <= depth
                and ibuf.entries(ey1 - ey0, we, nog, self.cfg) <= depth)
