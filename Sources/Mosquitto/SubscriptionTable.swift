/// The subscriptions a client wants, and which of them the broker has confirmed on this connection.
///
/// A subscription is sent when it is added while connected, and again after every connect whose CONNACK
/// says no session was present (the broker forgot it). SUBACKs are matched by message id and may arrive
/// before the sending thread recorded that id, as with publishes.
struct SubscriptionTable: Sendable {
    enum State: Sendable, Equatable {
        case unsent
        case awaitingAcknowledgement(mid: Int32)
        case acknowledged
        /// The broker refused it with this SUBACK code (0x80 in MQTT 3.1.1, a reason code ≥ 0x80 in MQTT 5).
        case refused(code: Int32)
    }

    struct Entry: Sendable, Equatable {
        var filter: String
        var qos: QualityOfService
        var state: State
    }

    private(set) var entries: [Entry] = []
    /// SUBACK codes that arrived before their message id was recorded.
    private var earlyAcknowledgements: [Int32: Int32] = [:]

    /// Adds `filter` (or changes its QoS) and returns its index; it still has to be sent.
    mutating func add(filter: String, qos: QualityOfService) -> Int {
        if let index = entries.firstIndex(where: { $0.filter == filter }) {
            entries[index].qos = qos
            entries[index].state = .unsent
            return index
        }
        entries.append(Entry(filter: filter, qos: qos, state: .unsent))
        return entries.count - 1
    }

    /// The subscriptions to send after a CONNACK: all of them when the broker had no session for us,
    /// otherwise only those it never confirmed.
    mutating func subscriptionsToSend(sessionPresent: Bool) -> [(index: Int, filter: String, qos: QualityOfService)] {
        var result: [(index: Int, filter: String, qos: QualityOfService)] = []
        for index in entries.indices {
            if !sessionPresent || entries[index].state != .acknowledged {
                entries[index].state = .unsent
                result.append((index, entries[index].filter, entries[index].qos))
            }
        }
        return result
    }

    /// Records that the subscription at `index` went out with message id `mid`.
    mutating func sent(index: Int, mid: Int32) {
        guard entries.indices.contains(index) else { return }
        if let code = earlyAcknowledgements.removeValue(forKey: mid) {
            entries[index].state = code >= 0x80 ? .refused(code: code) : .acknowledged
        } else {
            entries[index].state = .awaitingAcknowledgement(mid: mid)
        }
    }

    /// Records a SUBACK for `mid` whose (first) granted QoS or reason code is `code`.
    mutating func acknowledged(mid: Int32, code: Int32) {
        if let index = entries.firstIndex(where: { $0.state == .awaitingAcknowledgement(mid: mid) }) {
            entries[index].state = code >= 0x80 ? .refused(code: code) : .acknowledged
        } else {
            earlyAcknowledgements[mid] = code
        }
    }

    /// Forgets SUBACKs still missing when the connection ends: they are resent after the next CONNACK.
    mutating func connectionEnded() {
        earlyAcknowledgements.removeAll()
        for index in entries.indices {
            if case .awaitingAcknowledgement = entries[index].state { entries[index].state = .unsent }
        }
    }

    /// True when every subscription is confirmed by the broker.
    var allAcknowledged: Bool { entries.allSatisfy { $0.state == .acknowledged } }

    /// The first subscription the broker refused, if any.
    var firstRefusal: (filter: String, code: Int32)? {
        for entry in entries {
            if case .refused(let code) = entry.state { return (entry.filter, code) }
        }
        return nil
    }
}
