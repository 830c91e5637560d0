"""Simulation side: golden model, cocotb testbenches, Verilator runner glue."""
