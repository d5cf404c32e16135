import CMemoryHints
import StreetSenseCore

/// Routes the `{pilot}/{sensor}` bytes of a topic to a sensor index without building strings: an
/// open-addressing hash table over a byte arena (FNV-1a), so a known sensor costs one hash and one compare.
///
/// Invariant: the table is at most half full; keys are never removed.
public struct TopicRoutes: Sendable {
    private var keyBytes: [UInt8] = []
    private var slots: [Slot]
    private var used = 0

    private struct Slot: Sendable {
        var hash: UInt64 = 0
        var keyStart: Int32 = 0
        var keyCount: Int32 = -1  // −1: empty
        var value: SensorIndex = SensorIndex(0)
    }

    public init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: Slot(), count: size)
    }

    /// The number of routes.
    public var count: Int { used }

    /// The hash a key is stored under (FNV-1a), for ``lookup(_:hash:)`` and the prefetches.
    @inline(__always)
    public static func hash(_ key: Span<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in key.indices {
            h = (h ^ UInt64(key[i])) &* 0x100_0000_01b3
        }
        return h
    }

    /// The sensor routed for `key`, if any.
    public func lookup(_ key: Span<UInt8>) -> SensorIndex? {
        lookup(key, hash: Self.hash(key))
    }

    /// The sensor routed for `key`, whose ``hash(_:)`` is `h`, if any.
    public func lookup(_ key: Span<UInt8>, hash h: UInt64) -> SensorIndex? {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let slot = slots[i]
            if slot.keyCount < 0 { return nil }
            if slot.hash == h, Int(slot.keyCount) == key.count, matches(slot, key) { return slot.value }
            i = (i + 1) & mask
        }
    }

    /// Starts loading the slot where a lookup of a key hashed `h` begins. A hint only: no visible effect.
    public func prefetchSlot(hash h: UInt64) {
        slots.withUnsafeBufferPointer { streetsense_prefetch_for_write($0.baseAddress! + (Int(truncatingIfNeeded: h) & ($0.count - 1))) }
    }

    /// Starts loading the key bytes of that slot (reads the slot: ask for it with ``prefetchSlot(hash:)`` first).
    public func prefetchKey(hash h: UInt64) {
        let slot = slots[Int(truncatingIfNeeded: h) & (slots.count - 1)]
        guard slot.keyCount >= 0 else { return }
        keyBytes.withUnsafeBufferPointer { streetsense_prefetch_for_write($0.baseAddress! + Int(slot.keyStart)) }
    }

    private func matches(_ slot: Slot, _ key: Span<UInt8>) -> Bool {
        let start = Int(slot.keyStart)
        for j in key.indices where keyBytes[start + j] != key[j] { return false }
        return true
    }

    /// Adds a route (the key must not be present).
    public mutating func insert(_ key: Span<UInt8>, _ value: SensorIndex) {
        if (used + 1) * 2 > slots.count { grow() }
        let start = keyBytes.count
        key.withUnsafeBufferPointer { keyBytes.append(contentsOf: $0) }
        place(Slot(hash: Self.hash(key), keyStart: Int32(start), keyCount: Int32(key.count), value: value))
        used += 1
    }

    private mutating func place(_ slot: Slot) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: slot.hash) & mask
        while slots[i].keyCount >= 0 { i = (i + 1) & mask }
        slots[i] = slot
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(), count: old.count * 2)
        for slot in old where slot.keyCount >= 0 { place(slot) }
    }
}
