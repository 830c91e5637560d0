"""Streams split across, and joined from, units that run in step (same flags, same timing).

A fan-out transfers when every unit is ready; a gather presents when every unit is valid.
Both keep the amaranth.lib.stream rules: valid never waits on ready, and payloads hold.
"""

from amaranth.hdl import Signal

__all__ = ["all_of", "any_of", "fan_out", "gather"]


def all_of(values):
    values = list(values)
    out = values[0]
    for v in values[1:]:
        out = out & v
    return out


def any_of(values):
    values = list(values)
    out = values[0]
    for v in values[1:]:
        out = out | v
    return out


def fan_out(m, source, sinks):
    """source (an In stream) -> every sink (In streams of sub-units); payloads are the
    caller's to wire."""
    ready = Signal()
    m.d.comb += [ready.eq(all_of(s.ready for s in sinks)), source.ready.eq(ready)]
    m.d.comb += [s.valid.eq(source.valid & ready) for s in sinks]


def gather(m, sources, sink):
    """every source (Out streams of sub-units) -> sink (an Out stream); payloads are the
    caller's to wire."""
    valid = Signal()
    m.d.comb += [valid.eq(all_of(s.valid for s in sources)), sink.valid.eq(valid)]
    m.d.comb += [s.ready.eq(sink.ready & valid) for s in sources]
