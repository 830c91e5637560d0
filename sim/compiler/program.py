"""The program as bytes (what the controller fetches from DRAM) and as text.

`encode` packs each descriptor strictly (`hw.isa.program.encode`) into WORD_BYTES
little-endian bytes; `decode` is its inverse and refuses a malformed word; `disassemble`
prints one line per descriptor with its unit, fields, tokens, and the scalar slots by name.
"""

from dataclasses import fields

from hw.isa.program import (WORD_BYTES, Op, Unit, decode as decode_word,
                            encode as encode_word, line_bytes)

__all__ = ["encode", "decode", "disassemble"]


def encode(descs, cfg):
    return b"".join(encode_word(cfg, d).to_bytes(WORD_BYTES, "little") for d in descs)


def decode(data, cfg):
    if len(data) % WORD_BYTES:
        raise ValueError(f"a program is whole {WORD_BYTES}-byte words, not {len(data)} bytes")
    out = []
    for i in range(0, len(data), WORD_BYTES):
        try:
            out.append(decode_word(cfg, int.from_bytes(data[i:i + WORD_BYTES], "little")))
        except ValueError as exc:
            raise ValueError(f"word {i // WORD_BYTES}: {exc}") from None
    return out


def _units(bits):
    return "+".join(u.name for u in Unit if bits & u) or "-"


LINE_FIELDS = ("x0", "x1", "x2", "fl_in", "raw0", "code0", "out1", "fl_out", "emit", "param",
               "state")


def _value(name, v, slots, line):
    if name in ("shift", "cap", "emax", "sa", "sb", "d", "a", "b") and slots is not None:
        return f"S[{slots.get(v, v)}]"
    if hasattr(v, "name"):
        return v.name
    if name == "addr":
        return hex(v)
    if name in LINE_FIELDS:
        return f"@{v * line:#x}"
    return str(v)


def _shown(name, v):
    """Fields worth printing: set ones (a count of 1 is the default)."""
    if name in ("count", "nblk", "images", "groups", "img_total", "grp_total"):
        return v != 1
    if hasattr(v, "value"):                     # an enum: formats only when given
        return not name.endswith("_fmt") or v.value != 0
    return bool(v) or name == "addr"


def disassemble(descs, cfg=None, meta=None, slots=None):
    """Text, one descriptor per line: index, unit, op, the fields that are not zero, tokens,
    and (with meta) the layer and phase it belongs to."""
    names = {v: k for k, v in (slots or {}).items()} if slots else None
    line = line_bytes(cfg) if cfg is not None else 1
    lines = []
    for i, d in enumerate(descs):
        unit = d.unit.name if d.unit is not None else "--"
        parts = []
        if d.op == Op.TILE:
            t = d.tile
            parts.append(repr(t.mode))
            for f in fields(t)[1:]:
                v = getattr(t, f.name)
                if v or f.name in ("cb", "row0"):
                    parts.append(f.name if f.name in ("first", "emit") else f"{f.name}={v}")
            if d.nblk > 1:
                parts.append(f"x{d.nblk}")
        else:
            for f in fields(d):
                if f.name in ("wait", "signal"):
                    continue
                v = getattr(d, f.name)
                if _shown(f.name, v):
                    parts.append(f"{f.name}={_value(f.name, v, names, line)}")
        tok = ""
        if d.wait or d.signal:
            tok = f"  wait {_units(d.wait)} signal {_units(d.signal)}"
        where = f"  ; {meta[i][0]} {meta[i][1]}" if meta and meta[i][0] else ""
        lines.append(f"{i:7d}  {unit:2}  {d.op.name:5} {' '.join(parts)}{tok}{where}")
    return "\n".join(lines)
