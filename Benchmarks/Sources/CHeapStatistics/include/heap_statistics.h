#ifndef STREETSENSE_HEAP_STATISTICS_H
#define STREETSENSE_HEAP_STATISTICS_H

#include <stddef.h>

/// Bytes the C heap has handed out and not taken back (glibc mallinfo2: arena blocks in use plus mmapped
/// blocks), or 0 where that is not available.
size_t streetsense_heap_bytes_in_use(void);

/// Gives free heap memory back to the system (glibc malloc_trim), so one measurement does not reuse the last one's.
void streetsense_heap_trim(void);

#endif
