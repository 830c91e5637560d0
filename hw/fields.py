"""One slice for a deep path into a wide view.

`view.a[3].b` builds a slice of a slice of a slice, and Amaranth's netlist builder walks every
level's full width for each such access: in the C-Core's beat assembly (216 lanes picked out of
a many-thousand-bit beat) that was most of the VC709 conversion time. `field(view, "a", 3,
"b")` is the same bits as one slice of the underlying value.
"""

from amaranth.hdl import Shape, ShapeCastable
from amaranth.lib import data

__all__ = ["field"]


def field(view, *path):
    """view[path[0]][path[1]]... (names and indices as the layouts take them) as one slice
    of `view`'s value, viewed through the leaf's shape."""
    layout, offset = data.Layout.cast(view.shape()), 0
    for step in path:
        if not isinstance(layout, data.Layout):
            raise TypeError(f"path {path!r} goes below a plain shape at {step!r}")
        f = layout[step]
        offset, layout = offset + f.offset, f.shape
    shape = Shape.cast(layout)
    bits = view.as_value()[offset:offset + shape.width]
    if isinstance(layout, ShapeCastable):
        return layout(bits)                     # a View, an enum's view, ...
    return bits.as_signed() if shape.signed else bits
