"""One configuration object for every size in the accelerator, with its presets."""

import dataclasses
import json
from dataclasses import dataclass, field


__all__ = ["PintFormat", "AcoreFormat", "EtaConfig", "vc709", "small", "configure"]


def _check_int(owner, name, value, lo, hi):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{owner}.{name} must be an int, not {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{owner}.{name} must be in [{lo}, {hi}], not {value}")


@dataclass(frozen=True)
class PintFormat:
    """PINT(k, d): one flag bit and a (k-1)-bit two's-complement integer v.

    Decoded value t (units of the tensor scale 2^e):
    flag=1 -> v << d; flag=0 and v fits in d+1 bits ("HB uniform") -> v; otherwise v << (k-2).
    """
    k: int = 8
    d: int = 3

    def __post_init__(self):
        _check_int("PintFormat", "k", self.k, 5, 12)
        # d must leave the high-bit group HB = v[k-2:d] at least two bits wide, or the
        # x2^(k-2) segment would be empty.
        _check_int("PintFormat", "d", self.d, 1, self.k - 3)

    # Field widths and segment shifts.
    @property
    def v_bits(self):
        return self.k - 1

    @property
    def shift_mid(self):
        """Shift of the flag=1 segment."""
        return self.d

    @property
    def shift_high(self):
        """Shift of the flag=0, HB-not-uniform segment."""
        return self.k - 2

    @property
    def t_bits(self):
        """Width of the signed integer domain: 2(k-2)+1 (13 for PINT(8,3))."""
        return 2 * (self.k - 2) + 1

    @property
    def product_bits(self):
        """Signed width of a product of two decoded values (t_min * t_min needs one bit more)."""
        return 2 * self.t_bits

    # Ranges of each segment in the t domain (inclusive).
    @property
    def low_range(self):
        return (-(1 << self.d), (1 << self.d) - 1)

    @property
    def mid_range(self):
        return (-(1 << (self.k - 2 + self.d)), ((1 << (self.k - 2)) - 1) << self.d)

    @property
    def t_min(self):
        return -(1 << (2 * (self.k - 2)))

    @property
    def t_max(self):
        return ((1 << (self.k - 2)) - 1) << (self.k - 2)


@dataclass(frozen=True)
class AcoreFormat:
    """Fixed-point formats of the A-Core (docs/acore.md): widths and binary points.

    Every A-Core value is a two's-complement integer; its real value is int x 2^-frac for the
    fixed formats below, or int x 2^e for tensors whose exponent e the host tracks.
    """
    word_bits: int = 48     # registers, operation results (saturating)
    acc_bits: int = 64      # the Accumulation register: exact for max_n words
    coef_bits: int = 18     # the second multiplier operand (a DSP48E1's B port)
    recip_bits: int = 16    # Division: quotient q in [2^(r-1), 2^(r+1)), r = recip_bits
    norm_bits: int = 32     # Division: both operands are normalized to this many bits
    max_n_bits: int = 16    # a channel holds at most 2^max_n_bits elements
    xhat_frac: int = 12     # x_hat and y = gamma x_hat + beta inside the APU: Q.12
    gamma_frac: int = 14    # gamma as a multiplier coefficient: Q.14 (|gamma| < 8)
    param_frac: int = 24    # stored gamma, beta, tau: 32-bit Q.24 (|p| < 128)
    momentum_frac: int = 16 # the momentum coefficient: Q.16
    xhat_exp: int = -7      # x_hat kept for BP as PINT with this exponent (|x_hat| <= 31.5)

    def __post_init__(self):
        for name, lo, hi in (("word_bits", 33, 60), ("coef_bits", 8, 25),
                             ("recip_bits", 8, 24), ("norm_bits", 16, 40),
                             ("max_n_bits", 1, 24), ("xhat_frac", 0, 24),
                             ("gamma_frac", 1, 24), ("param_frac", 1, 30),
                             ("momentum_frac", 1, 24), ("xhat_exp", -24, 24)):
            _check_int("AcoreFormat", name, getattr(self, name), lo, hi)
        _check_int("AcoreFormat", "acc_bits", self.acc_bits,
                   self.word_bits + self.max_n_bits, 64)
        if self.recip_bits + 1 >= self.coef_bits:
            raise ValueError(f"AcoreFormat.recip_bits must be below coef_bits - 1 "
                             f"({self.coef_bits - 1}) so a quotient is a coefficient, "
                             f"not {self.recip_bits}")
        if self.gamma_frac > self.param_frac or self.xhat_frac > self.param_frac:
            raise ValueError("AcoreFormat.gamma_frac and xhat_frac must not exceed param_frac")

    @property
    def max_n(self):
        return 1 << self.max_n_bits


@dataclass(frozen=True)
class EtaConfig:
    """Every size of the accelerator. Presets: `vc709()` (the paper's array), `small()` (tests)."""
    name: str = "vc709"
    clusters: int = 8           # C-Core: clusters, one output channel each
    wpus: int = 3               # WPUs per cluster, one convolution window each
    pe_rows: int = 3            # PE rows per WPU: one per kernel row of a 3x3 kernel
    pe_cols: int = 8            # PE columns per WPU (input channels per step)
    macs_per_pe: int = 3
    pint: PintFormat = field(default_factory=PintFormat)
    acc_bits: int = 32          # width of a MAC's result: the exact sum, saturated
    mac_bits: int = 48          # the exact running sum inside a MAC (a DSP48E1's P register)
    shift_bits: int = 5         # converter scale-shift field: shifts 0 .. 2^shift_bits - 1
    lfsr_bits: int = 32         # stochastic-rounding LFSR state
    round_bits: int = 16        # random bits drawn per stochastic rounding
    wbuf_bits: int = 10         # weight buffer: 3 x clusters banks of 2^10 entries
    psum_bits: int = 9          # partial-sum buffer: 2^9 sums per lane bank
    psum_sum_bits: int = 35     # a partial sum, saturating: with its flag, one 512 x 36 RAMB18
    ibuf_bits: int = 10         # input buffer: 3 x wpus banks of 2^10 entries
    apus: int = 8               # A-Core: APUs, one output channel each
    apu_buffer_bits: int = 12   # an APU's channel buffer: 2^12 elements (a 64x64 map)
    acore: AcoreFormat = field(default_factory=AcoreFormat)
    axi_data_bits: int = 512    # the DMA's AXI4 data bus: a VC709 MIG's native width
    dram_addr_bits: int = 32    # DRAM byte addresses (a 4 GiB window)

    def __post_init__(self):
        if not isinstance(self.pint, PintFormat):
            raise TypeError(f"EtaConfig.pint must be a PintFormat, not {self.pint!r}")
        if not isinstance(self.acore, AcoreFormat):
            raise TypeError(f"EtaConfig.acore must be an AcoreFormat, not {self.acore!r}")
        _check_int("EtaConfig", "wbuf_bits", self.wbuf_bits, 2, 16)
        _check_int("EtaConfig", "psum_bits", self.psum_bits, 2, 16)
        _check_int("EtaConfig", "ibuf_bits", self.ibuf_bits, 2, 16)
        _check_int("EtaConfig", "apus", self.apus, 1, 64)
        _check_int("EtaConfig", "apu_buffer_bits", self.apu_buffer_bits, 1,
                   self.acore.max_n_bits)
        _check_int("EtaConfig", "clusters", self.clusters, 1, 64)
        _check_int("EtaConfig", "wpus", self.wpus, 1, 16)
        # The WPU maps the three kernel rows of a 3x3 kernel onto its PE rows.
        _check_int("EtaConfig", "pe_rows", self.pe_rows, 3, 3)
        _check_int("EtaConfig", "pe_cols", self.pe_cols, 1, 64)
        _check_int("EtaConfig", "macs_per_pe", self.macs_per_pe, 3, 3)
        # The accumulator holds three full products (a PE's FP or BP lane, which then never
        # clamps: `hw.pe`), and stays a DSP48-friendly size.
        _check_int("EtaConfig", "acc_bits", self.acc_bits, self.pint.product_bits + 2, 48)
        _check_int("EtaConfig", "mac_bits", self.mac_bits, self.acc_bits, 48)
        _check_int("EtaConfig", "psum_sum_bits", self.psum_sum_bits, self.acc_bits,
                   self.mac_bits)
        _check_int("EtaConfig", "shift_bits", self.shift_bits, 1, 6)
        if (1 << self.shift_bits) - 1 < self.acc_bits - (self.pint.t_bits - 1):
            raise ValueError(
                f"EtaConfig.shift_bits must reach shift {self.acc_bits - self.pint.t_bits + 1} "
                f"(the largest an acc_bits={self.acc_bits} tensor needs), "
                f"not only {(1 << self.shift_bits) - 1}")
        _check_int("EtaConfig", "lfsr_bits", self.lfsr_bits, 32, 32)
        if self.axi_data_bits not in (32, 64, 128, 256, 512, 1024):
            raise ValueError(f"EtaConfig.axi_data_bits must be a power of two in [32, 1024] "
                             f"(an AXI4 data width), not {self.axi_data_bits}")
        _check_int("EtaConfig", "dram_addr_bits", self.dram_addr_bits, 16, 40)
        _check_int("EtaConfig", "round_bits", self.round_bits, 1, self.lfsr_bits)

    @property
    def max_terms(self):
        """Products a MAC can sum before its mac_bits register could wrap (2^23 for 48 bits)."""
        return 1 << (self.mac_bits - self.pint.product_bits + 1)

    @property
    def axi_bytes(self):
        """Bytes per beat of the DMA's bus: what DRAM tensors are aligned to."""
        return self.axi_data_bits // 8

    @property
    def macs(self):
        """MACs in the whole C-Core array."""
        return self.clusters * self.wpus * self.pe_rows * self.pe_cols * self.macs_per_pe

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text):
        fields = json.loads(text)
        fields["pint"] = PintFormat(**fields["pint"])
        fields["acore"] = AcoreFormat(**fields["acore"])
        return cls(**fields)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def vc709():
    """The paper's array: 8 clusters x 3 WPUs x 3x8 PEs x 3 MACs = 1728 MACs."""
    return EtaConfig()


