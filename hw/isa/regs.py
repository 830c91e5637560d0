"""The accelerator's registers (an AXI4-Lite slave, 32-bit words): one definition for the
RTL (`hw.regs`), the runtime's backends and `docs/registers.md` (`python -m sim.registers`).

Access: RO (read only), RW (read and write; byte strobes apply), W1 (write 1 to act: the bit
reads 0), W1C (write 1 to clear), WO (a write acts with its value; reads 0). Counters are 64
bits, read as LO/HI pairs from a copy that COUNTER_SNAPSHOT latches, so a set of counters
reads consistently while they run.
"""

import hashlib
from dataclasses import dataclass

from amaranth.lib import enum

__all__ = ["Reg", "Field", "REGS", "BY_NAME", "COUNTERS", "ErrorCode", "ID", "VERSION",
           "config_hash", "ADDR_BITS"]

ID = 0x4554_4131            # "ETA1"
VERSION = (0 << 16) | 1     # major, minor: the register map's
ADDR_BITS = 12              # a 4 KiB register window


class ErrorCode(enum.Enum, shape=8):
    """Why a run stopped (STATUS.code); ERROR_ADDR holds the failing descriptor's address."""
    NONE = 0
    BAD_OP = 1              # an undefined op
    BAD_WORD = 2            # bits set beyond the descriptor kind's layout
    ADDRESS = 3             # a DRAM access outside the window (DRAM_BASE, DRAM_SIZE)
    TILE_REFUSED = 4        # a tile the C-Core's buffers cannot serve
    READ_ERROR = 5          # SLVERR or DECERR on a read
    WRITE_ERROR = 6         # SLVERR or DECERR on a write response
    ACORE = 7               # the A-Core refused a run (a length or a division)
    TOKENS = 8              # END with tokens nobody took
    WATCHDOG = 9            # nothing moved for WATCHDOG cycles
    BAD_STORE = 10          # a STORE whose layout does not fit its tile (MAP32 for WG, ...)
    BAD_LOAD = 11           # a LOAD whose bytes are not its map's, or not whole entries


@dataclass(frozen=True)
class Field:
    name: str
    lsb: int
    width: int
    doc: str


@dataclass(frozen=True)
class Reg:
    name: str
    offset: int
    access: str             # RO, RW, W1, W1C, WO
    doc: str
    fields: tuple = ()
    reset: int = 0

    @property
    def mask(self):
        """The bits the register holds (all 32 when it has no fields)."""
        if not self.fields:
            return 0xFFFF_FFFF
        return sum(((1 << f.width) - 1) << f.lsb for f in self.fields)


# Performance counters (64-bit), in order from COUNTER_BASE, LO then HI.
COUNTERS = [
    ("CYCLES", "clock cycles since start"),
    ("CC_BUSY", "cycles the C-Core issued beats or wrote sums"),
    ("AC_BUSY", "cycles the A-Core ran a program"),
    ("LD_BUSY", "cycles the load unit moved data"),
    ("ST_BUSY", "cycles the store unit moved data"),
    ("DMA_READ_BYTES", "bytes the DMA read (descriptors included)"),
    ("DMA_WRITE_BYTES", "bytes the DMA wrote"),
    ("DRAM_WAIT", "cycles a DMA request waited for the bus"),
    ("LD_TOKEN_WAIT", "cycles the load unit's head waited for a token"),
    ("CC_TOKEN_WAIT", "cycles the C-Core's head waited for a token"),
    ("AC_TOKEN_WAIT", "cycles the A-Core's head waited for a token"),
    ("ST_TOKEN_WAIT", "cycles the store unit's head waited for a token or emitted sums"),
    ("DESCRIPTORS", "descriptors dispatched"),
]
COUNTER_BASE = 0x100

