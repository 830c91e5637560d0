# Every VC709 design (read after the platform's pin constraints).
# The configuration bank is at 1.8 V and CFGBVS is tied to GND on this board.
set_property CFGBVS GND [current_design]
set_property CONFIG_VOLTAGE 1.8 [current_design]
set_property BITSTREAM.GENERAL.COMPRESS TRUE [current_design]
