"""The Xilinx VC709 board (XC7VX690T-2FFG1761C) as an Amaranth platform.

Pins come from two public sources each, the PCIe lanes from one (`docs/board.md` names
them). The DDR3 pins of the first SODIMM (MIG controller 0) are one table, `DDR3`, from
which both the platform's `ddr3` resource and the MIG project file (`boards.mig`) are made. `BANK_VCCO` says which supply
each pin's bank has, so `boards.check` can tell an I/O standard its bank cannot drive.
"""

import os
import shutil
import subprocess
import tempfile

from amaranth.build import Attrs, Clock, DiffPairs, Pins, PinsN, Resource, Subsignal
from amaranth.vendor import XilinxPlatform
from amaranth_boards.resources import (ButtonResources, I2CResource, LEDResources,
                                       SwitchResources, UARTResource)

__all__ = ["VC709Platform", "DDR3", "PCIE", "BANK_VCCO", "GT_PINS"]

_LV18 = Attrs(IOSTANDARD="LVCMOS18")

# DDR3 SODIMM 1 (MIG controller 0, banks 37-39 at 1.5 V): signal -> pins, index order.
DDR3 = {
    "addr": "A20 B19 C20 A19 A17 A16 D20 C18 D17 C19 B21 B17 A15 A21 F17 E17",
    "ba": "D21 C21 D18",
    "ras_n": "E20", "cas_n": "K17", "we_n": "F20", "reset_n": "P18",
    "ck_p": "E19", "ck_n": "E18", "cke": "K19", "cs_n": "J17", "odt": "H20",
    "dm": "M13 K15 F12 A14 C23 D25 C31 F31",
    "dq": ("N14 N13 L14 M14 M12 N15 M11 L12 K14 K13 H13 J13 L16 L15 H14 J15 "
           "E15 E13 F15 E14 G13 G12 F14 G14 B14 C13 B16 D15 D13 E12 C16 D16 "
           "A24 B23 B27 B26 A22 B22 A25 C24 E24 D23 D26 C25 E23 D22 F22 E22 "
           "A30 D27 A29 C28 D28 B31 A31 A32 E30 F29 F30 F27 C30 E29 F26 D30"),
    "dqs_p": "N16 K12 H16 C15 A26 F25 B28 E27",
    "dqs_n": "M16 J12 G16 C14 A27 E25 B29 E28",
}

# The PCIe edge connector: x8 lanes and the 100 MHz reference clock (transceiver pins: no
# I/O standard; the XDMA core places its GTH channels on them).
PCIE = {
    "tx_p": "W2 AA2 AC2 AE2 AG2 AH4 AJ2 AK4", "tx_n": "W1 AA1 AC1 AE1 AG1 AH3 AJ1 AK3",
    "rx_p": "Y4 AA6 AB4 AC6 AD4 AE6 AF4 AG6", "rx_n": "Y3 AA5 AB3 AC5 AD3 AE5 AF3 AG5",
    "clk_p": "AB8", "clk_n": "AB7",
}
GT_PINS = frozenset(" ".join(PCIE.values()).split())

# Bank supply of every user pin the platform names: the DDR3 banks and the system clock's
# at 1.5 V, everything else at 1.8 V.
_PINS_1V5 = " ".join(DDR3.values()) + " H19 G18 AY18 AY17"
_PINS_1V8 = ("AK34 AL34 AJ32 AK32 AV40 AM39 AN39 AR37 AT37 AR35 AP41 AP42 AU39 "
             "AR40 AU38 AP40 AW40 AV39 AV30 AY33 BA31 BA32 AW30 AY30 BA30 BB31 "
             "AU33 AU36 AT32 AR34 AT35 AU32 AY42 AV35")
BANK_VCCO = {**{p: 1.5 for p in _PINS_1V5.split()}, **{p: 1.8 for p in _PINS_1V8.split()}}


