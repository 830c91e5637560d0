"""The C-Core's computational patterns (paper Fig. 6): phase, stride and kernel, and the mode
word the PE, WPU and C-Core hold while a pattern runs."""

from amaranth.lib import data, enum

__all__ = ["LANES", "Phase", "Mode", "MODES", "pe_mode_layout", "psum_lane"]

LANES = 3           # a PE's output lanes: one per MAC


def psum_lane(cfg, k, w, r, lane):
    """Index of a C-Core partial-sum lane: cluster k, WPU w, PE row r, MAC lane `lane`."""
    return ((k * cfg.wpus + w) * cfg.pe_rows + r) * LANES + lane


class Phase(enum.IntEnum, shape=2):
    FP = 0
    BP = 1
    WG = 2


def pe_mode_layout():
    """The mode word: phase, stride 2, kernel 1x1."""
    return data.StructLayout({"phase": Phase, "stride2": 1, "k1": 1})


class Mode(tuple):
    """(phase, stride, kernel) of one pattern; `bits` is its `pe_mode_layout` value."""

    def __new__(cls, phase, stride, k):
        if k not in (1, 3):
            raise ValueError(f"kernel must be 1 or 3, not {k}")
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, not {stride}")
        if k == 1 and stride != 1:
            raise ValueError("a 1x1 pattern runs at stride 1; subsample its input instead")
        return super().__new__(cls, (Phase(phase), stride, k))

    phase = property(lambda s: s[0])
    stride = property(lambda s: s[1])
    k = property(lambda s: s[2])

    @property
    def bits(self):
        return {"phase": self.phase, "stride2": int(self.stride == 2), "k1": int(self.k == 1)}

    @classmethod
    def from_bits(cls, bits):
        """A `pe_mode_layout` value (dict) -> Mode; raises ValueError for an undefined one."""
        phase = bits["phase"]
        if int(phase) not in {p.value for p in Phase}:
            raise ValueError(f"phase {int(phase)} is not one of FP, BP, WG")
        return cls(Phase(phase), 2 if bits["stride2"] else 1, 1 if bits["k1"] else 3)

    def __repr__(self):
        return f"{self.phase.name}_K{self.k}" if self.k == 1 else \
            f"{self.phase.name}_S{self.stride}"


# The seven patterns; 1x1 FP and BP are one PE pattern (BP's transposition is the weight
# network's), 1x1 WG accumulates errors of three output channels.
MODES = [Mode(Phase.FP, 1, 3), Mode(Phase.BP, 1, 3), Mode(Phase.WG, 1, 3),
         Mode(Phase.FP, 2, 3), Mode(Phase.BP, 2, 3), Mode(Phase.WG, 2, 3),
         Mode(Phase.FP, 1, 1), Mode(Phase.WG, 1, 1)]
