"""The MIG 7-series project file for the VC709's first DDR3 SODIMM, made from the pin table
`boards.vc709.DDR3` (`boards.system` creates the core from it).

The controller: MT8KTF51264HZ-1G9 (4 GiB, 64 bits), DDR3-1600 (1250 ps) at 4:1, so the AXI
side runs at 200 MHz (ui_clk) and is 512 bits wide, the accelerator's `axi_data_bits` on
the VC709 preset (no width converter). The 200 MHz system clock enters the MIG, which
buffers it itself ("Differential"); CPU_RESET resets it (active high).

    python -m boards.mig constraints/vc709_ddr3.prj    # what `make board` writes too
"""

import sys
import xml.etree.ElementTree as ET

from .vc709 import DDR3

__all__ = ["MODULE", "AXI_DATA_BITS", "AXI_ID_BITS", "pins", "prj"]

# The MIG's component name: block design eta_system, cell mig (`boards.system`).
MODULE = "eta_system_mig_0"
AXI_DATA_BITS = 512
AXI_ID_BITS = 4
AXI_ADDR_BITS = 32              # 4 GiB

_STANDARD = {"dq": "SSTL15_T_DCI", "dqs_p": "DIFF_SSTL15_T_DCI", "dqs_n": "DIFF_SSTL15_T_DCI",
             "ck_p": "DIFF_SSTL15", "ck_n": "DIFF_SSTL15", "reset_n": "LVCMOS15"}
_VECTORS = {"cke", "cs_n", "odt", "ck_p", "ck_n"}      # one-bit signals MIG names [0]

_MODE_REGISTERS = [
    ("mrBurstLength", "Burst Length", "8 - Fixed"),
    ("mrBurstType", "Read Burst Type and Length", "Sequential"),
    ("mrCasLatency", "CAS Latency", "11"),
    ("mrMode", "Mode", "Normal"),
    ("mrDllReset", "DLL Reset", "No"),
    ("mrPdMode", "DLL control for precharge PD", "Slow Exit"),
    ("emrDllEnable", "DLL Enable", "Enable"),
    ("emrOutputDriveStrength", "Output Driver Impedance Control", "RZQ/7"),
    ("emrMirrorSelection", "Address Mirroring", "Disable"),
    ("emrCSSelection", "Controller Chip Select Pin", "Enable"),
    ("emrRTT", "RTT (nominal) - On Die Termination (ODT)", "RZQ/6"),
    ("emrPosted", "Additive Latency (AL)", "0"),
    ("emrOCD", "Write Leveling Enable", "Disabled"),
    ("emrDQS", "TDQS enable", "Enabled"),
    ("emrRDQS", "Qoff", "Output Buffer Enabled"),
    ("mr2PartialArraySelfRefresh", "Partial-Array Self Refresh", "Full Array"),
    ("mr2CasWriteLatency", "CAS write latency", "8"),
    ("mr2AutoSelfRefresh", "Auto Self Refresh", "Enabled"),
    ("mr2SelfRefreshTempRange", "High Temparature Self Refresh Rate", "Normal"),
    ("mr2RTTWR", "RTT_WR - Dynamic On Die Termination (ODT)", "Dynamic ODT off"),
]


def pins():
    """[(MIG port name, package pin, I/O standard)] of the controller, from `DDR3`."""
    out = []
    for signal, text in DDR3.items():
        names = text.split()
        for i, pin in enumerate(names):
            vector = len(names) > 1 or signal in _VECTORS
            out.append((f"ddr3_{signal}[{i}]" if vector else f"ddr3_{signal}", pin,
                        _STANDARD.get(signal, "SSTL15")))
    return out


def _add(parent, tag, text=None, **attrs):
    e = ET.SubElement(parent, tag, attrs)
    if text is not None:
        e.text = str(text)
    return e


def prj():
    """The MIG project file (XML) for controller 0."""
    root = ET.Element("Project", NoOfControllers="1")
    for tag, text in [("ModuleName", MODULE), ("dci_inouts_inputs", 1), ("dci_inputs", 1),
                      ("Debug_En", "OFF"), ("DataDepth_En", 1024), ("LowPower_En", "ON"),
                      ("XADC_En", "Enabled"), ("TargetFPGA", "xc7vx690t-ffg1761/-2"),
                      ("Version", "4.2"), ("SystemClock", "Differential"),
                      ("ReferenceClock", "Use System Clock"),
                      ("SysResetPolarity", "ACTIVE HIGH"), ("BankSelectionFlag", "FALSE"),
                      ("InternalVref", 0), ("dci_hr_inouts_inputs", "50 Ohms"),
                      ("dci_cascade", 0)]:
        _add(root, tag, text)
    c = _add(root, "Controller", number="0")
    for tag, text in [("MemoryDevice", "DDR3_SDRAM/SODIMMs/MT8KTF51264HZ-1G9"),
                      ("TimePeriod", 1250), ("VccAuxIO", "2.0V"), ("PHYRatio", "4:1"),
                      ("InputClkFreq", 200), ("UIExtraClocks", 0), ("MMCM_VCO", 800),
                      ("MMCMClkOut0", "1.000"), ("MMCMClkOut1", 1), ("MMCMClkOut2", 1),
                      ("MMCMClkOut3", 1), ("MMCMClkOut4", 1), ("DataWidth", 64),
                      ("DeepMemory", 1), ("DataMask", 1), ("ECC", "Disabled"),
                      ("Ordering", "Normal"), ("BankMachineCnt", 4), ("CustomPart", "FALSE"),
                      ("NewPartName", ""), ("RowAddress", 16), ("ColAddress", 10),
                      ("BankAddress", 3), ("MemoryVoltage", "1.5V"),
                      ("C0_MEM_SIZE", 1 << AXI_ADDR_BITS),
                      ("UserMemoryAddressMap", "BANK_ROW_COLUMN")]:
        _add(c, tag, text)
    sel = _add(c, "PinSelection")
    for name, pin, standard in pins():
        _add(sel, "Pin", name=name, PADName=pin, IOSTANDARD=standard, SLEW="FAST",
             VCCAUX_IO="HIGH", IN_TERM="")
    _add(_add(c, "System_Clock"), "Pin", name="sys_clk_p/n", Bank="38",
         PADName="H19/G18(CC_P/N)")
    ctl = _add(c, "System_Control")
    _add(ctl, "Pin", name="sys_rst", Bank="15", PADName="AV40")
    for name in ("init_calib_complete", "tg_compare_error"):
        _add(ctl, "Pin", name=name, Bank="Select Bank", PADName="No connect")
    _add(_add(c, "TimingParameters"), "Parameters", tcke="5", tfaw="27", tras="34",
         trcd="13.91", trefi="7.8", trfc="260", trp="13.91", trrd="5", trtp="7.5",
         twtr="7.5")
    for tag, name, text in _MODE_REGISTERS:
        _add(c, tag, text, name=name)
    _add(c, "PortInterface", "AXI")
    axi = _add(c, "AXIParameters")
    for tag, text in [("C0_C_RD_WR_ARB_ALGORITHM", "RD_PRI_REG"),
                      ("C0_S_AXI_ADDR_WIDTH", AXI_ADDR_BITS),
                      ("C0_S_AXI_DATA_WIDTH", AXI_DATA_BITS),
                      ("C0_S_AXI_ID_WIDTH", AXI_ID_BITS),
                      ("C0_S_AXI_SUPPORTS_NARROW_BURST", 0)]:
        _add(axi, tag, text)
    ET.indent(root, "  ")
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")


if __name__ == "__main__":
    with open(sys.argv[1], "w") as f:
        f.write(prj())
