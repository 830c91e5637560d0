"""The VC709 system around the accelerator, as a Vivado block design made by Tcl
(`system_tcl`): the vendor IP is created at build time, never committed.

    PCIe x8 Gen3 -- XDMA --M_AXI (256 b, 250 MHz)--+
                       |                           +-- SmartConnect -- MIG -- DDR3 SODIMM 1
                       |     eta_core m_axi (512 b, ui_clk 200 MHz) --+      (512 b, ui_clk)
                       +--M_AXI_LITE -- SmartConnect -- eta_core s_axi (registers)
                       +--usr_irq_req[0] <- eta_core irq

`eta_core` (`boards.core.BoardCore`, Verilog from `hw.verilog`) is a module reference, its
`m_axi_*` / `s_axi_*` ports inferred as AXI interfaces by name. The MIG's ui_clk (200 MHz)
clocks it and its side of both SmartConnects, which cross to XDMA's 250 MHz and convert
widths and IDs. Address map: the XDMA's M_AXI and the accelerator see the 4 GiB DDR3 at 0;
the XDMA's AXI-Lite BAR maps the registers at 0 (`hw.isa.regs`, a 4 KiB window).

The block design's external ports are named by `PORTS`, which `boards.top` connects to
the platform's pins.
"""

from .mig import MODULE as MIG_MODULE

__all__ = ["DESIGN", "PORTS", "system_tcl"]

DESIGN = "eta_system"           # the block design; its wrapper is eta_system_wrapper
CORE = "eta_core"               # the module reference's Verilog module

# External ports of the design: name -> (direction, width), as the wrapper has them.
PORTS = {
    **{f"ddr3_{n}": ("io", w) for n, w in (("dq", 64), ("dqs_p", 8), ("dqs_n", 8))},
    **{f"ddr3_{n}": ("o", w) for n, w in (
        ("addr", 16), ("ba", 3), ("ras_n", 1), ("cas_n", 1), ("we_n", 1), ("reset_n", 1),
        ("ck_p", 1), ("ck_n", 1), ("cke", 1), ("cs_n", 1), ("dm", 8), ("odt", 1))},
    "sys_clk_clk_p": ("i", 1), "sys_clk_clk_n": ("i", 1), "sys_rst": ("i", 1),
    "pcie_refclk_clk_p": ("i", 1), "pcie_refclk_clk_n": ("i", 1), "pcie_perst_n": ("i", 1),
    "pcie_mgt_rxp": ("i", 8), "pcie_mgt_rxn": ("i", 8),
    "pcie_mgt_txp": ("o", 8), "pcie_mgt_txn": ("o", 8),
    "leds": ("o", 8),
}

_XDMA = {
    "mode_selection": "Advanced",
    "pl_link_cap_max_link_width": "X8",
    "pl_link_cap_max_link_speed": "8.0_GT/s",
    "axi_data_width": "256_bit",
    "axisten_freq": "250",
    "ref_clk_freq": "100_MHz",
    "pcie_blk_locn": "X0Y1",
    "xdma_axi_intf_mm": "AXI_Memory_Mapped",
    "xdma_rnum_chnl": "1",
    "xdma_wnum_chnl": "1",
    "xdma_num_usr_irq": "1",
    "axilite_master_en": "true",
    "axilite_master_size": "1",
    "axilite_master_scale": "Megabytes",
    "pf0_device_id": "7038",
}


def _dict(props):
    return " ".join(f"CONFIG.{k} {{{v}}}" for k, v in props.items())