def _ddr3_resource():
    d = DDR3
    ios = [Subsignal("a", Pins(d["addr"], dir="o")), Subsignal("ba", Pins(d["ba"], dir="o")),
           Subsignal("ras", PinsN(d["ras_n"], dir="o")),
           Subsignal("cas", PinsN(d["cas_n"], dir="o")),
           Subsignal("we", PinsN(d["we_n"], dir="o")),
           Subsignal("rst", PinsN(d["reset_n"], dir="o"), Attrs(IOSTANDARD="LVCMOS15")),
           Subsignal("clk", DiffPairs(d["ck_p"], d["ck_n"], dir="o"),
                     Attrs(IOSTANDARD="DIFF_SSTL15")),
           Subsignal("clk_en", Pins(d["cke"], dir="o")),
           Subsignal("cs", PinsN(d["cs_n"], dir="o")),
           Subsignal("odt", Pins(d["odt"], dir="o")),
           Subsignal("dm", Pins(d["dm"], dir="o")),
           Subsignal("dq", Pins(d["dq"], dir="io"), Attrs(IOSTANDARD="SSTL15_T_DCI")),
           Subsignal("dqs", DiffPairs(d["dqs_p"], d["dqs_n"], dir="io"),
                     Attrs(IOSTANDARD="DIFF_SSTL15_T_DCI")),
           Attrs(IOSTANDARD="SSTL15", SLEW="FAST")]
    return Resource("ddr3", 0, *ios)


def _pcie_resource():
    p = PCIE
    return Resource("pcie", 0,
                    Subsignal("clk", DiffPairs(p["clk_p"], p["clk_n"], dir="i"), Clock(100e6)),
                    Subsignal("tx", DiffPairs(p["tx_p"], p["tx_n"], dir="o")),
                    Subsignal("rx", DiffPairs(p["rx_p"], p["rx_n"], dir="i")),
                    Subsignal("perst", PinsN("AV35", dir="i"), _LV18))


class VC709Platform(XilinxPlatform):
    """XC7VX690T-2FFG1761C; the default clock is the 200 MHz system clock, the default reset
    the CPU_RESET button (active high)."""

    device = "xc7vx690t"
    package = "ffg1761"
    speed = "2"
    default_clk = "clk200"
    default_rst = "rst"
    resources = [
        Resource("clk200", 0, DiffPairs("H19", "G18", dir="i"), Clock(200e6),
                 Attrs(IOSTANDARD="DIFF_SSTL15")),
        Resource("clk233", 0, DiffPairs("AY18", "AY17", dir="i"), Clock(233.33e6),
                 Attrs(IOSTANDARD="DIFF_SSTL15")),
        Resource("clk156", 0, DiffPairs("AK34", "AL34", dir="i"), Clock(156.25e6),
                 Attrs(IOSTANDARD="LVDS")),
        Resource("sma_clk", 0, DiffPairs("AJ32", "AK32", dir="i"), Attrs(IOSTANDARD="LVDS")),
        Resource("rst", 0, Pins("AV40", dir="i"), _LV18),
        *LEDResources(pins="AM39 AN39 AR37 AT37 AR35 AP41 AP42 AU39", attrs=_LV18),
        # North, east, south, west, centre.
        *ButtonResources(pins="AR40 AU38 AP40 AW40 AV39", attrs=_LV18),
        *SwitchResources(pins="AV30 AY33 BA31 BA32 AW30 AY30 BA30 BB31", attrs=_LV18),
        # The CP2103 bridge is the DTE; the FPGA the DCE (it drives tx and CTS).
        UARTResource(0, rx="AU33", tx="AU36", rts="AT32", cts="AR34", role="dce",
                     attrs=_LV18),
        I2CResource(0, scl="AT35", sda="AU32", attrs=_LV18),
        Resource("i2c_mux_rst", 0, PinsN("AY42", dir="o"), _LV18),
        _ddr3_resource(),
        _pcie_resource(),
    ]
    connectors = []

    def toolchain_program(self, products, name):
        """openFPGALoader (-b vc709) where it is installed, else Vivado's hardware server."""
        with products.extract(f"{name}.bit") as bitstream:
            if shutil.which("openFPGALoader"):
                subprocess.check_call(["openFPGALoader", "-b", "vc709", bitstream])
                return
            with tempfile.TemporaryDirectory() as tmp:
                tcl = os.path.join(tmp, "program.tcl")
                with open(tcl, "w") as f:
                    f.write(program_tcl(bitstream))
                subprocess.check_call([os.environ.get("VIVADO", "vivado"), "-mode", "batch",
                                       "-nolog", "-nojournal", "-source", tcl])


def program_tcl(bitstream):
    """Vivado hardware-server Tcl that loads `bitstream` into the board's first FPGA."""
    return "\n".join([
        "open_hw_manager", "connect_hw_server", "open_hw_target",
        "set dev [lindex [get_hw_devices xc7vx690t*] 0]", "current_hw_device $dev",
        f"set_property PROGRAM.FILE {{{bitstream}}} $dev", "program_hw_devices $dev",
        "close_hw_target", ""])
