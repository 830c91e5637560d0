"""The golden model: numpy functions that are the executable specification, bit-exact with the RTL."""
