"""The accelerator's program: fixed-width descriptors that the global controller fetches
from DRAM, decodes and dispatches to four units in order.

Units: LD (the DMA's reads into the input, error and weight buffers), CC (the C-Core, one
tile per descriptor), AC (the A-Core: program runs, and the scalar table), ST (the DMA's
writes of the C-Core's emitted sums). Each unit runs its descriptors in program order; across
units, order exists only where the program says so, with tokens: a descriptor of unit U whose
`wait` names unit V starts only after taking one token that V gave U; one whose `signal`
names V gives V a token when it completes (VTA's dependency queues). END and HOST wait until
every unit is idle.

Every descriptor is one `WORD_BITS` word: op, wait and signal in the low 12 bits, then the
kind's fields (`layout(cfg, op)`). Packing is strict (`hw.isa.pack`): a field that is
missing, unknown or does not fit raises, and decoding refuses set bits beyond the layout.
"""

from dataclasses import dataclass, field, fields

from amaranth.hdl import signed
from amaranth.lib import data, enum

from .apu import Program
from .pack import pack, unpack, width
from .tile import Tile, ccore_tile_layout

__all__ = ["WORD_BITS", "WORD_BYTES", "SLOTS", "Op", "Unit", "Buf", "Fmt", "READS",
           "operand_format", "StoreLayout",
           "ScaleOp", "Load", "TileOp", "Store", "ACoreRun", "Scale", "Sync", "Host", "End",
           "layout", "encode", "decode", "UNIT_OF", "addr_shape", "line_bytes", "KINDS"]

WORD_BITS = 512          # one descriptor: one beat of a 512-bit AXI bus
WORD_BYTES = WORD_BITS // 8
SLOTS = 1024             # the scalar table: S[0] reads 0


class Op(enum.Enum, shape=4):
    END = 0
    LOAD = 1
    TILE = 2
    STORE = 3
    ACORE = 4
    SCALE = 5
    SYNC = 6
    HOST = 7


class Unit(enum.IntFlag):
    """Units, as bits of `wait` and `signal`."""
    LD = 1
    CC = 2
    AC = 4
    ST = 8


UNIT_OF = {Op.LOAD: Unit.LD, Op.TILE: Unit.CC, Op.STORE: Unit.ST, Op.ACORE: Unit.AC,
           Op.SCALE: Unit.AC}


class Buf(enum.Enum, shape=2):
    """On-chip buffers a LOAD writes."""
    X = 0       # input buffer (the map the C-Core streams)
    E = 1       # error buffer (WG's second map)
    W = 2       # weight buffer


class Fmt(enum.Enum, shape=2):
    """An A-Core operand in DRAM: absent, PINT codes (decoded on the way in, converted on the
    way out), 32-bit or 64-bit integers."""
    NONE = 0
    CODE = 1
    I32 = 2
    I64 = 3

    @property
    def bytes(self):
        return {0: 0, 1: 1, 2: 4, 3: 8}[self.value]


# What each program a run starts reads per element, and in which format (None: the
# descriptor's own `x0_fmt` / `x1_fmt`); "fl": the flag bitmap. The golden machine and the
# A-Core's operand streams both read this table.
READS = {
    Program.FRN_FP: {"x0": Fmt.I32},
    Program.FRN_BP: {"x0": Fmt.I32, "x1": Fmt.CODE, "fl": Fmt.CODE},
    Program.SUM: {"x0": Fmt.I64},
    Program.SGD: {"x0": None, "x1": Fmt.I32, "x2": Fmt.I32},
    Program.ADD: {"x0": None, "x1": None},
    Program.COPY: {"x0": None},
}


def operand_format(run, name):
    """The format in which run `run` (an ACoreRun) reads operand `name` (x0, x1, x2, fl):
    Fmt.NONE if it does not."""
    reads = READS.get(run.prog)
    if reads is None:
        raise ValueError(f"{run.prog.name} is not a program a run starts")
    fmt = reads.get(name, Fmt.NONE)
    return getattr(run, f"{name}_fmt") if fmt is None else fmt


