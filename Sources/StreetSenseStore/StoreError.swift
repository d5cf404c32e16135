import GRDB

/// An error from the store: what kind of failure (``Code``), what the store was doing, and the database's
/// own message.
///
/// A failed write has been rolled back whole: nothing of its batch is stored, and the store stays usable.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of failure a caller can act on differently.
    public enum Code: String, Sendable, Hashable {
        /// The file system is full (`SQLITE_FULL`). Free space and retry the same batch.
        case diskFull = "disk_full"
        /// The database file could not be opened or created (missing directory, permissions, not a database).
        case cannotOpen = "cannot_open"
        /// The file is damaged or is not a StreetSense database (or was written by a newer version).
        case corrupt
        /// A row broke a constraint, such as one address given two different refs.
        case constraintViolation = "constraint_violation"
        /// An argument was invalid (for example a step that is not a multiple of one minute).
        case invalidArgument = "invalid_argument"
        /// The store was closed.
        case closed
        /// Another I/O or SQLite failure.
        case io
    }

    public var code: Code
    /// What the store was doing, for example `write batch of 10000 readings`.
    public var operation: String
    /// The underlying reason, in words.
    public var message: String
    /// The extended SQLite result code, when SQLite reported the failure.
    public var sqliteCode: Int32?

    public init(_ code: Code, operation: String, message: String, sqliteCode: Int32? = nil) {
        self.code = code
        self.operation = operation
        self.message = message
        self.sqliteCode = sqliteCode
    }

    public var description: String {
        let hint =
            switch code {
            case .diskFull: " (the transaction was rolled back; free disk space and retry)"
            default: ""
            }
        return "store: \(operation): \(code.rawValue): \(message)\(hint)"
    }

    /// Translates any error thrown by GRDB into a `StoreError`.
    static func translating(_ error: any Error, operation: String) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? DatabaseError else {
            return StoreError(.io, operation: operation, message: String(describing: error))
        }
        let message = error.message ?? "\(error.resultCode)"
        let extended = error.extendedResultCode.rawValue
        let code: Code =
            switch error.resultCode {
            case .SQLITE_FULL: .diskFull
            case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH: .cannotOpen
            case .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_FORMAT: .corrupt
            case .SQLITE_CONSTRAINT: .constraintViolation
            case .SQLITE_MISUSE where message.lowercased().contains("closed"): .closed
            default: .io
            }
        return StoreError(code, operation: operation, message: message, sqliteCode: extended)
    }
}
