"""Streams split across, and joined from, units that run in step (same flags, same timing).

A fan-out transfers when every unit is ready; a gather presents when every unit is valid.
Both keep the amaranth.lib.stream rules: valid never waits on ready, and payloads hold.
"""

from amaranth.hdl import Signal

__all__ = ["all_of", "any_of", "fan_out", "gather", "stages"]


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


def stages(m, valid_in, ready_out, n, name="stage"):
    """The handshake of n register stages in a row, one value per cycle at full rate:
    (ready_in, loads, valids). Stage j takes its input when loads[j] (stage 0 from the
    source, stage j from stage j-1) and holds a value while valids[j]; the last is the
    output. Units built on it with the same n stay in step with each other."""
    valids = [Signal(name=f"{name}{j}_valid") for j in range(n)]
    free = [Signal(name=f"{name}{j}_free") for j in range(n)]
    loads = [Signal(name=f"{name}{j}_load") for j in range(n)]
    for j in reversed(range(n)):
        after = ready_out if j == n - 1 else free[j + 1]
        m.d.comb += [free[j].eq(~valids[j] | after),
                     loads[j].eq((valid_in if j == 0 else valids[j - 1]) & free[j])]
        with m.If(loads[j]):
            m.d.sync += valids[j].eq(1)
        with m.Elif(after):
            m.d.sync += valids[j].eq(0)
    return free[0], loads, valids