class StoreLayout(enum.Enum, shape=2):
    """Where a STORE puts an emitting tile's sums (32-bit each)."""
    MAP32 = 0       # an output map: channel c, row y, column x at
                    # addr + (c div G) s_blk + y s_row + x s_col + 4 (c mod G)
    WIMG32 = 1      # 3x3 WG: dw in the weight buffer's image order (`weight_image` offsets)
    WIMG32_C = 2    # 3x3 WG whose centre tap is a 1x1 layer's dw, in that layer's image order


class ScaleOp(enum.Enum, shape=2):
    SET = 0         # S[d] = imm
    ADD = 1         # S[d] = S[a] + S[b] + imm
    SUB = 2         # S[d] = S[a] - S[b] + imm
    MAX = 3         # S[d] = max(S[a], S[b]) + imm


def addr_shape(cfg):
    """A DRAM byte address."""
    return cfg.dram_addr_bits


def line_bytes(cfg):
    """What every DRAM tensor is aligned to: 64 bytes, or one bus beat if that is wider. The
    A-Core's operands are whole tensors, so its descriptor names them in lines."""
    return max(64, cfg.axi_bytes)


def _header():
    return {"op": Op, "wait": 4, "signal": 4}


def layout(cfg, op):
    """The StructLayout of one descriptor kind (header included) for a configuration."""
    op = Op(op)
    a = addr_shape(cfg)
    line = a - (line_bytes(cfg).bit_length() - 1)     # a line-aligned address, in lines
    n12, n16, s32 = 12, 16, 32
    slot = range(SLOTS)
    body = {
        Op.END: {},
        Op.SYNC: {"unit": 2},
        Op.HOST: {"step": 16},
        Op.LOAD: {"buf": Buf, "addr": a, "elem": n16,
                  "n0": n16, "s0": s32, "n1": n16, "s1": s32, "n2": n16, "s2": s32,
                  "w": range((2 << cfg.ibuf_bits) + 1),
                  "rows": range((cfg.pe_rows * cfg.wpus << cfg.ibuf_bits) + 1),
                  "blocks": range((1 << cfg.ibuf_bits) + 1),
                  "base": range(1 << max(cfg.ibuf_bits, cfg.wbuf_bits))},
        Op.TILE: {"tile": ccore_tile_layout(cfg), "nblk": range(1, (1 << cfg.ibuf_bits) + 1)},
        Op.STORE: {"layout": StoreLayout, "addr": a, "out_c": n16, "out_h": n16, "out_w": n16,
                   "row_off": signed(16), "group_off": n16, "cb_off": n16,
                   "eb_off": n16, "s_blk": s32, "s_row": s32, "s_col": s32, "cblocks": n16,
                   "up2": 1, "count": range(1, (1 << cfg.ibuf_bits) + 1)},
        Op.ACORE: {"prog": Program, "n": range(1, cfg.acore.max_n + 1),
                   "images": n12, "groups": n12, "i0": n12, "g0": n12, "img_total": n12,
                   "grp_total": n12, "chans": n16,
                   "x0": line, "x0_fmt": Fmt, "x1": line, "x1_fmt": Fmt, "x2": line,
                   "fl_in": line, "raw0": line, "code0": line, "out1": line, "out1_fmt": Fmt,
                   "fl_out": line, "emit": line, "param": line, "state": line,
                   "shift": slot, "cap": slot, "emax": slot, "sa": slot, "sb": slot,
                   "stochastic": 1, "clear_max": 1, "shift1": cfg.shift_bits},
        Op.SCALE: {"sop": ScaleOp, "d": slot, "a": slot, "b": slot, "imm": signed(32)},
    }[op]
    lay = data.StructLayout({**_header(), **body})
    assert width(lay) <= WORD_BITS, f"{op.name} needs {width(lay)} bits"
    return lay


# --- One dataclass per kind -----------------------------------------------------------------

@dataclass(frozen=True)
class _Desc:
    wait: int = field(default=0, kw_only=True)
    signal: int = field(default=0, kw_only=True)

    def _body(self):
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("wait", "signal")}

    @property
    def unit(self):
        return UNIT_OF.get(self.op)


