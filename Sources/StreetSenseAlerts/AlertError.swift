/// An operation on an alert, or on the alert engine, that was refused: a code to switch on, the alert it
/// concerns (if any) and a message saying what was wrong.
///
/// Nothing in this module traps on bad input; every refusal is one of these.
public struct AlertError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of refusal. The raw value is a stable name (for problem+json `type`s and logs).
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The alert is cleared; a cleared alert never changes again.
        case alreadyCleared = "already_cleared"
        /// The alert was acknowledged before; an acknowledgement is not replaced.
        case alreadyAcknowledged = "already_acknowledged"
        /// Escalation to a severity that is not higher than the current one.
        case severityNotHigher = "severity_not_higher"
        /// De-escalation to a severity that is not lower than the current one.
        case severityNotLower = "severity_not_lower"
        /// A transition stamped earlier than the alert's previous transition.
        case timeWentBackwards = "time_went_backwards"
        /// A value that is not finite.
        case invalidValue = "invalid_value"
        /// An empty or too long operator name, or a too long note.
        case invalidAcknowledgement = "invalid_acknowledgement"
        /// No active alert has this id (it was cleared, or never existed).
        case alertNotActive = "alert_not_active"
        /// A restore was attempted on an engine that already holds alerts or produced events.
        case engineNotFresh = "engine_not_fresh"
        /// Restored alerts that contradict each other or the rules (duplicates, ids beyond the last event id,
        /// a rule about the wrong kind of subject).
        case inconsistentRestore = "inconsistent_restore"
        /// The service is shutting down and takes no more operator actions.
        case stopping = "stopping"
    }

    public var code: Code
    public var alertID: AlertID?
    public var message: String

    public init(_ code: Code, alertID: AlertID?, _ message: String) {
        self.code = code
        self.alertID = alertID
        self.message = message
    }

    public var description: String {
        if let alertID { return "alert \(alertID): \(message) (\(code.rawValue))" }
        return "\(message) (\(code.rawValue))"
    }
}
