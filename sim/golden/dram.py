"""The DRAM layouts the program's tensors use (the DMA's and the A-Core's side of memory).

Little-endian throughout. A tensor starts on a line (`hw.isa.program.line_bytes`).

- **Map** [B, C, H, W] with `blk` = apus channels per block (= the C-Core's pe_cols and
  clusters): element (b, c, y, x) at (((b CG + c div blk) H + y) W + x) blk eb + (c mod blk) eb,
  CG = ceil(C / blk), eb = 1 (PINT codes), 4 or 8 bytes. A row of one block is W blk eb
  contiguous bytes (what the DMA bursts), and one pixel of a block is one A-Core beat: the
  A-Core's operand (image i, channel group g, element n = y W + x) is the same formula.
- **Flags** (TLU bitmap): one beat per element, ceil(apus / 8) bytes, bit k for lane k.
- **Emits** (words an A-Core program EMITs per channel): [J][CG][B][apus] int64, word j of
  (image b, channel g apus + k); each word's [CG][B][apus] block starts on a line
  (`emit_stride`), so one word of every channel is a tensor of its own.
- **Weight image**: a layer's weights in the weight buffer's entry order, entry (bank,
  address) at (address 3 clusters + bank) P elements, P = pe_cols consecutive input channels
  per entry (`sim.golden.weight_buffer.bank_of`); PINT codes (1 byte), master weights,
  velocities and gradients (4 bytes) alike, so SGD streams them element by element.
- **FRN parameters**: [3][CG apus] int32: gamma, beta, tau (Q.param_frac masters), each row
  padded to a whole number of lines (`param_row_bytes`) so SGD can take one row as a tensor.
- **SGD coefficients**: [m_c, lr_c, lr_sh] int32, written by the host each step.
"""

import numpy as np

from sim.golden import weight_buffer as wbuf

__all__ = ["DTYPES", "map_bytes", "map_offset", "put_map", "get_map", "flag_bytes",
           "put_flags", "get_flags", "param_row_bytes", "emit_stride", "emit_offset",
           "emit_bytes", "wimg_order", "wimg_elements", "put", "get"]

DTYPES = {1: np.uint8, 4: np.dtype("<i4"), 8: np.dtype("<i8")}


def _groups(c, blk):
    return -(-c // blk)


def map_bytes(shape, eb, blk):
    b, c, h, w = shape
    return b * _groups(c, blk) * h * w * blk * eb


def map_offset(shape, eb, blk, b, c, y, x):
    _, cc, h, w = shape
    return ((((b * _groups(cc, blk) + c // blk) * h + y) * w + x) * blk + c % blk) * eb


def put(dram, addr, values, eb):
    raw = np.ascontiguousarray(np.asarray(values).astype(DTYPES[eb])).view(np.uint8).ravel()
    if addr < 0 or addr + raw.size > dram.size:
        raise IndexError(f"DRAM write [{addr:#x}, {addr + raw.size:#x}) outside the "
                         f"{dram.size:#x}-byte image")
    dram[addr:addr + raw.size] = raw


def get(dram, addr, count, eb):
    if addr < 0 or addr + count * eb > dram.size:
        raise IndexError(f"DRAM read [{addr:#x}, {addr + count * eb:#x}) outside the "
                         f"{dram.size:#x}-byte image")
    return dram[addr:addr + count * eb].view(DTYPES[eb]).astype(np.int64)


def put_map(dram, addr, x, eb, blk):
    """Write x [B, C, H, W] (padding channels as zeros)."""
    x = np.asarray(x)
    b, c, h, w = x.shape
    cg = _groups(c, blk)
    xp = np.zeros((b, cg * blk, h, w), np.int64)
    xp[:, :c] = x
    put(dram, addr, xp.reshape(b, cg, blk, h, w).transpose(0, 1, 3, 4, 2), eb)


def get_map(dram, addr, shape, eb, blk):
    b, c, h, w = shape
    cg = _groups(c, blk)
    flat = get(dram, addr, b * cg * h * w * blk, eb)
    return flat.reshape(b, cg, h, w, blk).transpose(0, 1, 4, 2, 3).reshape(b, cg * blk, h, w)[:, :c]


def param_row_bytes(channels, line):
    return -(-channels * 4 // line) * line


def flag_bytes(apus):
    return -(-apus // 8)


def put_flags(dram, addr, bits):
    """bits [B, CG, apus, N] (0/1) -> one beat of flag bytes per (b, g, n)."""
    bits = np.asarray(bits, np.int64)
    b, cg, apus, n = bits.shape
    fb = flag_bytes(apus)
    word = (bits << np.arange(apus)[None, None, :, None]).sum(axis=2)        # [B, CG, N]
    out = np.stack([(word >> (8 * i)) & 0xFF for i in range(fb)], axis=-1)   # [B, CG, N, fb]
    put(dram, addr, out, 1)


def get_flags(dram, addr, shape):
    """shape (B, CG, apus, N) -> bits."""
    b, cg, apus, n = shape
    fb = flag_bytes(apus)
    raw = get(dram, addr, b * cg * n * fb, 1).reshape(b, cg, n, fb)
    word = sum(raw[..., i] << (8 * i) for i in range(fb))
    return ((word[:, :, None, :] >> np.arange(apus)[None, None, :, None]) & 1)


def emit_stride(groups, images, apus, line):
    return -(-groups * images * apus * 8 // line) * line


def emit_bytes(words, groups, images, apus, line):
    return words * emit_stride(groups, images, apus, line)


def emit_offset(j, g, i, groups, images, apus, line):
    """Byte offset of word j of (image i, channel group g) in an emit tensor."""
    return j * emit_stride(groups, images, apus, line) + (g * images + i) * apus * 8


def wimg_elements(cout_p, cin_p, k1, cfg):
    """Elements of a weight image: entries per bank x banks x P."""
    return wbuf.entries(cout_p, cin_p, k1, cfg) * 3 * cfg.clusters * cfg.pe_cols


def wimg_order(cout_p, cin_p, k1, cfg):
    """Index array: position in the weight image of each weight, shaped [cout_p, cin_p] (1x1)
    or [cout_p, cin_p, 3, 3]."""
    p, nb = cfg.pe_cols, 3 * cfg.clusters
    blocks = cin_p // p
    shape = (cout_p, cin_p) if k1 else (cout_p, cin_p, 3, 3)
    out = np.zeros(shape, np.int64)
    for o in range(cout_p):
        for c in range(cin_p):
            for u, v in ([(0, 0)] if k1 else [(u, v) for u in range(3) for v in range(3)]):
                bank, addr = wbuf.bank_of(o, c // p, u, v, k1, blocks, cfg)
                idx = (addr * nb + bank) * p + c % p
                out[(o, c) if k1 else (o, c, u, v)] = idx
    return out
