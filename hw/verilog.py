"""Amaranth component -> Verilog text, with the shared modules of `hw.reuse` written once."""

from amaranth.back import verilog

from .reuse import reused_modules

__all__ = ["to_verilog"]


def _convert(component, name):
    return verilog.convert(component, name=name, emit_src=False)


def to_verilog(component, name, jobs=1):
    """Verilog of `component` as top module `name`; the shared modules (hw.reuse.Reused) it
    instantiates follow it in the same text (converted in `jobs` processes)."""
    top = _convert(component, name)
    shared = reused_modules(top, _convert, jobs)
    return top + ("\n" + shared if shared else "")
