"""The runtime's board backend: the VC709 build (`boards.top`) through Xilinx's XDMA Linux
driver (dma_ip_drivers, `XDMA/linux-kernel/xdma`). Its character devices:

    {prefix}_user       the AXI4-Lite BAR: 4 bytes at a 4-aligned file offset = a register
    {prefix}_h2c_0      host to card: bytes written at file offset = DRAM address
    {prefix}_c2h_0      card to host: bytes read from file offset = DRAM address
    {prefix}_events_0   user interrupt 0 (the accelerator's irq): a 4-byte read blocks until
                        it fires

`XdmaDevice` opens them; anything with the same `pread(n, offset)` / `pwrite(data, offset)`
calls stands in for a file (the board test's simulated XDMA does). The register protocol
is `sim.register_backend`'s, the same as the RTL backend's.
"""

import os
import select
import time

from hw.isa.regs import BY_NAME
from sim.register_backend import AcceleratorError, RegisterBackend

__all__ = ["DeviceFile", "XdmaDevice", "XdmaLink", "BoardBackend", "AcceleratorError"]

CHUNK = 1 << 23         # bytes per DMA call: the driver maps each call's pages at once


class DeviceFile:
    """One character device, opened once: positioned reads and writes."""

    def __init__(self, path, flags):
        self.path = path
        self.fd = os.open(path, flags)

    def pread(self, n, offset):
        return os.pread(self.fd, n, offset)

    def pwrite(self, data, offset):
        return os.pwrite(self.fd, data, offset)

    def close(self):
        os.close(self.fd)


class XdmaDevice:
    """The four device files of XDMA instance `prefix` (default /dev/xdma0). Without an
    events file the backend polls IRQ_STATUS instead."""

    def __init__(self, prefix="/dev/xdma0"):
        missing = [f"{prefix}_{n}" for n in ("user", "h2c_0", "c2h_0")
                   if not os.path.exists(f"{prefix}_{n}")]
        if missing:
            raise FileNotFoundError(
                f"no XDMA device: {', '.join(missing)} missing (is the board programmed, the "
                f"host rebooted or the PCIe bus rescanned, and the xdma driver loaded?)")
        self.user = DeviceFile(f"{prefix}_user", os.O_RDWR)
        self.h2c = DeviceFile(f"{prefix}_h2c_0", os.O_WRONLY)
        self.c2h = DeviceFile(f"{prefix}_c2h_0", os.O_RDONLY)
        events = f"{prefix}_events_0"
        self.events = DeviceFile(events, os.O_RDONLY) if os.path.exists(events) else None


class XdmaLink:
    """`RegisterBackend`'s link over an XdmaDevice (or a stand-in with `user`, `h2c`, `c2h`
    and `events` files); `limit` in seconds."""

    POLL_S = 0.001

    def __init__(self, device):
        self.dev = device

    def read_reg(self, offset):
        data = self.dev.user.pread(4, offset)
        if len(data) != 4:
            raise IOError(f"register {offset:#x}: read {len(data)} of 4 bytes")
        return int.from_bytes(data, "little")

    def write_reg(self, offset, value):
        n = self.dev.user.pwrite(value.to_bytes(4, "little"), offset)
        if n != 4:
            raise IOError(f"register {offset:#x}: wrote {n} of 4 bytes")

    def read(self, addr, n):
        out = bytearray()
        while len(out) < n:
            chunk = self.dev.c2h.pread(min(CHUNK, n - len(out)), addr + len(out))
            if not chunk:
                raise IOError(f"DRAM read stopped at {addr + len(out):#x} ({len(out)} of "
                              f"{n} bytes)")
            out += chunk
        return bytes(out)

    def write(self, addr, data):
        done = 0
        while done < len(data):
            n = self.dev.h2c.pwrite(data[done:done + CHUNK], addr + done)
            if n <= 0:
                raise IOError(f"DRAM write stopped at {addr + done:#x} ({done} of "
                              f"{len(data)} bytes)")
            done += n

    def wait_irq(self, limit):
        """Until the interrupt fires: the events file read (once poll says it will not
        block), or IRQ_STATUS polled when there is none. TimeoutError after `limit` s."""
        events = self.dev.events
        if events is not None:
            if hasattr(events, "fd"):
                poller = select.poll()
                poller.register(events.fd, select.POLLIN)
                if not poller.poll(int(limit * 1000)):
                    raise TimeoutError(f"no interrupt in {limit} s")
            events.pread(4, 0)
            return
        end = time.monotonic() + limit
        while not (self.read_reg(BY_NAME["IRQ_STATUS"].offset)
                   & self.read_reg(BY_NAME["IRQ_ENABLE"].offset)):
            if time.monotonic() > end:
                raise TimeoutError(f"no interrupt in {limit} s")
            time.sleep(self.POLL_S)


class BoardBackend(RegisterBackend):
    """The runtime's calls on the board: `device` an XdmaDevice, or the prefix of one's files
    (default ETA_XDMA or /dev/xdma0); `limit`: seconds to wait for an interrupt."""

    def __init__(self, cfg, dram_bytes, device=None, seeds=None, limit=600.0):
        if device is None or isinstance(device, str):
            device = XdmaDevice(device or os.environ.get("ETA_XDMA", "/dev/xdma0"))
        self.device = device
        super().__init__(cfg, dram_bytes, XdmaLink(device), limit, seeds)
