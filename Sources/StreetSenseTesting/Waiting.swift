/// A bounded wait that ran out of time: what was awaited, for how long, and what was seen instead.
public struct WaitTimeout: Error, CustomStringConvertible {
    public let what: String
    public let timeout: Duration
    public let detail: String

    public init(what: String, timeout: Duration, detail: String) {
        self.what = what
        self.timeout = timeout
        self.detail = detail
    }

    public var description: String {
        detail.isEmpty ? "timed out after \(timeout) waiting for \(what)" : "timed out after \(timeout) waiting for \(what); \(detail)"
    }
}

/// Polls `condition` every `pollInterval` until it is true, and throws `WaitTimeout` once `timeout` has
/// passed. `detail` describes the state at the deadline for the error message. Never waits unboundedly.
public func waitUntil(
    _ what: String,
    timeout: Duration,
    pollInterval: Duration = .milliseconds(5),
    detail: () -> String = { "" },
    _ condition: () throws -> Bool
) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw WaitTimeout(what: what, timeout: timeout, detail: detail()) }
        try await Task.sleep(for: pollInterval)
    }
}