@dataclass(frozen=True)
class Load(_Desc):
    """DRAM -> a buffer: `n2` x `n1` x `n0` elements of `elem` bytes, element (i2, i1, i0) at
    addr + i2 s2 + i1 s1 + i0 s0, streamed in that order. X/E: the stream fills a map of
    `blocks` channel blocks x `rows` rows x `w` columns, block by block, row by row, P
    codes per column, stored from entry `base`; W: consecutive P-code entries, entry i in
    bank i mod (3 clusters) at address base + i div (3 clusters)."""
    op = Op.LOAD
    buf: Buf
    addr: int
    elem: int
    n0: int = 1
    s0: int = 0
    n1: int = 1
    s1: int = 0
    n2: int = 1
    s2: int = 0
    w: int = 0
    rows: int = 0
    blocks: int = 0
    base: int = 0

    @property
    def nbytes(self):
        return self.n0 * self.n1 * self.n2 * self.elem


@dataclass(frozen=True)
class TileOp(_Desc):
    """`nblk` C-Core tiles (`hw.isa.tile.Tile`) of consecutive channel blocks, from the
    tile given (the controller sends them one by one; `tiles()`): FP and BP sum the blocks
    (cb and wblk advance; `first` on the first, `emit` on the last), WG keeps a block's dw
    apart (cb advances, and pbase by pe_cols)."""
    op = Op.TILE
    tile: Tile
    nblk: int = 1

    def tiles(self, cfg):
        return [self.sub(cfg, j) for j in range(self.nblk)]

    def sub(self, cfg, j):
        """The j-th of the tiles (j = -1: the last)."""
        j = j % self.nblk
        t = self.tile
        if self.nblk == 1:
            return t
        if t.mode.phase == 2:                   # WG
            return t.replace(cb=t.cb + j, pbase=t.pbase + j * cfg.pe_cols)
        return t.replace(cb=t.cb + j, wblk=t.wblk + j, first=int(t.first and j == 0),
                         emit=int(t.emit and j == self.nblk - 1))


@dataclass(frozen=True)
class Store(_Desc):
    """The sums of the C-Core's next emitting tile -> DRAM, 32 bits each. The tile's rows,
    groups and channels are its own: output row = tile row + `row_off` (in the tile's group
    base unit), output channel group = wgroup + `group_off` (WG: cb + `cb_off` and eb +
    `eb_off`); outputs beyond `out_c` channels and `out_h` x `out_w` are dropped. `up2`:
    each value lands at (2y, 2x) and zeros at the other three (a stride-2 1x1 layer's BP).
    WIMG layouts: `out_h` is the layer's (padded) output channels, `cblocks` its
    input-channel blocks. `count`: the next that many emitting tiles, each placed by its
    own fields."""
    op = Op.STORE
    layout: StoreLayout
    addr: int
    out_c: int
    out_h: int
    out_w: int
    row_off: int = 0
    group_off: int = 0
    cb_off: int = 0
    eb_off: int = 0
    s_blk: int = 0
    s_row: int = 0
    s_col: int = 0
    cblocks: int = 0
    up2: int = 0
    count: int = 1


@dataclass(frozen=True)
class ACoreRun(_Desc):
    """One A-Core program over `images` x `groups` channel sets (images i0.., channel groups
    g0.. of tensors holding img_total x grp_total sets); APU k takes channel g apus + k,
    N = `n` elements of it; channels from `chans` on are padding. Operands are tensors
    (addresses in lines; 0: none): element inputs x0, x1 (`Fmt`), x2 (32-bit), flags in;
    outputs out0 as 32-bit words (raw0) and as PINT codes from converter 0 (code0), out1
    (`out1_fmt`: raw, or codes from converter 1), flags out, EMIT words (emit). `param`:
    FRN parameters or SGD coefficients; `state`: what FRN forward emitted. The scalar table
    gives converter 0's shift (S[shift]); S[cap] receives the next shift, S[emax] the largest
    FRN exponent (FRN_FP: a running max; FRN_BP: read), S[sa] and S[sb] the exponents of
    ADD's operands or SGD's gradient and velocity. Layouts: `sim.golden.dram`."""
    op = Op.ACORE
    prog: Program
    n: int
    images: int = 1
    groups: int = 1
    i0: int = 0
    g0: int = 0
    img_total: int = 1
    grp_total: int = 1
    chans: int = 0
    x0: int = 0
    x0_fmt: Fmt = Fmt.NONE
    x1: int = 0
    x1_fmt: Fmt = Fmt.NONE
    x2: int = 0
    fl_in: int = 0
    raw0: int = 0
    code0: int = 0
    out1: int = 0
    out1_fmt: Fmt = Fmt.NONE
    fl_out: int = 0
    emit: int = 0
    param: int = 0
    state: int = 0
    shift: int = 0
    cap: int = 0
    emax: int = 0
    sa: int = 0
    sb: int = 0
    stochastic: int = 0
    clear_max: int = 0
    shift1: int = 0


