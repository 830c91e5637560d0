"""The partial-sum buffer: per address and lane, the tiles' results summed, saturating at
psum_sum_bits, and a sticky flag for a clamped input or sum; read out saturated to acc_bits
(ovf: clamped anywhere). A result is exact or flagged."""

from hw.config import EtaConfig

__all__ = ["PsumModel"]


class PsumModel:
    def __init__(self, lanes, cfg=EtaConfig()):
        self.lanes, self.cfg = lanes, cfg
        self.mem = {}

    def accumulate(self, first, addr, values, emit=False):
        """values: [(value, ovf)] per lane; `first` restarts the sums. With `emit`, returns
        the new sums as `read` gives them."""
        if len(values) != self.lanes:
            raise ValueError(f"{self.lanes} lanes, not {len(values)}")
        if not 0 <= addr < 1 << self.cfg.psum_bits:
            raise ValueError(f"address {addr} beyond the {1 << self.cfg.psum_bits} sums")
        old = self.mem.get(addr, [(0, 0)] * self.lanes)
        top = 1 << (self.cfg.psum_sum_bits - 1)
        new = []
        for (s, o), (v, f) in zip(old, values):
            if first:
                new.append((v, int(f)))
                continue
            total = min(max(s + v, -top), top - 1)
            new.append((total, int(f or o or total != s + v)))
        self.mem[addr] = new
        return self.read(addr) if emit else None

    def read(self, addr):
        """[(value saturated to acc_bits, ovf)] per lane."""
        hi = (1 << (self.cfg.acc_bits - 1)) - 1
        out = []
        for s, o in self.mem.get(addr, [(0, 0)] * self.lanes):
            v = min(max(s, -hi - 1), hi)
            out.append((v, int(o or v != s)))
        return out