def system_tcl(prj_file):
    """Tcl (run after the sources, the accelerator's Verilog among them, are read; before
    synthesis) that builds the block design with the MIG project file `prj_file`, generates
    it and adds its wrapper to the project."""
    d = DESIGN
    return f"""\
# The VC709 system: XDMA, MIG, SmartConnects and the accelerator ({__name__}).
set prj_file [file normalize {{{prj_file}}}]
update_compile_order -fileset sources_1
create_bd_design {d}

proc ipdef {{name}} {{
    set defs [get_ipdefs -filter "NAME == $name"]
    if {{[llength $defs] == 0}} {{ error "IP $name is not in this Vivado's catalog" }}
    return [lindex [lsort $defs] end]
}}

# PCIe: the 100 MHz reference clock through IBUFDS_GTE2, XDMA Gen3 x8.
create_bd_intf_port -mode Slave -vlnv xilinx.com:interface:diff_clock_rtl:1.0 pcie_refclk
set_property CONFIG.FREQ_HZ 100000000 [get_bd_intf_ports pcie_refclk]
create_bd_port -dir I -type rst pcie_perst_n
set_property CONFIG.POLARITY ACTIVE_LOW [get_bd_ports pcie_perst_n]
create_bd_intf_port -mode Master -vlnv xilinx.com:interface:pcie_7x_mgt_rtl:1.0 pcie_mgt
create_bd_cell -type ip -vlnv [ipdef util_ds_buf] refclk_buf
set_property CONFIG.C_BUF_TYPE IBUFDSGTE [get_bd_cells refclk_buf]
create_bd_cell -type ip -vlnv [ipdef xdma] xdma
set_property -dict [list {_dict(_XDMA)}] [get_bd_cells xdma]
connect_bd_intf_net [get_bd_intf_ports pcie_refclk] [get_bd_intf_pins refclk_buf/CLK_IN_D]
connect_bd_net [get_bd_pins refclk_buf/IBUF_OUT] [get_bd_pins xdma/sys_clk]
connect_bd_net [get_bd_ports pcie_perst_n] [get_bd_pins xdma/sys_rst_n]
connect_bd_intf_net [get_bd_intf_pins xdma/pcie_mgt] [get_bd_intf_ports pcie_mgt]

# DDR3: the MIG from our project file (it buffers the 200 MHz system clock itself).
create_bd_intf_port -mode Slave -vlnv xilinx.com:interface:diff_clock_rtl:1.0 sys_clk
set_property CONFIG.FREQ_HZ 200000000 [get_bd_intf_ports sys_clk]
create_bd_port -dir I -type rst sys_rst
set_property CONFIG.POLARITY ACTIVE_HIGH [get_bd_ports sys_rst]
create_bd_intf_port -mode Master -vlnv xilinx.com:interface:ddrx_rtl:1.0 ddr3
create_bd_cell -type ip -vlnv [ipdef mig_7series] mig
set mig_name [get_property CONFIG.Component_Name [get_bd_cells mig]]
if {{$mig_name ne "{MIG_MODULE}"}} {{
    error "the MIG is $mig_name; the project file names {MIG_MODULE}"
}}
set mig_dir [get_property IP_DIR [get_ips $mig_name]]
file copy -force $prj_file [file join $mig_dir mig.prj]
set_property -dict [list CONFIG.XML_INPUT_FILE {{mig.prj}} \\
    CONFIG.RESET_BOARD_INTERFACE {{Custom}} CONFIG.MIG_DONT_TOUCH_PARAM {{Custom}} \\
    CONFIG.BOARD_MIG_PARAM {{Custom}}] [get_bd_cells mig]
connect_bd_intf_net [get_bd_intf_ports sys_clk] [get_bd_intf_pins mig/SYS_CLK]
connect_bd_net [get_bd_ports sys_rst] [get_bd_pins mig/sys_rst]
connect_bd_intf_net [get_bd_intf_pins mig/DDR3] [get_bd_intf_ports ddr3]
create_bd_cell -type ip -vlnv [ipdef proc_sys_reset] ui_reset
connect_bd_net [get_bd_pins mig/ui_clk] [get_bd_pins ui_reset/slowest_sync_clk]
connect_bd_net [get_bd_pins mig/ui_clk_sync_rst] [get_bd_pins ui_reset/ext_reset_in]
connect_bd_net [get_bd_pins mig/mmcm_locked] [get_bd_pins ui_reset/dcm_locked]
connect_bd_net [get_bd_pins ui_reset/peripheral_aresetn] [get_bd_pins mig/aresetn]

# The accelerator, clocked by ui_clk, held in reset until the MIG has calibrated.
create_bd_cell -type module -reference {CORE} eta
set_property CONFIG.ASSOCIATED_BUSIF {{m_axi:s_axi}} [get_bd_pins eta/clk]
set_property CONFIG.ASSOCIATED_RESET {{rst}} [get_bd_pins eta/clk]
set_property CONFIG.POLARITY ACTIVE_HIGH [get_bd_pins eta/rst]
connect_bd_net [get_bd_pins mig/ui_clk] [get_bd_pins eta/clk]
connect_bd_net [get_bd_pins mig/ui_clk_sync_rst] [get_bd_pins eta/rst]
connect_bd_net [get_bd_pins mig/init_calib_complete] [get_bd_pins eta/calib]
connect_bd_net [get_bd_pins xdma/axi_aclk] [get_bd_pins eta/pcie_clk]
connect_bd_net [get_bd_pins xdma/user_lnk_up] [get_bd_pins eta/link_up]
create_bd_cell -type ip -vlnv [ipdef xlconstant] zero
set_property CONFIG.CONST_VAL 0 [get_bd_cells zero]
connect_bd_net [get_bd_pins zero/dout] [get_bd_pins eta/pcie_rst]
connect_bd_net [get_bd_pins eta/irq] [get_bd_pins xdma/usr_irq_req]
create_bd_port -dir O -from 7 -to 0 leds
connect_bd_net [get_bd_pins eta/leds] [get_bd_ports leds]

# DDR3 shared by the XDMA and the accelerator; the registers behind the AXI-Lite BAR.
create_bd_cell -type ip -vlnv [ipdef smartconnect] ddr_ic
set_property -dict [list CONFIG.NUM_SI {{2}} CONFIG.NUM_MI {{1}} CONFIG.NUM_CLKS {{2}}] \\
    [get_bd_cells ddr_ic]
connect_bd_intf_net [get_bd_intf_pins xdma/M_AXI] [get_bd_intf_pins ddr_ic/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins eta/m_axi] [get_bd_intf_pins ddr_ic/S01_AXI]
connect_bd_intf_net [get_bd_intf_pins ddr_ic/M00_AXI] [get_bd_intf_pins mig/S_AXI]
create_bd_cell -type ip -vlnv [ipdef smartconnect] reg_ic
set_property -dict [list CONFIG.NUM_SI {{1}} CONFIG.NUM_MI {{1}} CONFIG.NUM_CLKS {{2}}] \\
    [get_bd_cells reg_ic]
connect_bd_intf_net [get_bd_intf_pins xdma/M_AXI_LITE] [get_bd_intf_pins reg_ic/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins reg_ic/M00_AXI] [get_bd_intf_pins eta/s_axi]
foreach ic {{ddr_ic reg_ic}} {{
    connect_bd_net [get_bd_pins mig/ui_clk] [get_bd_pins $ic/aclk]
    connect_bd_net [get_bd_pins xdma/axi_aclk] [get_bd_pins $ic/aclk1]
    connect_bd_net [get_bd_pins xdma/axi_aresetn] [get_bd_pins $ic/aresetn]
}}

# Addresses: DDR3 at 0 for both masters, the registers at 0 of the BAR.
assign_bd_address
foreach space {{xdma/M_AXI eta/m_axi}} {{
    foreach seg [get_bd_addr_segs -of_objects [get_bd_addr_spaces $space]] {{
        set_property offset 0x00000000 $seg
        set_property range 4G $seg
    }}
}}
foreach seg [get_bd_addr_segs -of_objects [get_bd_addr_spaces xdma/M_AXI_LITE]] {{
    set_property offset 0x00000000 $seg
    set_property range 4K $seg
}}

validate_bd_design
save_bd_design
set bd [get_files {d}.bd]
set_property synth_checkpoint_mode None $bd
generate_target all $bd
add_files -norecurse [make_wrapper -files $bd -top]
update_compile_order -fileset sources_1
"""
