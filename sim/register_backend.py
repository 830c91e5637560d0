"""The runtime's five calls on a real accelerator, through its registers (`hw.isa.regs`):
what the RTL backend (the top under cocotb) and the board backend (the VC709 through the
XDMA driver) share. Only the link differs:

    link.read_reg(offset) -> int        link.write_reg(offset, value)
    link.read(addr, n) -> bytes         link.write(addr, data)          # the DRAM
    link.wait_irq(limit)                # until the interrupt line rises; raises past limit

A run: PROGRAM_BASE, clear IRQ_STATUS, CONTROL.start; then on each interrupt read and clear
IRQ_STATUS: error -> AcceleratorError (STATUS.code, ERROR_ADDR), done -> return, host ->
serve the HOST step (HOST_STEP), CONTROL.resume.
"""

from hw.isa.regs import BY_NAME, COUNTERS, COUNTER_BASE, ID, ErrorCode, config_hash

__all__ = ["RegisterBackend", "AcceleratorError"]


class AcceleratorError(RuntimeError):
    """The run stopped with an error code; `code` and `addr` (the failing descriptor's)."""

    def __init__(self, code, addr):
        self.code, self.addr = code, addr
        try:
            name = ErrorCode(code).name
        except ValueError:
            name = f"code {code}"
        super().__init__(f"the accelerator stopped with {name} at descriptor {addr:#x}")


def _offset(name):
    return BY_NAME[name].offset if isinstance(name, str) else name


class RegisterBackend:
    """The runtime's calls on `link` (see the module's docstring) for a step of `cfg` using
    `dram_bytes` of DRAM from address 0; `limit` is passed to every `link.wait_irq`."""

    EVENTS = {"done": 1, "error": 2, "host": 4}

    def __init__(self, cfg, dram_bytes, link, limit, seeds=None):
        self.cfg, self.link, self.size, self.limit = cfg, link, dram_bytes, limit
        ident = self.read_reg("ID")
        if ident != ID:
            raise ValueError(f"no ETA accelerator behind this link (ID reads {ident:#x})")
        got = self.read_reg("CONFIG_HASH")
        if got != config_hash(cfg):
            raise ValueError(f"the accelerator is another configuration (hash {got:#x}, the "
                             f"step's {config_hash(cfg):#x})")
        for name, value in (("DRAM_BASE", 0), ("DRAM_SIZE", dram_bytes),
                            ("IRQ_ENABLE", 0b111)):
            self.write_reg(name, value)
        for lane, s in enumerate(seeds or []):
            self.write_reg("SEED_INDEX", lane)
            self.write_reg("SEED_DATA", int(s))

    def read_reg(self, name):
        return self.link.read_reg(_offset(name))

    def write_reg(self, name, value):
        self.link.write_reg(_offset(name), value & 0xFFFF_FFFF)

    def _check(self, addr, n):
        if addr < 0 or addr + n > self.size:
            raise IndexError(f"[{addr:#x}, {addr + n:#x}) is outside the DRAM")

    def write(self, addr, data):
        data = bytes(data)
        self._check(addr, len(data))
        self.link.write(addr, data)

    def read(self, addr, n):
        self._check(addr, n)
        data = bytes(self.link.read(addr, n))
        if len(data) != n:
            raise IOError(f"read {len(data)} of {n} bytes at {addr:#x}")
        return data

    def set_scalar(self, i, v):
        self.write_reg("SCALAR_INDEX", i)
        self.write_reg("SCALAR_DATA", int(v))

    def scalar(self, i):
        self.write_reg("SCALAR_INDEX", i)
        v = self.read_reg("SCALAR_DATA")
        return v - (1 << 32) if v >> 31 else v

    def start(self, program_addr, count, host):
        """Start at program_addr; serve HOST steps (`host(step)`, then resume) until END.
        Raises AcceleratorError when the run stops with an error."""
        self.write_reg("PROGRAM_BASE", program_addr)
        self.write_reg("IRQ_STATUS", 0b111)
        self.write_reg("CONTROL", 1)                            # start
        while True:
            self.link.wait_irq(self.limit)
            events = self.read_reg("IRQ_STATUS")
            self.write_reg("IRQ_STATUS", events)
            if events & self.EVENTS["error"]:
                status = self.read_reg("STATUS")
                raise AcceleratorError((status >> 8) & 0xFF, self.read_reg("ERROR_ADDR"))
            if events & self.EVENTS["done"]:
                return
            if events & self.EVENTS["host"]:
                host(self.read_reg("HOST_STEP"))
                self.write_reg("CONTROL", 2)                    # resume

    def soft_reset(self):
        self.write_reg("CONTROL", 4)

    def counters(self):
        """The performance counters (`hw.isa.regs.COUNTERS`, lower case) of the last run."""
        self.write_reg("COUNTER_SNAPSHOT", 1)
        out = {}
        for i, (name, _) in enumerate(COUNTERS):
            lo = self.read_reg(COUNTER_BASE + 8 * i)
            hi = self.read_reg(COUNTER_BASE + 8 * i + 4)
            out[name.lower()] = lo | hi << 32
        return out
