// Header-only target: see include/cfuzzer.h.
