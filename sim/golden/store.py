"""The STORE unit's golden model: where one emitted tile's sums go in DRAM.

`writes(d, t, rows, cfg)`: the 32-bit words a STORE `d` writes for the emitted tile `t`
(its sums `rows[address][lane] = (value, ovf)`), placed by the tile's own fields plus the
descriptor's offsets (`sim.golden.ccore.tile_places`):

- MAP32: channel c, row y, column x at `addr + (c div G) s_blk + 4 (c mod G) + y s_row +
  x s_col` (G = apus); channels from `out_c` on are not written. `up2`: the tile's outputs
  are every other row and column of an out_h x out_w map, zeros between them.
- WIMG32: 3x3 dw at `addr + 4 pos`, pos its place in the weight image
  (`dram.wimg_order(out_h, cblocks P)`: out_h is the padded output channels).
- WIMG32_C: only the centre tap, in a 1x1 layer's image order.
"""

from functools import lru_cache

from hw.isa.program import StoreLayout
from sim.golden import ccore, dram

__all__ = ["writes", "placed"]


def placed(d, t):
    """The tile as the STORE places it: its fields plus the descriptor's offsets."""
    return t.replace(row0=t.row0 + d.row_off, wgroup=t.wgroup + d.group_off,
                     cb=t.cb + d.cb_off, eb=t.eb + d.eb_off)


@lru_cache(maxsize=64)
def _order(layout, cout_p, cblocks, cfg):
    return dram.wimg_order(cout_p, cblocks * cfg.pe_cols, layout == StoreLayout.WIMG32_C, cfg)


def writes(d, t, rows, cfg):
    """-> (addresses, values, overflows): one 32-bit word each, in no particular order."""
    G = cfg.apus
    t = placed(d, t)
    # up2: the tile's outputs are every other row and column of the stored map.
    oh, ow = (-(-d.out_h // 2), -(-d.out_w // 2)) if d.up2 else (d.out_h, d.out_w)
    places = ccore.tile_places(t, oh, ow, cfg)
    addrs, vals, ovfs = [], [], 0
    if d.layout == StoreLayout.MAP32:
        for (a, lane), (ch, y, x) in places.items():
            if ch >= d.out_c:
                continue
            v, o = rows[a][lane]
            ovfs += int(o)
            off = (ch // G) * d.s_blk + (ch % G) * 4
            if d.up2:
                for dy in (0, 1):
                    for dx in (0, 1):
                        if 2 * y + dy < d.out_h and 2 * x + dx < d.out_w:
                            addrs.append(d.addr + off + (2 * y + dy) * d.s_row
                                         + (2 * x + dx) * d.s_col)
                            vals.append(v if dy == dx == 0 else 0)
            else:
                addrs.append(d.addr + off + y * d.s_row + x * d.s_col)
                vals.append(v)
        return addrs, vals, ovfs
    order = _order(d.layout, d.out_h, d.cblocks, cfg)
    for (a, lane), (o, c, u, v_) in places.items():
        if d.layout == StoreLayout.WIMG32_C and (u, v_) != (1, 1):
            continue
        val, ovf = rows[a][lane]
        ovfs += int(ovf)
        pos = order[o, c] if d.layout == StoreLayout.WIMG32_C else order[o, c, u, v_]
        addrs.append(d.addr + 4 * int(pos))
        vals.append(val)
    return addrs, vals, ovfs
