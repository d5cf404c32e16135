#include "heap_statistics.h"

#include <stdlib.h>  // defines __GLIBC__ (through features.h) on glibc systems

#if defined(__GLIBC__)
#include <malloc.h>

size_t streetsense_heap_bytes_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

void streetsense_heap_trim(void) { malloc_trim(0); }
#else
size_t streetsense_heap_bytes_in_use(void) { return 0; }
void streetsense_heap_trim(void) {}
#endif
