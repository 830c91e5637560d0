# The accelerator's board build (boards/top.py, boards/system.py): what the platform and the
# vendor IP cannot say. The MIG and XDMA constrain their own clocks and crossings
# (SmartConnect's and XPM's CDC constraints stay in force: no clock groups here).

# The input clocks (200 MHz system, 100 MHz PCIe reference) are the platform's: Amaranth
# writes their create_clock.

# Asynchronous resets: the CPU_RESET button (into the MIG) and PCIe PERST# (into the XDMA).
set_false_path -from [get_ports rst_0__io]
set_false_path -from [get_ports pcie_0__perst__io]

# Single-bit levels into two-flop synchronizers (boards/core.py: irq into axi_aclk,
# link_up into ui_clk): no timing relation between the clocks on their first flop.
set_false_path -to [get_cells -hier -filter {NAME =~ *eta_system_i/eta/*_sync.stage0*}]
