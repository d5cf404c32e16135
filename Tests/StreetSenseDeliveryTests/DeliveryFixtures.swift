import Crypto
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import StreetSenseAlerts
import StreetSenseCore
import StreetSenseTesting
import Synchronization

/// An alert transition for tests: event `id` of alert 1, at 2025-05-20T10:00:00Z plus `id` seconds.
func alertEvent(
    _ id: Int64, subject: AlertSubject = .zone("plaza"), transition: AlertTransition = .raised, severity: AlertSeverity = .warning
) -> AlertEvent {
    let rule: AlertRule = subject.kind == .zone ? .crowdDensity : .sensorOffline
    return AlertEvent(
        id: AlertEventID(id), alertID: AlertID(subject.kind == .zone ? 1 : 2), rule: rule, subject: subject, metric: nil,
        severity: severity, transition: transition, at: EventTime(milliseconds: 1_747_735_200_000 + id * 1000), value: 2.75,
        peak: 3.5, acknowledgement: nil, fault: nil)
}

/// The lowercase hex HMAC-SHA256 of `body` under `key`, computed here independently of `WebhookSignature`.
func expectedSignature(body: [UInt8], key: String) -> String {
    let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(key.utf8)))
    return "sha256="
        + code.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
}

