"""PINT MAC: products summed exactly in mac_bits, read out saturated to acc_bits."""

import numpy as np

from hw.config import EtaConfig
from . import pint

__all__ = ["saturate", "wrap", "mac_stream"]


def saturate(x, bits):
    """Clamp to the signed range of `bits` bits."""
    return np.clip(x, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def wrap(x, bits):
    """Two's-complement wrap to `bits` bits (what a register does past cfg.max_terms)."""
    return ((int(x) + (1 << (bits - 1))) % (1 << bits)) - (1 << (bits - 1))


def mac_stream(a, b, en, first, cfg=EtaConfig()):
    """Cycle by cycle, what the MAC shows after each clock edge.

    On an enabled cycle: sum <- wrap_mac_bits((0 if first else sum) + a*b); disabled cycles
    hold. Shown: acc = saturate(sum, acc_bits), ovf = (acc != sum). Starts from sum = 0.
    Returns (acc, ovf) arrays, one entry per cycle.
    """
    p = pint.multiply(a, b, cfg.pint)
    total = 0
    accs, ovfs = np.empty(len(p), np.int64), np.empty(len(p), bool)
    for i in range(len(p)):
        if en[i]:
            total = wrap((0 if first[i] else total) + int(p[i]), cfg.mac_bits)
        accs[i] = saturate(total, cfg.acc_bits)
        ovfs[i] = accs[i] != total
    return accs, ovfs
