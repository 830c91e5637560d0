"""Amaranth component -> Verilog text, with the shared modules of `hw.reuse` written once."""

from amaranth.back import verilog

from .reuse import reused_modules

__all__ = ["to_verilog"]


def to_verilog(component, name):
    """Verilog of `component` as top module `name`; the shared modules (hw.reuse.Reused) it
    instantiates follow it in the same text."""
    convert = lambda c, n: verilog.convert(c, name=n, emit_src=False)
    top = convert(component, name)
    shared = reused_modules(top, convert)
    return top + ("\n" + shared if shared else "")
