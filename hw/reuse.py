"""One Verilog module for many identical instances.

Amaranth writes a separate module for every instance it elaborates, so the VC709 array (576
PEs) came out as 1.4 million lines in 3 minutes. `Reused(make, name)` stands in for a
component: same signature, but it elaborates to an `Instance` of module `name`, whose
Verilog `to_verilog` appends once (`reused_modules`).
"""

import hashlib

from amaranth.hdl import ClockSignal, Instance, Module, ResetSignal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In

__all__ = ["Reused", "reused_modules"]

_PROTOTYPES = {}      # module name -> the one component elaborated into it


class Reused(wiring.Component):
    """A stand-in for `make()` elaborating to an instance of a shared module.

    `key` (e.g. the configuration) must determine what `make()` builds: instances with the
    same base name and key share one module.
    """

    def __init__(self, make, base, key):
        digest = hashlib.sha256(repr(key).encode()).hexdigest()[:8]
        self._name = f"{base}_{digest}"
        if self._name not in _PROTOTYPES:
            _PROTOTYPES[self._name] = make()
        super().__init__(_PROTOTYPES[self._name].signature)

    @property
    def module_name(self):
        return self._name

    def elaborate(self, platform):
        m = Module()
        ports = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
        for path, member, value in self.signature.flatten(self):
            prefix = "i_" if member.flow == In else "o_"
            ports[prefix + "__".join(map(str, path))] = Value.cast(value)
        m.submodules.inst = Instance(self._name, **ports)
        return m


def reused_modules(text, convert):
    """Verilog of every shared module `text` instantiates, transitively; `convert(component,
    name)` turns one into Verilog."""
    done, out = set(), []
    pending = [n for n in _PROTOTYPES if n in text]
    while pending:
        name = pending.pop()
        if name in done:
            continue
        done.add(name)
        body = convert(_PROTOTYPES[name], name)
        out.append(body)
        pending += [n for n in _PROTOTYPES if n not in done and n in body]
    return "\n".join(out)
