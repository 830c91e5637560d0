"""cocotb: the controller fetching a compiled training step from an AXI RAM (random pauses),
with the four units played by the testbench (random acceptance and latency): every unit gets
its descriptors in program order, each only after the descriptors whose tokens it waits for
are done; the HOST step stops until resume; END ends with no token left; SCALE computes on
the scalar table; errors stop the run with their code and descriptor address, and the next
start (or a soft reset) recovers."""

import itertools
import json
import os

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from cocotbext.axi import AxiRamRead, AxiReadBus

from hw.isa.program import (WORD_BYTES, End, Op, Scale, ScaleOp, Sync, Unit, decode,
                            encode)
from hw.isa.regs import COUNTERS, ErrorCode
from sim.tb.common import config, rngs, start

UNITS = ("ld", "cc", "ac", "st")
BIT = {"ld": Unit.LD, "cc": Unit.CC, "ac": Unit.AC, "st": Unit.ST}
BASE = 0x10000
SIZE = 1 << 22


class Units:
    """The four units: accept a descriptor when they feel like it, finish it later."""

    def __init__(self, dut, rnd, fail=None):
        self.dut, self.rnd = dut, rnd
        self.got = {u: [] for u in UNITS}       # (cycle accepted, address)
        self.done_at = {}                         # address -> cycle its done pulse was seen
        self.fail = fail                          # (unit, n-th descriptor): raise its error
        self.overlapped = {u: 0 for u in UNITS}   # descriptors taken while others in flight
        self.failed_with_later = False            # the failing one had later ones in flight
        self.cycle = 0
        for u in UNITS:
            getattr(dut, f"{u}__ready").value = 0
            getattr(dut, f"{u}_done").value = 0
            getattr(dut, f"{u}_error").value = 0
            getattr(dut, f"{u}_code").value = 0
            cocotb.start_soon(self.unit(u))
        cocotb.start_soon(self.clock())

    async def clock(self):
        while True:
            await RisingEdge(self.dut.clk)
            self.cycle += 1

    async def unit(self, u):
        """Takes a descriptor when `ready` (random), finishes it 1-7 cycles later (the
        C-Core's and the STORE unit 1-40). The C-Core's and the STORE unit take up to three more while
        earlier ones finish, in order. The C-Core's refuses a descriptor as it takes it; the
        STORE unit fails one with a write error (a bus answer) as it finishes it, the others
        with their own error."""
        dut = self.dut
        valid, ready = getattr(dut, f"{u}__valid"), getattr(dut, f"{u}__ready")
        payload = getattr(dut, f"{u}__payload")
        most = 4 if u in ("cc", "st") else 1
        fail_code = ErrorCode.WRITE_ERROR if u == "st" else ErrorCode.TILE_REFUSED
        owed = []                            # [address, cycles left, fails], oldest first
        refuse = False
        while True:
            await FallingEdge(dut.clk)
            done = error = 0
            if owed and owed[0][1] == 0:
                addr, _, fails = owed.pop(0)
                if fails:
                    error = 1
                    self.failed_with_later = bool(owed)
                else:
                    done = 1
                    self.done_at[addr] = self.cycle
            error |= refuse
            code = (ErrorCode.TILE_REFUSED if refuse else fail_code).value * error
            refuse = False
            getattr(dut, f"{u}_done").value = done
            getattr(dut, f"{u}_error").value = error
            getattr(dut, f"{u}_code").value = code
            for o in owed:
                o[1] = max(0, o[1] - 1)
            ready.value = int(len(owed) < most and self.rnd.random() < 0.5)
            await ReadOnly()
            if valid.value and ready.value:
                addr = payload.value.to_unsigned() >> 512
                fails = self.fail == (u, len(self.got[u]))
                self.got[u].append((self.cycle, addr))
                self.overlapped[u] += bool(owed)
                if fails and u == "cc":
                    refuse = True
                else:
                    owed.append([addr, self.rnd.randint(1, 40 if u in ("cc", "st") else 7), fails])


def unit_of(d):
    if d.op == Op.SYNC:
        return [u for u, b in BIT.items() if b == d.unit][0]
    return {Op.LOAD: "ld", Op.TILE: "cc", Op.STORE: "st", Op.ACORE: "ac",
            Op.SCALE: "ac"}.get(d.op)


