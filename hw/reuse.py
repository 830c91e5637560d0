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


def _subtree(name, convert):
    """[(module name, Verilog)] of shared module `name` and every shared module under it."""
    body = convert(_PROTOTYPES[name], name)
    out, done, pending = [(name, body)], {name}, _named_in(body)
    while pending:
        n = pending.pop()
        if n in done:
            continue
        done.add(n)
        text = convert(_PROTOTYPES[n], n)
        out.append((n, text))
        pending += [m for m in _named_in(text) if m not in done]
    return out


def _named_in(text):
    # (a prototype exists once the module instantiating it was elaborated)
    return [n for n in sorted(_PROTOTYPES) if n in text]


def reused_modules(text, convert, jobs=1):
    """Verilog of every shared module `text` instantiates, transitively; `convert(component,
    name)` turns one into Verilog. With jobs > 1 the modules `text` names are converted, each
    with what it instantiates, in that many forked processes (the same text)."""
    names = _named_in(text)
    if jobs > 1 and len(names) > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(min(jobs, len(names))) as pool:
            trees = pool.starmap(_subtree, [(n, convert) for n in names], chunksize=1)
        for n in names:                 # (elaborated in the children, not here)
            _PROTOTYPES[n]._MustUse__used = True
    else:
        trees = [_subtree(n, convert) for n in names]
    seen, out = set(), []
    for tree in trees:
        for name, body in tree:
            if name not in seen:
                seen.add(name)
                out.append(body)
    return "\n".join(out)
