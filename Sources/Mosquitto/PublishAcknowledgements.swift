/// Matches `on_publish` notifications to publishes by message id, whichever of the two arrives first.
///
/// libmosquitto hands out the message id only when `mosquitto_publish` returns, and the network thread
/// may report the acknowledgement before the publishing thread has recorded that id. Holding a lock
/// across `mosquitto_publish` would close that gap but can deadlock: the network thread calls `on_publish`
/// for QoS 0 while it holds the library's `current_out_packet_mutex`, which `mosquitto_publish` also takes
/// when the broker set a maximum packet size. So both sides record what they saw, and an acknowledgement
/// that comes first waits in its slot for its publish. One slot per possible id (1…65535), allocated once.
struct PublishAcknowledgements: Sendable {
    private static let free: UInt8 = 0
    /// QoS 1 or 2: counted in `unacknowledged` until PUBACK or PUBCOMP.
    private static let awaitingAcknowledgement: UInt8 = 1
    /// QoS 0: libmosquitto reports it once written to the socket; not counted.
    private static let awaitingWrite: UInt8 = 2
    /// `on_publish` came before the publishing thread recorded the id.
    private static let reportedEarly: UInt8 = 3

    private var slots = [UInt8](repeating: 0, count: 65_536)
    /// QoS 1 and 2 publishes not yet acknowledged by the broker.
    private(set) var unacknowledged = 0

    /// Records a publish that `mosquitto_publish` accepted with message id `mid`.
    mutating func published(mid: Int32, qos: QualityOfService) {
        let slot = Int(UInt16(truncatingIfNeeded: mid))
        if slots[slot] == Self.reportedEarly {
            slots[slot] = Self.free
        } else if qos == .atMostOnce {
            slots[slot] = Self.awaitingWrite
        } else {
            if slots[slot] == Self.awaitingAcknowledgement { unacknowledged -= 1 }  // an id reused after 65535 publishes
            slots[slot] = Self.awaitingAcknowledgement
            unacknowledged += 1
        }
    }

    /// Records libmosquitto's `on_publish` for `mid`.
    mutating func reported(mid: Int32) {
        let slot = Int(UInt16(truncatingIfNeeded: mid))
        switch slots[slot] {
        case Self.awaitingAcknowledgement:
            unacknowledged -= 1
            slots[slot] = Self.free
        case Self.awaitingWrite:
            slots[slot] = Self.free
        default:
            slots[slot] = Self.reportedEarly
        }
    }
}
