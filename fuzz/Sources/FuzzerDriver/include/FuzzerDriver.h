// libFuzzer's driver (compiler-rt, LLVM 11 and later), linked in by -sanitize=fuzzer.
// SwiftPM on Linux points `main` at the executable module's entry point
// (`--defsym main=ClientSecretsFuzz_main`), so libFuzzer's own main is never linked:
// the entry point calls this instead.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