async def run_program(dut, ram, cfg, descs, units, host_steps=0, limit=200000):
    """Place the program at BASE, start it, serve its host steps; returns the status."""
    ram.write(BASE, b"".join(encode(cfg, d).to_bytes(WORD_BYTES, "little") for d in descs))
    await FallingEdge(dut.clk)
    dut.program_base.value = BASE
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    hosts = 0
    for _ in range(limit):
        await RisingEdge(dut.clk)
        await ReadOnly()
        if dut.host.value:
            assert all(not getattr(dut, f"{u}__valid").value for u in UNITS)
            hosts += 1
            await FallingEdge(dut.clk)
            dut.resume.value = 1
            await FallingEdge(dut.clk)
            dut.resume.value = 0
            continue
        if not dut.busy.value:
            break
    assert not dut.busy.value, "the program never ended"
    status = (int(dut.done.value), int(dut.error.value), int(dut.error_code.value),
              int(dut.error_addr.value))
    assert hosts == host_steps, f"{hosts} host steps, expected {host_steps}; {status}"
    return int(dut.done.value), int(dut.error.value), int(dut.error_code.value), \
        int(dut.error_addr.value)


async def setup(dut, rnd, stalls):
    ram = AxiRamRead(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=SIZE)
    if stalls:
        for ch in (ram.ar_channel, ram.r_channel):
            ch.set_pause_generator(int(rnd.random() < 0.3) for _ in itertools.count())
    for name in ("start", "resume", "soft_reset", "scalar_we", "scalar_index",
                 "scalar_wdata", "dma_read_bytes", "dma_write_bytes", "dram_wait"):
        getattr(dut, name).value = 0
    dut.dram_base.value, dut.dram_size.value = 0, SIZE
    await start(dut)
    return ram


def program():
    """The compiled step the test wrote ($ETA_PROGRAM: a JSON file of hex words)."""
    with open(os.environ["ETA_PROGRAM"]) as f:
        return [decode(config(), int(w, 16)) for w in json.load(f)]


@cocotb.test()
@cocotb.parametrize(stalls=[False, True])
async def a_compiled_step(dut, stalls):
    cfg = config()
    rnd, _ = rngs(int(stalls))
    ram = await setup(dut, rnd, stalls)
    units = Units(dut, rnd)
    descs = program()
    done, error, code, _ = await run_program(dut, ram, cfg, descs, units,
                                             host_steps=sum(d.op == Op.HOST for d in descs))
    assert (done, error) == (1, 0), ErrorCode(code).name
    addr = lambda i: BASE + i * WORD_BYTES
    external = {i: unit_of(d) for i, d in enumerate(descs)
                if unit_of(d) and d.op not in (Op.SYNC, Op.SCALE)}
    for u in UNITS:
        want = [addr(i) for i, v in external.items() if v == u]
        assert [a for _, a in units.got[u]] == want, f"{u}: descriptors out of order"
    # Tokens: the n-th wait on a channel comes after the n-th signal's producer is done.
    accepted = {a: c for u in UNITS for c, a in units.got[u]}
    checked = 0
    for v in UNITS:
        for u in UNITS:
            sig = [i for i, d in enumerate(descs) if unit_of(d) == v and d.signal & BIT[u]]
            wai = [i for i, d in enumerate(descs) if unit_of(d) == u and d.wait & BIT[v]]
            assert len(sig) == len(wai)
            for p, c in zip(sig, wai):
                if p in external and c in external:
                    assert accepted[addr(c)] > units.done_at[addr(p)], \
                        f"descriptor {c} ({u}) started before {p} ({v}) was done"
                    checked += 1
    assert checked > 20
    assert units.overlapped["cc"] > 0, "no TILE was issued while another was in flight"
    assert not any(units.overlapped[u] for u in ("ld", "ac"))
    await FallingEdge(dut.clk)
    n = COUNTERS.index(("DESCRIPTORS", dict(COUNTERS)["DESCRIPTORS"]))
    pushed = sum(1 for d in descs if d.op not in (Op.END, Op.HOST))
    assert dut.counters.value.to_unsigned() >> (64 * n) & ((1 << 64) - 1) == pushed


