"""The VC709 board top: the platform's pins to the block design of `boards.system` (MIG,
XDMA, SmartConnects and the accelerator inside it). Everything in it is an instance; the
pins are requested raw (`dir="-"`), since the MIG and XDMA drive their own buffers."""

from amaranth.hdl import Cat, Elaboratable, Instance, Module

from .system import DESIGN, PORTS

__all__ = ["BoardTop"]

_DDR3 = {   # block-design port -> (resource subsignal, differential half)
    "ddr3_dq": ("dq", None), "ddr3_dqs_p": ("dqs", "p"), "ddr3_dqs_n": ("dqs", "n"),
    "ddr3_addr": ("a", None), "ddr3_ba": ("ba", None), "ddr3_ras_n": ("ras", None),
    "ddr3_cas_n": ("cas", None), "ddr3_we_n": ("we", None), "ddr3_reset_n": ("rst", None),
    "ddr3_ck_p": ("clk", "p"), "ddr3_ck_n": ("clk", "n"), "ddr3_cke": ("clk_en", None),
    "ddr3_cs_n": ("cs", None), "ddr3_dm": ("dm", None), "ddr3_odt": ("odt", None),
}


def _pin(port, half):
    return getattr(port, half) if half else port.io


class BoardTop(Elaboratable):
    """The block design's wrapper, every external port on its pin."""

    def elaborate(self, platform):
        m = Module()
        ddr3 = platform.request("ddr3", 0, dir="-")
        pcie = platform.request("pcie", 0, dir="-")
        clk = platform.request("clk200", 0, dir="-")
        rst = platform.request("rst", 0, dir="-")
        leds = [platform.request("led", i, dir="-") for i in range(PORTS["leds"][1])]
        pins = {name: _pin(getattr(ddr3, sub), half) for name, (sub, half) in _DDR3.items()}
        pins.update({
            "sys_clk_clk_p": clk.p, "sys_clk_clk_n": clk.n, "sys_rst": rst.io,
            "pcie_refclk_clk_p": pcie.clk.p, "pcie_refclk_clk_n": pcie.clk.n,
            "pcie_perst_n": pcie.perst.io,
            "pcie_mgt_rxp": pcie.rx.p, "pcie_mgt_rxn": pcie.rx.n,
            "pcie_mgt_txp": pcie.tx.p, "pcie_mgt_txn": pcie.tx.n,
        })
        pins["leds"] = Cat(led.io for led in leds)
        if set(pins) != set(PORTS):
            raise AssertionError(f"pins and block-design ports differ: "
                                 f"{sorted(set(pins) ^ set(PORTS))}")
        m.submodules.system = Instance(f"{DESIGN}_wrapper", **{
            f"{PORTS[name][0]}_{name}": pin for name, pin in pins.items()})
        return m

