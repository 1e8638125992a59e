// libFuzzer's driver entry (compiler-rt, linked by -sanitize=fuzzer). SwiftPM defines an executable's `main`
// as `<module>_main`, so the fuzz target provides that and hands control to libFuzzer here.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
