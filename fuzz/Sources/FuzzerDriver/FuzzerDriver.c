// Only the declaration in include/FuzzerDriver.h matters; a C target needs a source file.
#include "FuzzerDriver.h"