def small():
    """What the tests use: 2 clusters, 2 WPUs, 3x2 PEs."""
    return EtaConfig(name="small", clusters=2, wpus=2, pe_rows=3, pe_cols=2, apus=2,
                     apu_buffer_bits=8, wbuf_bits=6, psum_bits=5, ibuf_bits=6,
                     axi_data_bits=64)


PRESETS = {"vc709": vc709, "small": small}


def configure(preset="vc709", config=None, overrides=()):
    """A configuration from a preset, a JSON file (EtaConfig.to_json's form, any subset of
    fields, over the preset) and `key=value` overrides (`acore.word_bits=40` reaches the
    nested formats); every value is checked by EtaConfig."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, not {preset!r}")
    fields = json.loads(PRESETS[preset]().to_json())
    if config is not None:
        given = json.loads(config)
        if not isinstance(given, dict):
            raise ValueError("a configuration file holds a JSON object of fields")
        for key, value in given.items():
            if isinstance(value, dict) and isinstance(fields.get(key), dict):
                fields[key].update(value)
            else:
                fields[key] = value
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"an override is key=value, not {item!r}")
        where, name = fields, key
        if "." in key:
            outer, name = key.split(".", 1)
            where = fields.get(outer)
            if not isinstance(where, dict):
                raise ValueError(f"unknown configuration field {outer!r} in {item!r}")
        if name not in where:
            raise ValueError(f"unknown configuration field {key!r}")
        where[name] = value if name == "name" else int(value, 0)
    unknown = set(fields) - {f.name for f in dataclasses.fields(EtaConfig)}
    if unknown:
        raise ValueError(f"unknown configuration field(s) {sorted(unknown)}")
    if (config or overrides) and fields["name"] == preset:
        fields["name"] = f"{preset}-custom"
    return EtaConfig.from_json(json.dumps(fields))


class Configured:
    """Mixin for components built from an EtaConfig: checks it, keeps it, shows it as `cfg`.

    Use as `class X(Configured, wiring.Component)` and call `super().__init__(cfg, members)`,
    where `members(cfg)` gives the signature members (called only once cfg is known good).
    """

    def __init__(self, cfg, members):
        if not isinstance(cfg, EtaConfig):
            raise TypeError(f"'cfg' must be an EtaConfig, not {cfg!r}")
        self._cfg = cfg
        super().__init__(members(cfg))

    @property
    def cfg(self):
        return self._cfg
