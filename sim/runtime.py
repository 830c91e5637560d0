"""The runtime: one API to run compiled programs on an accelerator, whatever implements it.

    acc = Accelerator(step, backend="golden")       # step: sim.compiler.step.compile_step
    acc.load_program()                              # the program's bytes into DRAM
    acc.write_map(step.inputs, codes)               # tensors in, by the plan's layouts
    acc.set_scalar("input.e", e)                    # scalar slots by name
    acc.run(host={...})                             # runs to END, serving HOST steps
    acc.read_map(step.logits), acc.counters()       # results and counters out

Backends implement five calls: `write(addr, bytes)`, `read(addr, n)`, `set_scalar(i, v)`,
`scalar(i)`, `start(program_addr, host)`; `counters()` says what they count. "golden" is the
golden machine (`sim.golden.machine`), which fetches and decodes the program from its DRAM
like the controller does; "rtl" is the accelerator's top under cocotb and Verilator
(`sim.rtl_backend`, inside a cocotb test); "board" is the VC709 build through the XDMA
driver's device files (`sim.board_backend`; `device=` their prefix, default /dev/xdma0).
The last two share the register protocol of `sim.register_backend`.
"""

import numpy as np

from hw.isa.program import WORD_BYTES, line_bytes
from sim.compiler import program
from sim.golden import dram
from sim.golden.machine import Machine

__all__ = ["Accelerator", "GoldenBackend", "BACKENDS"]


class GoldenBackend:
    """The golden machine behind the runtime's five calls."""

    def __init__(self, cfg, dram_bytes, seeds=None):
        self.cfg = cfg
        self.machine = Machine(cfg, dram_bytes, seeds=seeds)

    def write(self, addr, data):
        data = np.frombuffer(bytes(data), np.uint8)
        if addr < 0 or addr + data.size > self.machine.dram.size:
            raise IndexError(f"[{addr:#x}, {addr + data.size:#x}) is outside the DRAM")
        self.machine.dram[addr:addr + data.size] = data

    def read(self, addr, n):
        if addr < 0 or addr + n > self.machine.dram.size:
            raise IndexError(f"[{addr:#x}, {addr + n:#x}) is outside the DRAM")
        return self.machine.dram[addr:addr + n].tobytes()

    def set_scalar(self, i, v):
        self.machine.S[i] = v

    def scalar(self, i):
        return int(self.machine.S[i])

    def start(self, program_addr, count, host):
        """Fetch `count` words from program_addr, decode them, run to END."""
        descs = program.decode(self.read(program_addr, count * WORD_BYTES), self.cfg)
        self.machine.run(descs, host=lambda step, m: host(step))

    def counters(self):
        s = self.machine.stats
        return {"descriptors": dict(s.ops), "dram_read": s.dram_read,
                "dram_written": s.dram_written, "overflows": s.overflows,
                "host_steps": s.host_steps}


def _rtl_backend(*args, **options):
    """The RTL under cocotb (`sim.rtl_backend`; imported only where cocotb runs)."""
    from sim.rtl_backend import RtlBackend
    return RtlBackend(*args, **options)


def _board_backend(*args, **options):
    """The VC709 through the XDMA driver (`sim.board_backend`)."""
    from sim.board_backend import BoardBackend
    return BoardBackend(*args, **options)


BACKENDS = {"golden": GoldenBackend, "rtl": _rtl_backend, "board": _board_backend}


class Accelerator:
    """A compiled step on a backend: DRAM as the plan lays it out, the program after it."""

    def __init__(self, step, backend="golden", **options):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {sorted(BACKENDS)}, not {backend!r}")
        self.step, self.cfg = step, step.cfg
        line = line_bytes(self.cfg)
        self.program_addr = -(-step.plan.footprint // line) * line
        size = self.program_addr + len(step.descs) * WORD_BYTES
        if size > 1 << self.cfg.dram_addr_bits:
            raise ValueError(f"the step and its program need {size} bytes of DRAM")
        self.backend = BACKENDS[backend](self.cfg, size, **options)
        self.loaded = False

    # memory ----------------------------------------------------------------------------------

    def write(self, addr, values, eb):
        """Integers as eb-byte little-endian elements at addr."""
        raw = np.ascontiguousarray(np.asarray(values).astype(dram.DTYPES[eb]).ravel())
        self.backend.write(addr, raw.view(np.uint8).tobytes())

    def read(self, addr, count, eb):
        raw = np.frombuffer(self.backend.read(addr, count * eb), np.uint8)
        return raw.view(dram.DTYPES[eb]).astype(np.int64)

    def write_map(self, act, values):
        """A map [batch, C, H, W] into its tensor (blocked by the plan's layout)."""
        values = np.asarray(values)
        if values.shape != act.shape:
            raise ValueError(f"{act.tensor.name} is {act.shape}, not {values.shape}")
        img = np.zeros(dram.map_bytes(act.shape, act.eb, self.cfg.pe_cols), np.uint8)
        dram.put_map(img, 0, values, act.eb, self.cfg.pe_cols)
        self.backend.write(act.tensor.addr, img.tobytes())

    def read_map(self, act):
        n = dram.map_bytes(act.shape, act.eb, self.cfg.pe_cols)
        img = np.frombuffer(self.backend.read(act.tensor.addr, n), np.uint8).copy()
        return dram.get_map(img, 0, act.shape, act.eb, self.cfg.pe_cols)

    # scalars ---------------------------------------------------------------------------------

    def _slot(self, name):
        if isinstance(name, str):
            if name not in self.step.slots:
                raise KeyError(f"no scalar slot {name!r} in this program")
            return self.step.slots[name]
        return name

    def set_scalar(self, name, value):
        self.backend.set_scalar(self._slot(name), int(value))

    def scalar(self, name):
        return self.backend.scalar(self._slot(name))

    # running ---------------------------------------------------------------------------------

    def load_program(self):
        self.backend.write(self.program_addr, program.encode(self.step.descs, self.cfg))
        self.loaded = True

    def run(self, host=None):
        """Run the program to END; host: {kind: handler(acc, host step)} for its HOST
        steps (a kind without a handler stops the run with an error naming it)."""
        if not self.loaded:
            raise RuntimeError("load_program() first")
        host = host or {}

        def serve(index):
            h = self.step.hosts[index]
            if h.kind not in host:
                raise RuntimeError(f"host step {index} ({h.kind} of {h.layer}) has no "
                                   f"handler")
            host[h.kind](self, h)
        self.backend.start(self.program_addr, len(self.step.descs), serve)

    def counters(self):
        return self.backend.counters()
