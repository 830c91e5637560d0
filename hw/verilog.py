"""Amaranth component -> Verilog text, with the shared modules of `hw.reuse` written once."""

import os

from amaranth.back import verilog

from .reuse import reused_modules

__all__ = ["to_verilog"]


def _convert(component, name):
    return verilog.convert(component, name=name, emit_src=False)


def to_verilog(component, name, jobs=1, cache=None):
    """Verilog of `component` as top module `name`; the shared modules (hw.reuse.Reused) it
    instantiates follow it in the same text (converted in `jobs` processes, kept in the
    folder `cache`, by default $ETA_REUSE_CACHE if set)."""
    top = _convert(component, name)
    shared = reused_modules(top, _convert, jobs, cache or os.environ.get("ETA_REUSE_CACHE"))
    return top + ("\n" + shared if shared else "")
