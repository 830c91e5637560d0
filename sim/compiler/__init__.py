"""Host side: a network description -> the accelerator's program (`compile_step`), with the
DRAM plan of every tensor it touches."""
