"""The words that hardware, golden model, compiler and host share: the C-Core modes and tile
descriptor, the APU instruction set and register map, and the program's descriptors.

Layouts, enums, dataclasses and strict pack/unpack only: nothing here elaborates, and nothing
imports more than amaranth's data/enum libraries and `hw.config`.
"""
