"""Strict packing of nested values into the integers that amaranth.lib.data layouts store.

`pack(layout, value)`: a StructLayout takes a mapping with exactly its fields, an ArrayLayout
a sequence of exactly its length, an enum-shaped field a member of that enum (or the integer
of one), a plain field an int that fits its width and signedness, a `range` field a value in
the range. A field whose shape is itself a layout may also be given as an int: its raw bits
(a PINT code), which must fit.
Anything missing, unknown or too wide raises ValueError or TypeError naming the field.
`unpack` is the inverse; it returns plain ints for enum fields.
"""

import enum as py_enum
from collections.abc import Mapping, Sequence

from amaranth.hdl import Shape
from amaranth.lib import data

__all__ = ["pack", "unpack", "width"]


def width(shape):
    return Shape.cast(shape).width


def _is_enum(shape):
    return isinstance(shape, type) and issubclass(shape, py_enum.Enum)


def _int(value, what):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, py_enum.Enum):
        raise TypeError(f"{what}: an enum member ({value!r}) given for a plain field")
    try:
        return int(value.__index__())
    except (AttributeError, TypeError):
        raise TypeError(f"{what} must be an int, not {value!r}") from None


def pack(layout, value, what="value"):
    """Nested mappings / sequences / ints -> the layout's integer (see the module doc)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{what} must be a number, mapping or sequence, not {value!r}")
    if isinstance(layout, data.Layout) and not isinstance(value, (Mapping, Sequence)):
        bits = _int(value, what)
        w = width(layout)
        if not 0 <= bits < 1 << w:
            raise ValueError(f"{what} = {bits} is not {w} raw bits")
        return bits
    if isinstance(layout, data.ArrayLayout):
        if not isinstance(value, Sequence) or len(value) != layout.length:
            n = len(value) if isinstance(value, Sequence) else "not a sequence"
            raise ValueError(f"{what} must have {layout.length} elements, not {n}")
        w = width(layout.elem_shape)
        bits = 0
        for i, item in enumerate(value):
            bits |= pack(layout.elem_shape, item, f"{what}[{i}]") << (i * w)
        return bits
    if isinstance(layout, data.StructLayout):
        if not isinstance(value, Mapping):
            raise TypeError(f"{what} must be a mapping of fields, not {value!r}")
        names = {name for name, _ in layout}
        unknown = sorted(set(value) - names)
        missing = sorted(names - set(value))
        if unknown:
            raise ValueError(f"{what}: unknown field(s) {', '.join(unknown)}")
        if missing:
            raise ValueError(f"{what}: missing field(s) {', '.join(missing)}")
        bits = 0
        for name, field in layout:
            bits |= pack(field.shape, value[name], f"{what}.{name}") << field.offset
        return bits
    if _is_enum(layout):
        if isinstance(value, layout):
            v = value.value
        else:
            v = _int(value, what)
            if v not in {m.value for m in layout}:
                raise ValueError(f"{what} = {v} is not a {layout.__name__} "
                                 f"({', '.join(m.name for m in layout)})")
        return v & ((1 << width(layout)) - 1)
    shape = Shape.cast(layout)
    v = _int(value, what)
    if isinstance(layout, range) and v not in layout:
        raise ValueError(f"{what} = {v} is not in [{layout.start}, {layout.stop - 1}]")
    lo, hi = (-(1 << (shape.width - 1)), 1 << (shape.width - 1)) if shape.signed \
        else (0, 1 << shape.width)
    if not lo <= v < hi:
        raise ValueError(f"{what} = {v} does not fit {'signed' if shape.signed else 'unsigned'}"
                         f"({shape.width}): [{lo}, {hi - 1}]")
    return v & ((1 << shape.width) - 1)


def unpack(layout, bits):
    """The layout's integer -> nested dicts / lists / ints (signed where the shape is)."""
    bits = _int(bits, "bits")
    if not 0 <= bits < 1 << width(layout):
        raise ValueError(f"{bits:#x} is wider than the layout's {width(layout)} bits")
    if isinstance(layout, data.ArrayLayout):
        w = width(layout.elem_shape)
        return [unpack(layout.elem_shape, (bits >> (i * w)) & ((1 << w) - 1))
                for i in range(layout.length)]
    if isinstance(layout, data.StructLayout):
        return {name: unpack(f.shape, (bits >> f.offset) & ((1 << width(f.shape)) - 1))
                for name, f in layout}
    shape = Shape.cast(layout)
    if shape.signed and bits >> (shape.width - 1):
        bits -= 1 << shape.width
    return bits
