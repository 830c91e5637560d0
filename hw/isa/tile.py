"""The C-Core tile descriptor: what one tile of a layer streams through the array.

A tile runs a band of `groups` row groups (first output row `row0`, in the map's own rows) of
the map in the input buffer (`h` x `w`, `blocks` channel blocks, stored from entry `xbase`),
streaming channel block `cb`, with the weights read at (`wgroup`, `wblk`) of a layer of
`wblocks` blocks stored from entry `wbase` (not WG), or, for WG, against channel block `eb` of
the error map in the error buffer (`eh` x `ew`, `eblocks`, from entry `ebase`). Its array
transfers accumulate into the partial-sum buffer from address `pbase`: `first` restarts the
sums, `emit` sends the new sums out. `sim.golden.ccore` says what each field means beat by
beat; `hw.ccore` runs it.
"""

from dataclasses import dataclass, fields, replace

from amaranth.lib import data

from .modes import Mode, pe_mode_layout
from .pack import pack, unpack

__all__ = ["Tile", "ccore_tile_layout"]


def ccore_tile_layout(cfg):
    nb = cfg.pe_rows * cfg.wpus
    ent = range((1 << cfg.ibuf_bits) + 1)
    rows = range((nb << cfg.ibuf_bits) + 1)
    cols = range((2 << cfg.ibuf_bits) + 1)
    wa = range((1 << cfg.wbuf_bits) + 1)
    return data.StructLayout({
        "mode": pe_mode_layout(),
        "h": rows, "w": cols,               # the map in the input buffer
        "blocks": ent, "cb": ent,           # its channel blocks, the one this tile streams
        "row0": rows, "groups": rows,       # the band: first output row, row groups
        "wgroup": wa, "wblk": wa, "wblocks": wa,    # the weight read (WeightBuffer.rd)
        "eh": rows, "ew": cols, "eblocks": ent, "eb": ent,   # WG: the error map, its block
        "first": 1,                         # the sums restart with this tile
        "emit": 1,                          # the new sums leave on `o`
        "xbase": range(1 << cfg.ibuf_bits),  # where the maps and weights start in their
        "ebase": range(1 << cfg.ibuf_bits),  # buffers (entries), and the tile's sums in the
        "wbase": range(1 << cfg.wbuf_bits),  # partial-sum buffer (addresses)
        "pbase": range(1 << cfg.psum_bits),
    })


@dataclass(frozen=True)
class Tile:
    """One tile descriptor (fields as in `ccore_tile_layout`)."""
    mode: Mode
    h: int
    w: int
    blocks: int
    cb: int
    row0: int
    groups: int
    wgroup: int = 0
    wblk: int = 0
    wblocks: int = 0
    eh: int = 0
    ew: int = 0
    eblocks: int = 0
    eb: int = 0
    first: int = 1
    emit: int = 1
    xbase: int = 0
    ebase: int = 0
    wbase: int = 0
    pbase: int = 0

    def __post_init__(self):
        if not isinstance(self.mode, Mode):
            object.__setattr__(self, "mode", Mode(*self.mode))
        for name in _INT_FIELDS:
            v = getattr(self, name)
            if type(v) is not int:
                if isinstance(v, bool):
                    object.__setattr__(self, name, int(v))
                elif not isinstance(v, int):
                    raise TypeError(f"Tile.{name} must be an int, not {v!r}")

    def as_dict(self):
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["mode"] = self.mode.bits
        return d

    def pack(self, cfg):
        """The descriptor as the integer of `ccore_tile_layout(cfg)`; raises if a field does
        not fit."""
        return pack(ccore_tile_layout(cfg), self.as_dict(), "tile")

    @classmethod
    def unpack(cls, cfg, bits):
        return cls.from_fields(unpack(ccore_tile_layout(cfg), bits))

    @classmethod
    def from_fields(cls, d):
        """From the layout's fields (as `unpack` gives them); an undefined mode raises."""
        return cls(**{**d, "mode": Mode.from_bits(d["mode"])})

    def replace(self, **changes):
        return replace(self, **changes)


_INT_FIELDS = [f.name for f in fields(Tile)][1:]
