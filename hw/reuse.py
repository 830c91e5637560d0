"""One Verilog module for many identical instances.

Amaranth writes a separate module for every instance it elaborates, so the VC709 array (576
PEs) came out as 1.4 million lines in 3 minutes. `Reused(make, name)` stands in for a
component: same signature, but it elaborates to an `Instance` of module `name`, whose
Verilog `to_verilog` appends once (`reused_modules`).

Converting the VC709 preset's shared modules takes about a minute; with a `cache` folder
(`$ETA_REUSE_CACHE`, which the test suite and the Makefile set) each module's Verilog, with
that of every shared module under it, is kept on disk under its name and a digest of this
package's sources and Amaranth's version, so another process (a pytest worker, `make board`
after `make verilog`) takes it from there instead of converting it again.
"""

import fcntl
import functools
import hashlib
import json
import os
from pathlib import Path

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


@functools.cache
def _sources_digest():
    """A digest of every source file of this package and of Amaranth's version: what a
    shared module's Verilog depends on besides its name (its key)."""
    import amaranth
    h = hashlib.sha256(amaranth.__version__.encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _cached_subtree(name, convert, cache):
    """_subtree(name), from `cache` when an identical conversion is there; one process
    converts while the others wait for it."""
    if cache is None:
        return _subtree(name, convert)
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{name}-{_sources_digest()}.json"
    with open(cache / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return [tuple(pair) for pair in json.loads(path.read_text())]
        tree = _subtree(name, convert)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(tree))
        partial.replace(path)           # (atomic: a reader sees all of it or nothing)
        for stale in cache.glob(f"{name}-*.json"):      # (older sources': never read again)
            if stale != path:
                stale.unlink(missing_ok=True)
        return tree


def reused_modules(text, convert, jobs=1, cache=None):
    """Verilog of every shared module `text` instantiates, transitively; `convert(component,
    name)` turns one into Verilog. With jobs > 1 the modules `text` names are converted, each
    with what it instantiates, in that many forked processes (the same text). With a `cache`
    folder, conversions are kept there and taken from there (see the module's doc)."""
    names = _named_in(text)
    if jobs > 1 and len(names) > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(min(jobs, len(names))) as pool:
            trees = pool.starmap(_cached_subtree, [(n, convert, cache) for n in names],
                                 chunksize=1)
    else:
        trees = [_cached_subtree(n, convert, cache) for n in names]
    for n in names:                     # (elaborated elsewhere, or not at all: from the cache)
        _PROTOTYPES[n]._MustUse__used = True
    seen, out = set(), []
    for tree in trees:
        for name, body in tree:
            if name not in seen:
                seen.add(name)
                out.append(body)
    return "\n".join(out)