REGS = [
    Reg("ID", 0x000, "RO", "identifies the accelerator: 0x45544131 ('ETA1')", reset=ID),
    Reg("VERSION", 0x004, "RO", "the register map's version: major x 65536 + minor",
        reset=VERSION),
    Reg("CONFIG_HASH", 0x008, "RO", "the first 32 bits of SHA-256 of the configuration's "
        "JSON (`EtaConfig.to_json`): the host checks its program was compiled for this "
        "hardware"),
    Reg("CONTROL", 0x00C, "W1", "acts on a written 1", fields=(
        Field("start", 0, 1, "run the program at PROGRAM_BASE"),
        Field("resume", 1, 1, "go on after a host step"),
        Field("soft_reset", 2, 1, "stop everything, clear STATUS and the units' queues"),
    )),
    Reg("IRQ_ENABLE", 0x010, "RW", "which events raise the interrupt", fields=(
        Field("done", 0, 1, "the program reached END"),
        Field("error", 1, 1, "the run stopped with an error"),
        Field("host", 2, 1, "the run stopped at a host step"),
    )),
    Reg("IRQ_STATUS", 0x014, "W1C", "events since cleared (the interrupt is "
        "IRQ_STATUS & IRQ_ENABLE != 0)", fields=(
        Field("done", 0, 1, "END reached"),
        Field("error", 1, 1, "stopped with an error"),
        Field("host", 2, 1, "stopped at a host step"),
    )),
    Reg("STATUS", 0x018, "RO", "where the run is", fields=(
        Field("busy", 0, 1, "a program runs"),
        Field("done", 1, 1, "the last run reached END"),
        Field("error", 2, 1, "the last run stopped with an error"),
        Field("host", 3, 1, "stopped at a host step (HOST_STEP), waiting for resume"),
        Field("code", 8, 8, "the error (ErrorCode)"),
    )),
    Reg("ERROR_ADDR", 0x01C, "RO", "DRAM address of the descriptor that failed"),
    Reg("HOST_STEP", 0x020, "RO", "the host step the run stopped at"),
    Reg("PROGRAM_BASE", 0x024, "RW", "DRAM address of the program's first descriptor"),
    Reg("DRAM_BASE", 0x028, "RW", "the DRAM window the program may touch: its first byte"),
    Reg("DRAM_SIZE", 0x02C, "RW", "the window's size in bytes"),
    Reg("SCALAR_INDEX", 0x030, "RW", "which scalar slot SCALAR_DATA reads and writes",
        fields=(Field("index", 0, 10, "slot 0..1023"),)),
    Reg("SCALAR_DATA", 0x034, "RW", "the slot SCALAR_INDEX names (signed 32-bit)"),
    Reg("SEED_INDEX", 0x038, "RW", "which A-Core lane SEED_DATA seeds",
        fields=(Field("lane", 0, 8, "APU lane"),)),
    Reg("SEED_DATA", 0x03C, "WO", "writing a value loads it into the lane's LFSR (0 is "
        "replaced by 1)"),
    Reg("COUNTER_SNAPSHOT", 0x040, "W1", "latches every counter for reading",
        fields=(Field("latch", 0, 1, "copy the counters now"),)),
] + [Reg(f"{name}_{half}", COUNTER_BASE + 8 * i + 4 * j, "RO",
         f"{doc} ({'low' if j == 0 else 'high'} word of the latched copy)")
     for i, (name, doc) in enumerate(COUNTERS) for j, half in enumerate(("LO", "HI"))]

BY_NAME = {r.name: r for r in REGS}


def config_hash(cfg):
    return int(hashlib.sha256(cfg.to_json().encode()).hexdigest()[:8], 16)


def _check():
    seen = {}
    for r in REGS:
        assert r.offset % 4 == 0 and r.offset < 1 << ADDR_BITS, r
        assert r.access in ("RO", "RW", "W1", "W1C", "WO"), r
        assert r.offset not in seen, (r.name, seen.get(r.offset))
        seen[r.offset] = r.name
        used = 0
        for f in r.fields:
            bits = ((1 << f.width) - 1) << f.lsb
            assert not used & bits and f.lsb + f.width <= 32, (r.name, f.name)
            used |= bits


_check()
