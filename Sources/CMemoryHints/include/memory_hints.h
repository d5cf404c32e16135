#ifndef STREETSENSE_MEMORY_HINTS_H
#define STREETSENSE_MEMORY_HINTS_H

#include <stddef.h>
#include <stdint.h>

/// Asks the CPU to start loading the cache line holding `address` for a later write. A hint only: it never
/// faults, has no visible effect, and compiles to one prefetch instruction (nothing where there is none).
/// Swift has no prefetch of its own; the aggregation core uses this to overlap the cache misses of the next
/// readings of a batch with the work on the current one.
static inline __attribute__((always_inline)) void streetsense_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Asks the CPU to start loading the cache line holding `address` for a later read. A hint only, like
/// `streetsense_prefetch_for_write`; snapshots use it to overlap the misses of the next pictures' rings.
static inline __attribute__((always_inline)) void streetsense_prefetch_for_read(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Asks for every cache line of the `bytes` bytes at `start`, for a later write: one prefetch a line, the line
/// holding the last byte included when `start` is not on a line boundary. A hint only.
static inline __attribute__((always_inline)) void streetsense_prefetch_range_for_write(const void *start, size_t bytes) {
    const char *end = (const char *)start + bytes;
    for (const char *line = (const char *)((uintptr_t)start & ~(uintptr_t)63); line < end; line += 64) {
        __builtin_prefetch(line, 1, 3);
    }
}

/// Asks for every cache line of the `bytes` bytes at `start`, for a later read (see
/// `streetsense_prefetch_range_for_write`). A hint only.
static inline __attribute__((always_inline)) void streetsense_prefetch_range_for_read(const void *start, size_t bytes) {
    const char *end = (const char *)start + bytes;
    for (const char *line = (const char *)((uintptr_t)start & ~(uintptr_t)63); line < end; line += 64) {
        __builtin_prefetch(line, 0, 3);
    }
}

#endif
