/// The MQTT delivery guarantee of a publish or a subscription (the QoS level on the wire).
public enum QualityOfService: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// QoS 0: sent once, never acknowledged, lost if the connection drops.
    case atMostOnce = 0
    /// QoS 1: acknowledged with PUBACK and resent until then, so it may arrive twice.
    case atLeastOnce = 1
    /// QoS 2: a four-packet handshake that delivers exactly once.
    case exactlyOnce = 2

    public var description: String { "QoS \(rawValue)" }
}
