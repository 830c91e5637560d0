"""Shared cocotb helpers: config and seed from the runner, clock/reset, stall patterns,
and a cycle-accurate ready/valid scenario runner used by every stream testbench."""

import itertools
import os
import random

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from hw.config import EtaConfig
from sim.golden import pint
# Strict packing (a missing, unknown or too wide field raises), for every testbench.
from hw.isa.pack import pack, unpack  # noqa: F401

STALLS = ["none", "regular", "random"]


def config():
    return EtaConfig.from_json(os.environ["ETA_CONFIG"]) if "ETA_CONFIG" in os.environ \
        else EtaConfig()


def decoded(codes, fmt):
    """Nested PINT codes -> the values they stand for (`sim.golden.pint.decode`), nested
    lists of ints: what the array's operand ports take (`hw.pe.operand_shape`)."""
    return pint.decode(np.asarray(codes, np.int64), fmt).tolist()


def decoded_beat(beat, fmt):
    """A beat of codes (`sim.golden.pe.Beat`, or a WPU's, cluster's or array's grid of
    them) with its inputs `x` and errors `e` decoded."""
    return {**beat, "x": decoded(beat["x"], fmt), "e": decoded(beat["e"], fmt)}


def rngs(salt=0):
    """Python and numpy generators seeded from the run's seed (printed by the runner)."""
    seed = int(os.environ.get("ETA_SEED", "1")) + salt
    return random.Random(seed), np.random.default_rng(seed)


def stall_generator(kind, rnd):
    """Yields 1 when the port may act this cycle: never stalls, 3 of 4 cycles, or at random."""
    if kind == "none":
        return itertools.repeat(1)
    if kind == "regular":
        return itertools.cycle([1, 1, 1, 0])
    if kind == "random":
        return (int(rnd.random() < 0.6) for _ in itertools.count())
    raise ValueError(f"stall kind must be one of {STALLS}, not {kind!r}")


def pauses(rnd, p):
    """A cocotbext-axi pause generator: pause with probability p each cycle."""
    while True:
        yield int(rnd.random() < p)


async def start(dut, cycles=2):
    """Start the 100 MHz clock and hold reset for `cycles` edges."""
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


class StreamPort:
    """The Verilog ports of an amaranth.lib.stream member called `name`."""

    def __init__(self, dut, name):
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.payload = getattr(dut, f"{name}__payload")


async def send(dut, port, items, idle="none", rnd=None):
    """Drive `items` into the stream `port` (a StreamPort) in order, each held until taken,
    with `idle` cycles between them (`stall_generator`). Ready is sampled before the edge."""
    go = stall_generator(idle, rnd or random.Random(0))
    await FallingEdge(dut.clk)
    for item in items:
        while not next(go):
            await FallingEdge(dut.clk)
        port.valid.value = 1
        port.payload.value = int(item)
        while True:
            await ReadOnly()
            taken = port.ready.value == 1
            await FallingEdge(dut.clk)
            if taken:
                break
        port.valid.value = 0


async def run_stream(dut, src, sink, items, count, idle="none", backpressure="none",
                     rnd=None, before_edge=None, timeout=1000, stats=None):
    """Push `items` into `src` and collect `count` payloads from `sink`, cycle by cycle.

    Checks the stream rules as it goes: a source never drops valid or changes payload before
    the transfer (we drive those), a sink's valid never falls without a transfer. Returns the
    payloads received, as unsigned ints. Raises if nothing moves for `timeout` cycles.
    `before_edge(cycle)` runs in each cycle's read-only phase (for extra checks). `stats`,
    a dict, receives "cycles": clock cycles from the first input transfer to the last output
    transfer, both counted.
    """
    rnd = rnd or random.Random(0)
    go_src = stall_generator(idle, rnd)
    go_sink = stall_generator(backpressure, rnd)
    got, sent, idle_cycles, cycle = [], 0, 0, 0
    held = None                       # (payload) the sink presented last cycle, not taken
    src.valid.value = 0
    sink.ready.value = 0
    while len(got) < count or sent < len(items):
        await RisingEdge(dut.clk)
        if sent < len(items) and (src.valid.value == 1 or next(go_src)):
            src.valid.value = 1
            src.payload.value = int(items[sent])
        else:
            src.valid.value = 0
        sink.ready.value = next(go_sink)
        await ReadOnly()
        if before_edge is not None:
            before_edge(cycle)
        moved = False
        if src.valid.value == 1 and src.ready.value == 1:
            if sent == 0:
                first_cycle = cycle
            sent, moved = sent + 1, True
        if held is not None:
            assert sink.valid.value == 1, "sink dropped valid before the transfer"
            assert sink.payload.value.to_unsigned() == held, "sink changed its payload early"
        if sink.valid.value == 1:
            value = sink.payload.value.to_unsigned()
            if sink.ready.value == 1:
                got.append(value)
                held, moved = None, True
                last_cycle = cycle
            else:
                held = value
        idle_cycles = 0 if moved else idle_cycles + 1
        if idle_cycles > timeout:
            raise AssertionError(f"stream stuck: {sent}/{len(items)} sent, "
                                 f"{len(got)}/{count} received after {cycle} cycles")
        cycle += 1
    if stats is not None and count and items:
        stats["cycles"] = last_cycle - first_cycle + 1
    await RisingEdge(dut.clk)
    src.valid.value = 0
    sink.ready.value = 1
    for _ in range(3):                # nothing more may come out
        await ReadOnly()
        assert sink.valid.value == 0, "sink produced more payloads than inputs"
        await RisingEdge(dut.clk)
    return got


async def load_banks(dut, layout, image, port="wr", rnd=None):
    """Write {(bank, address): entry} through an always-ready write port, one per cycle
    (with `rnd`: in random order, with random idle cycles between)."""
    from cocotb.triggers import FallingEdge
    valid, payload = getattr(dut, f"{port}__valid"), getattr(dut, f"{port}__payload")
    items = list(image.items())
    if rnd is not None:
        rnd.shuffle(items)
    for (bank, addr), entry in items:
        while rnd is not None and rnd.random() < 0.3:
            await FallingEdge(dut.clk)
            valid.value = 0
        await FallingEdge(dut.clk)
        valid.value = 1
        payload.value = pack(layout, {"bank": bank, "addr": addr, "data": entry})
    await FallingEdge(dut.clk)
    valid.value = 0
