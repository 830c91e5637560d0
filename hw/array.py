"""The C-Core array: clusters sharing the input rows, each with its own output channel's
weights (and, in WG, its own errors)."""

from amaranth.hdl import Module
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .cluster import Cluster, cluster_beat_layout, cluster_result_layout, decoded_weights_layout
from .config import Configured
from .lockstep import fan_out, gather
from .isa.modes import pe_mode_layout
from .reuse import Reused

__all__ = ["array_beat_layout", "array_result_layout", "CCoreArray"]


def array_beat_layout(cfg):
    cl = cluster_beat_layout(cfg)
    return data.StructLayout({
        "x": cl["x"].shape,                                    # shared by every cluster
        "e": data.ArrayLayout(cl["e"].shape, cfg.clusters),    # per cluster
        "row": 1, "first": 1, "last": 1,
    })


def array_result_layout(cfg):
    return data.ArrayLayout(cluster_result_layout(cfg), cfg.clusters)


class CCoreArray(Configured, wiring.Component):
    """cfg.clusters clusters in step. `w[k]` loads into cluster k on `w_load` (a shadow copy
    until `w_swap`)."""

    def __init__(self, cfg):
        super().__init__(cfg, lambda cfg: {
            "mode": In(pe_mode_layout()),
            "w": In(data.ArrayLayout(decoded_weights_layout(cfg), cfg.clusters)), "w_load": In(1),
            "w_swap": In(1),
            "i": In(stream.Signature(array_beat_layout(cfg))),
            "o": Out(stream.Signature(array_result_layout(cfg))),
        })

    def elaborate(self, platform):
        m = Module()
        clusters = [Reused(lambda: Cluster(self._cfg), "cluster", self._cfg)
                    for _ in range(self._cfg.clusters)]
        fan_out(m, self.i, [c.i for c in clusters])
        gather(m, [c.o for c in clusters], self.o)
        for k, c in enumerate(clusters):
            m.submodules[f"cluster{k}"] = c
            beat = self.i.payload
            m.d.comb += [
                c.mode.eq(self.mode), c.w.eq(self.w[k]), c.w_load.eq(self.w_load), c.w_swap.eq(self.w_swap),
                c.i.payload.x.eq(beat.x), c.i.payload.e.eq(beat.e[k]),
                c.i.payload.row.eq(beat.row), c.i.payload.first.eq(beat.first),
                c.i.payload.last.eq(beat.last),
                self.o.payload[k].eq(c.o.payload),
            ]
        return m
