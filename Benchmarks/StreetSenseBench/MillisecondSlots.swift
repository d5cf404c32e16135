import Foundation

/// Paces a publisher thread in 1 ms slots: sleeps (nanosleep, finer than `Thread.sleep`) until slot `slot`
/// after `start` begins. Returns whether the slot had begun more than 1 ms before the call, a late slot that
/// the caller catches up at once.
func waitForSlot(_ slot: Int64, after start: ContinuousClock.Instant) -> Bool {
    let slotStart = start + .milliseconds(slot)
    let now = ContinuousClock.now
    guard now < slotStart else { return slotStart.duration(to: now) > .milliseconds(1) }
    let wait = now.duration(to: slotStart)
    var request = timespec(tv_sec: Int(wait.components.seconds), tv_nsec: Int(wait.components.attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    return false
}
