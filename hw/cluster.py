"""PE cluster: WPUs sharing one set of weights, each on its own convolution window."""

from amaranth.hdl import Module
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .config import Configured
from .lockstep import fan_out, gather
from .isa.modes import LANES, pe_mode_layout
from .pe import operand_shape
from .pint import pint_layout
from .reuse import Reused
from .wpu import Wpu, wpu_beat_layout, wpu_result_layout

__all__ = ["cluster_beat_layout", "cluster_result_layout", "weights_layout",
           "decoded_weights_layout", "Cluster"]


def weights_layout(cfg):
    """What one weight-buffer read carries per cluster: three codes per PE column."""
    return data.ArrayLayout(data.ArrayLayout(pint_layout(cfg.pint), LANES), cfg.pe_cols)


def decoded_weights_layout(cfg):
    """What one weight load into a cluster carries: `weights_layout`'s codes decoded
    (`hw.pe.operand_shape`)."""
    return data.ArrayLayout(data.ArrayLayout(operand_shape(cfg), LANES), cfg.pe_cols)


def cluster_beat_layout(cfg):
    wpu = wpu_beat_layout(cfg)
    return data.StructLayout({
        "x": data.ArrayLayout(wpu["x"].shape, cfg.wpus),
        "e": data.ArrayLayout(wpu["e"].shape, cfg.wpus),
        "row": 1, "first": 1, "last": 1,
    })


def cluster_result_layout(cfg):
    return data.ArrayLayout(wpu_result_layout(cfg), cfg.wpus)


class Cluster(Configured, wiring.Component):
    """cfg.wpus WPUs in step: the same weights and flags, each its own rows."""

    def __init__(self, cfg):
        super().__init__(cfg, lambda cfg: {
            "mode": In(pe_mode_layout()),
            "w": In(decoded_weights_layout(cfg)), "w_load": In(1), "w_swap": In(1),
            "i": In(stream.Signature(cluster_beat_layout(cfg))),
            "o": Out(stream.Signature(cluster_result_layout(cfg))),
        })

    def elaborate(self, platform):
        m = Module()
        wpus = [Reused(lambda: Wpu(self._cfg), "wpu", self._cfg) for _ in range(self._cfg.wpus)]
        fan_out(m, self.i, [u.i for u in wpus])
        gather(m, [u.o for u in wpus], self.o)
        for n, u in enumerate(wpus):
            m.submodules[f"wpu{n}"] = u
            beat = self.i.payload
            m.d.comb += [
                u.mode.eq(self.mode), u.w.eq(self.w), u.w_load.eq(self.w_load), u.w_swap.eq(self.w_swap),
                u.i.payload.x.eq(beat.x[n]), u.i.payload.e.eq(beat.e[n]),
                u.i.payload.row.eq(beat.row), u.i.payload.first.eq(beat.first),
                u.i.payload.last.eq(beat.last),
                self.o.payload[n].eq(u.o.payload),
            ]
        return m
