"""PINT MAC: products summed into a saturating accumulator with a sticky overflow flag."""

import numpy as np

from hw.config import EtaConfig
from . import pint

__all__ = ["saturate", "mac_stream"]


def saturate(x, bits):
    """Clamp to the signed range of `bits` bits."""
    return np.clip(x, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def mac_stream(a, b, en, first, cfg=EtaConfig()):
    """Cycle by cycle, what the MAC registers hold after each clock edge.

    On an enabled cycle: acc <- sat((0 if first else acc) + a*b); ovf <- (0 if first else ovf)
    | (the sum left the acc_bits range). Disabled cycles hold both. Starts from acc=0, ovf=0.
    Returns (acc, ovf) arrays, one entry per cycle.
    """
    p = pint.multiply(a, b, cfg.pint)
    acc, ovf = 0, False
    accs, ovfs = np.empty(len(p), np.int64), np.empty(len(p), bool)
    for i in range(len(p)):
        if en[i]:
            s = (0 if first[i] else acc) + int(p[i])
            acc = int(saturate(s, cfg.acc_bits))
            ovf = (False if first[i] else ovf) | (acc != s)
        accs[i], ovfs[i] = acc, ovf
    return accs, ovfs