@dataclass(frozen=True)
class Scale(_Desc):
    """One operation on the scalar table (exponents and shifts), run by the A-Core's unit in
    order with its program runs."""
    op = Op.SCALE
    sop: ScaleOp
    d: int
    a: int = 0
    b: int = 0
    imm: int = 0


@dataclass(frozen=True)
class Sync(_Desc):
    """Nothing but tokens, in unit `unit`'s queue."""
    op = Op.SYNC
    unit_: Unit = Unit.LD

    @property
    def unit(self):
        return Unit(self.unit_)


@dataclass(frozen=True)
class Host(_Desc):
    """Every unit idles; the controller stops with status 'host step' and the host runs
    step `step` (softmax, a layer the hardware cannot run), then resumes the program."""
    op = Op.HOST
    step: int


@dataclass(frozen=True)
class End(_Desc):
    op = Op.END


KINDS = {Op.LOAD: Load, Op.TILE: TileOp, Op.STORE: Store, Op.ACORE: ACoreRun, Op.SCALE: Scale,
         Op.SYNC: Sync, Op.HOST: Host, Op.END: End}
_UNIT_BITS = {Unit.LD: 0, Unit.CC: 1, Unit.AC: 2, Unit.ST: 3}


def _fields(cfg, d):
    body = d._body()
    if isinstance(d, TileOp):
        body = {"tile": d.tile.as_dict(), "nblk": d.nblk}
    elif isinstance(d, Sync):
        body = {"unit": _UNIT_BITS[Unit(d.unit_)]}
    return {"op": d.op, "wait": int(d.wait), "signal": int(d.signal), **body}


def encode(cfg, d):
    """A descriptor -> its WORD_BITS integer; raises naming the field that does not fit."""
    if type(d) not in KINDS.values():
        raise TypeError(f"not a descriptor: {d!r}")
    if d.op in (Op.END, Op.HOST) and (d.wait or d.signal):
        raise ValueError(f"{d.op.name} waits for every unit itself: no tokens")
    return pack(layout(cfg, d.op), _fields(cfg, d), d.op.name)


def decode(cfg, word):
    """A WORD_BITS integer -> its descriptor; raises ValueError for an undefined op or set
    bits beyond the kind's layout."""
    if not 0 <= word < 1 << WORD_BITS:
        raise ValueError(f"a descriptor is {WORD_BITS} bits")
    op_bits = word & 0xF
    if op_bits not in {o.value for o in Op}:
        raise ValueError(f"undefined op {op_bits}")
    op = Op(op_bits)
    lay = layout(cfg, op)
    if word >> width(lay):
        raise ValueError(f"{op.name}: bits set beyond its {width(lay)}-bit layout")
    f = unpack(lay, word)
    head = {"wait": f.pop("wait"), "signal": f.pop("signal")}
    f.pop("op")
    if op == Op.TILE:
        return TileOp(Tile.from_fields(f["tile"]), f["nblk"], **head)
    if op == Op.SYNC:
        return Sync(unit_=[u for u, b in _UNIT_BITS.items() if b == f["unit"]][0], **head)
    if op == Op.STORE:
        f["layout"] = StoreLayout(f["layout"])
    if op == Op.SCALE:
        f["sop"] = ScaleOp(f["sop"])
    if op == Op.LOAD:
        f["buf"] = Buf(f["buf"])
    if op == Op.ACORE:
        f["prog"] = Program(f["prog"])
        for k in ("x0_fmt", "x1_fmt", "out1_fmt"):
            f[k] = Fmt(f[k])
    return KINDS[op](**f, **head)
