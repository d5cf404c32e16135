import MosquittoBroker
import Mosquitto
import Synchronization

/// Every `MosquittoClient.ConnectionEvent` a client reported, in order, safe to read from any thread.
public final class ConnectionEventLog: Sendable {
    private let events = Mutex<[MosquittoClient.ConnectionEvent]>([])

    public init() {}

    /// Appends an event; pass this as the client's `onConnectionEvent`.
    public func record(_ event: MosquittoClient.ConnectionEvent) {
        events.withLock { $0.append(event) }
    }

    /// The events so far.
    public var all: [MosquittoClient.ConnectionEvent] { events.withLock { $0 } }

    /// Forgets the events so far.
    public func removeAll() { events.withLock { $0.removeAll() } }

    /// Waits until an event matching `predicate` has been recorded, and returns the first one.
    @discardableResult
    public func waitForEvent(
        _ what: String, timeout: Duration, where predicate: (MosquittoClient.ConnectionEvent) -> Bool
    ) async throws -> MosquittoClient.ConnectionEvent {
        var found: MosquittoClient.ConnectionEvent?
        try await waitUntil(what, timeout: timeout, detail: { "events so far: \(self.all)" }) {
            found = all.first(where: predicate)
            return found != nil
        }
        return found!
    }
}

extension MosquittoClient.ConnectionEvent {
    /// Whether this is `.connected`, with any session flag.
    public var isConnected: Bool {
        if case .connected = self { return true }
        return false
    }

    /// Whether this is `.disconnected`, for any reason.
    public var isDisconnected: Bool {
        if case .disconnected = self { return true }
        return false
    }

    /// The error of `.connectFailed`, if it is one.
    public var connectFailure: MosquittoError? {
        if case .connectFailed(let error, _) = self { return error }
        return nil
    }
}
