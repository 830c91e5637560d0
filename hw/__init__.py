"""ETA accelerator gateware (Amaranth 0.5)."""
