"""The A-Core workloads as APU programs, one per workload, with the registers the host loads.

Each program follows its function in `sim/golden/acore.py` operation by operation (same
operands, shifts and saturations), which is what makes the RTL bit-exact with it.
Element inputs (x0, x1, x2, flag) and outputs (out0, out1, flag) per workload:

| program | x0 | x1 | x2 | flag in | out0 | out1 | flag out | result stream |
|---|---|---|---|---|---|---|---|---|
| frn_fp | x | | | | z (Q.12) | x_hat (Q.12) | b | q, e |
| frn_stats | x (channel 0) | | | | | | | |
| frn_fp_next, frn_fp_last | x of the next channel (next only) | | | | z | x_hat | b | q, e |
| frn_bp | dz | x_hat (PINT t) | | b | dx | | | d gamma, d beta, d tau |
| tlu_fp | y | | | | z | | b | |
| tlu_bp | dz | | | b | dy | | | d tau |
| sgd | g | v | w | | w' | v' | | |
| add | a | b | | | a 2^ea + b 2^eb | | | |
| sum | word | | | | | | | the sum |
| copy | x | | | | x | | | |

The register map the host (or the controller's loader) fills is `hw.isa.apu` (`*_regs`).
"""

from .isa.apu import DIV, EMIT, END, PASS, Program, assemble

__all__ = ["programs", "rom"]


def programs(fmt):
    """The programs for the formats `fmt` (an AcoreFormat): {name: [instructions]}."""
    # L1-FRN + TLU forward. D = sum(|x| + eps); q, e = N / D; x_hat = x q >> (-e - 12);
    # y = x_hat gamma >> 14 + beta; z, b = max(y, tau), y >= tau.
    # R0 eps, R1 gamma_c, R2 beta, R3 tau, R4 N.
    stats = PASS("stream", store=True, clear=(0,), mads=[{"op": "abs", "add": ("reg", 0)}],
                 acc={0: "ma"})

    def normalize(intake):
        return [
            DIV(("reg", 4), ("acc", 0), q_dst=5, e_dst=1),
            PASS("buffer", intake=intake, clear=(0,) if intake else (),
                 mads=[{"op": "x0", "coef": ("reg", 5), "sh": (-fmt.xhat_frac, 0, 1)},
                       {"op": "ma", "coef": ("reg", 1), "sh": fmt.gamma_frac,
                        "add": ("reg", 2)}],
                 cmp=("mb", 3), out0="cmp", out1="ma"),
            EMIT(("reg", 5)), EMIT(("exp", 1)), END(),
        ]

    return {
        # One channel: statistics pass, then the normalizing pass.
        "frn_fp": [stats] + normalize(False),
        # A layer, overlapped: frn_stats takes channel 0; each frn_fp_next normalizes the
        # channel taken last while taking the next; frn_fp_last normalizes the last one.
        "frn_stats": [stats, END()],
        "frn_fp_next": normalize(True),
        "frn_fp_last": normalize(False),
        # dy = b dz; A0 = sum dy t, A1 = sum dy, A2 = sum (1-b) dz; qn, en = 1 / N;
        # mean = A0 qn >> (7 - en); gl = gamma_c q >> 17; dx = (dy - sign(t) mean) gl >> sh.
        # R0 1, R1 gamma_c, R4 N, R5 q; E2 e, E3 e_max.
        "frn_bp": [
            PASS("stream", store=True, clear=(0, 1, 2), mads=[{"op": "dy", "coef": "x1"}],
                 acc={0: "ma", 1: "dy", 2: "ndy"}),
            DIV(("reg", 0), ("reg", 4), q_dst=6, e_dst=1),
            PASS(mads=[{"op": ("acc", 0), "coef": ("reg", 6), "sh": (-fmt.xhat_exp, 0, 1)}],
                 wb=(7, "ma")),
            PASS(mads=[{"op": ("reg", 1), "coef": ("reg", 5), "sh": fmt.recip_bits + 1}],
                 wb=(3, "ma")),
            PASS("buffer", mads=[{"op": ("reg", 7), "coef": "nsign", "add": "dy"},
                                 {"op": "ma", "coef": ("reg", 3), "sh": (fmt.coef_bits - 1, 3, 2)}],
                 out0="mb"),
            EMIT(("acc", 0)), EMIT(("acc", 1)), EMIT(("acc", 2)), END(),
        ],
        # R3 tau.
        "tlu_fp": [PASS("stream", cmp=("x0", 3), out0="cmp"), END()],
        "tlu_bp": [PASS("stream", clear=(2,), acc={2: "ndy"}, out0="dy"), EMIT(("acc", 2)), END()],
        # v' = sat32(g g_c >> E1 + (v m_c >> 16)); w' = sat32(v' (-lr_c) >> E2 + w).
        # R0 m_c, R1 g_c, R2 -lr_c; E1 g_sh, E2 lr_sh.
        "sgd": [
            PASS("stream", mads=[{"op": "x1", "coef": ("reg", 0), "sh": fmt.momentum_frac},
                                 {"op": "x0", "coef": ("reg", 1), "sh": (0, 1, 0), "add": "ma",
                                  "narrow": True},
                                 {"op": "mb", "coef": ("reg", 2), "sh": (0, 2, 0), "add": "x2",
                                  "narrow": True}],
                 out0="mc", out1="mb"),
            END(),
        ],
        # The sum of a channel's N words (the FRN gradients of a batch, one image per element).
        "sum": [PASS("stream", clear=(0,), acc={0: "x0"}), EMIT(("acc", 0)), END()],
        # x0 unchanged to the outputs (and so through converter 0).
        "copy": [PASS("stream", out0="x0"), END()],
        # s = a ca >> E1 + (b cb >> E2). R0 ca, R1 cb.
        "add": [
            PASS("stream", mads=[{"op": "x1", "coef": ("reg", 1), "sh": (0, 2, 0)},
                                 {"op": "x0", "coef": ("reg", 0), "sh": (0, 1, 0), "add": "ma"}],
                 out0="mb"),
            END(),
        ],
    }


def rom(cfg):
    """(ROM words, {program: entry address}) for an EtaConfig; every `Program` is in it."""
    progs = programs(cfg.acore)
    missing = {p.key for p in Program} ^ set(progs)
    assert not missing, f"programs and isa.apu.Program disagree on {sorted(missing)}"
    return assemble(progs)