@cocotb.test()
async def scale_and_errors(dut):
    cfg = config()
    rnd, _ = rngs(3)
    ram = await setup(dut, rnd, False)
    units = Units(dut, rnd)
    S = ScaleOp
    prog = [Scale(S.SET, 1, imm=5), Scale(S.SET, 2, imm=-3),
            Scale(S.ADD, 3, 1, 2, 10), Scale(S.SUB, 4, 1, 2, -1), Scale(S.MAX, 5, 1, 2),
            Scale(S.ADD, 6, 0, 2, 0), End()]
    assert (await run_program(dut, ram, cfg, prog, units))[:2] == (1, 0)
    for slot, want in ((1, 5), (2, -3), (3, 12), (4, 7), (5, 5), (6, -3)):
        await FallingEdge(dut.clk)
        dut.scalar_index.value = slot
        await RisingEdge(dut.clk)
        await ReadOnly()
        assert dut.scalar_rdata.value.to_signed() == want, f"S[{slot}]"

    async def expect(descs, code, at, raw=None):
        if raw is not None:
            ram.write(BASE, b"".join(w.to_bytes(WORD_BYTES, "little") for w in raw))
            await FallingEdge(dut.clk)
            dut.program_base.value = BASE
            dut.start.value = 1
            await FallingEdge(dut.clk)
            dut.start.value = 0
            for _ in range(2000):
                await RisingEdge(dut.clk)
                await ReadOnly()
                if not dut.busy.value:
                    break
            got = (int(dut.done.value), int(dut.error.value), int(dut.error_code.value),
                   int(dut.error_addr.value))
        else:
            got = await run_program(dut, ram, cfg, descs, units)
        assert got == (0, 1, code.value, at), (got, code)

    end = encode(cfg, End())
    first = encode(cfg, Scale(S.SET, 7, imm=1))
    await expect(None, ErrorCode.BAD_OP, BASE + WORD_BYTES, raw=[first, 9, end])
    await expect(None, ErrorCode.BAD_WORD, BASE, raw=[end | 1 << 400])
    # A token nobody takes.
    await expect([Sync(unit_=Unit.LD, signal=Unit.ST), End()], ErrorCode.TOKENS,
                 BASE + WORD_BYTES)
    # Outside the DRAM window.
    await FallingEdge(dut.clk)
    dut.dram_size.value = BASE + WORD_BYTES
    await expect([Scale(S.SET, 1, imm=1), End()], ErrorCode.ADDRESS, BASE + WORD_BYTES)
    await FallingEdge(dut.clk)
    dut.dram_size.value = SIZE
    # A good program after the errors.
    assert (await run_program(dut, ram, cfg, prog, units))[:2] == (1, 0)


@cocotb.test()
async def write_error_names_the_oldest_store(dut):
    """A write error answers the oldest STORE in flight, not the last one taken: the run
    stops with that STORE's address, whichever STOREs were taken after it."""
    cfg = config()
    from dataclasses import replace
    rnd, _ = rngs(6)
    ram = await setup(dut, rnd, False)
    # A program's STOREs, waiting for nothing: several may be in flight at once.
    descs = [replace(d, wait=0, signal=0) for d in program() if d.op == Op.STORE][:8] + [End()]
    st = list(range(len(descs) - 1))
    later = 0
    units = Units(dut, rnd)
    for k in st:
        units.fail, units.failed_with_later = ("st", k), False
        for u in UNITS:
            units.got[u].clear()
        got = await run_program(dut, ram, cfg, descs, units)
        assert got == (0, 1, ErrorCode.WRITE_ERROR.value, BASE + st[k] * WORD_BYTES), (k, got)
        later += units.failed_with_later
        await FallingEdge(dut.clk)
        dut.soft_reset.value = 1
        await FallingEdge(dut.clk)
        dut.soft_reset.value = 0
        for _ in range(60):                 # the fake units finish what they held
            await FallingEdge(dut.clk)
    assert later > 0, "no failing STORE had a later one in flight: the test proves nothing"


@cocotb.test()
async def unit_error_and_soft_reset(dut):
    cfg = config()
    rnd, _ = rngs(5)
    ram = await setup(dut, rnd, False)
    descs = program()
    cc = [i for i, d in enumerate(descs) if unit_of(d) == "cc"]
    units = Units(dut, rnd, fail=("cc", 3))
    got = await run_program(dut, ram, cfg, descs, units,
                            host_steps=sum(d.op == Op.HOST for d in descs[:cc[3]]))
    assert got == (0, 1, ErrorCode.TILE_REFUSED.value, BASE + cc[3] * WORD_BYTES), got
    # Soft reset in the middle of a run, then the whole program.
    await FallingEdge(dut.clk)
    dut.soft_reset.value = 1
    await FallingEdge(dut.clk)
    dut.soft_reset.value = 0
    units.fail = None
    for u in UNITS:
        units.got[u].clear()
    await FallingEdge(dut.clk)
    dut.program_base.value = BASE
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    for _ in range(300):
        await FallingEdge(dut.clk)
    # ... just after a fetch went out, so that its word comes back after the reset and
    # must not be taken for the next program's first descriptor.
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        if dut.m_axi_arvalid.value and dut.m_axi_arready.value:
            break
    await FallingEdge(dut.clk)
    dut.soft_reset.value = 1
    await FallingEdge(dut.clk)
    dut.soft_reset.value = 0
    await ReadOnly()
    assert not dut.busy.value and not dut.error.value
    for _ in range(20):                 # let the units finish what they held
        await FallingEdge(dut.clk)
    got = await run_program(dut, ram, cfg, descs, units,
                            host_steps=sum(d.op == Op.HOST for d in descs))
    assert got[:2] == (1, 0), got
