"""The pure planning core: stdlib only, no I/O, no clock reads."""
