import Foundation
import StreetSenseCore

/// What a bearer token allows, in increasing order: `viewer` reads, `operator` also acknowledges alerts,
/// `admin` also changes the registry (DESIGN §7).
public enum AccessRole: String, Sendable, Hashable, CaseIterable, Comparable {
    case viewer
    case `operator`
    case admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }

    public static func < (lhs: AccessRole, rhs: AccessRole) -> Bool { lhs.rank < rhs.rank }
}

/// Who presented a valid bearer token: the token's name (an acknowledgement's `by`), role, and the pilots whose
/// sensors and rejects it may read (nil: every pilot).
public struct AccessGrant: Sendable, Hashable {
    public var name: String
    public var role: AccessRole
    /// The pilots this token is scoped to, sorted and unique; nil when it is not scoped (it sees every pilot).
    public var pilots: [String]?

    public init(name: String, role: AccessRole, pilots: [String]? = nil) {
        self.name = name
        self.role = role
        self.pilots = pilots.map { Array(Set($0)).sorted() }
    }

    /// Whether this token may read the data of `pilot`.
    public func covers(pilot: String) -> Bool { pilots?.contains(pilot) ?? true }
}

/// A tokens file that could not be used: the file, the line (0 when the whole file is at fault) and why.
/// `description` reads `FILE:LINE: reason`.
public struct AccessTokensError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}

/// The bearer tokens the API accepts, as read from the tokens file (`http.tokens_file`).
///
/// The file holds one token per line, `<name> <role> sha256:<64 hex digits> [pilots=<pilot>,<pilot>…]`, where the
/// digest is the SHA-256 of the token's UTF-8 bytes (``hashLine(name:role:token:pilots:)`` writes such a line)
/// and the optional `pilots=` field scopes the token to those pilots' sensors, series and rejects; blank lines
/// and text after `#` are ignored. Only digests are kept, in the file and in memory.
///
/// Invariants: names are ids (`[A-Za-z0-9_.-]{1,64}`) and unique, digests are unique, there is at least one
/// token. ``grant(forBearer:)`` hashes the presented token and compares it with every stored digest in
/// constant time, so neither a match nor its position shows in the time taken.
public struct AccessTokens: Sendable {
    struct Entry: Sendable {
        var grant: AccessGrant
        var digest: [UInt8]
    }

    private let entries: [Entry]

    /// The names and roles of the tokens, in file order (never the digests).
    public var grants: [AccessGrant] { entries.map(\.grant) }

    /// Reads and checks a tokens file.
    public static func load(path: String) throws(AccessTokensError) -> AccessTokens {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw AccessTokensError(file: path, line: 0, reason: "cannot read the tokens file (\(error.localizedDescription))")
        }
        return try AccessTokens(parsing: text, file: path)
    }

    /// Checks the text of a tokens file; `file` names it in errors.
    public init(parsing text: String, file: String) throws(AccessTokensError) {
        var entries: [Entry] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let content = rawLine.prefix { $0 != "#" }
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            func fail(_ reason: String) -> AccessTokensError { AccessTokensError(file: file, line: lineNumber, reason: reason) }
            guard fields.count == 3 || fields.count == 4 else {
                throw fail(
                    "expected '<name> <role> sha256:<64 hex digits> [pilots=<pilot>,…]', found \(fields.count) field\(fields.count == 1 ? "" : "s")")
            }
            let name = String(fields[0])
            guard Identifier.isValid(name) else { throw fail("the name '\(name)' must match [A-Za-z0-9_.-]{1,64}") }
            guard let role = AccessRole(rawValue: String(fields[1])) else {
                throw fail("unknown role '\(fields[1])' (roles: " + AccessRole.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            guard let digest = Self.parseDigest(fields[2]) else {
                // The field may be a pasted token: do not repeat it.
                throw fail("the third field must be 'sha256:' and 64 hex digits (the token's digest, never the token itself)")
            }
            if let other = entries.first(where: { $0.grant.name == name }) {
                throw fail("the name '\(name)' is used twice (also with role \(other.grant.role.rawValue))")
            }
            if let other = entries.first(where: { $0.digest == digest }) {
                throw fail("this digest is also the token of '\(other.grant.name)'; every token must be different")
            }
            var pilots: [String]?
            if fields.count == 4 {
                let field = fields[3]
                guard field.hasPrefix("pilots=") else {
                    throw fail("the fourth field must be 'pilots=<pilot>,<pilot>…' (the pilots the token is scoped to)")
                }
                let list = field.dropFirst("pilots=".count).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                if let bad = list.first(where: { !Identifier.isValid($0) }) {
                    throw fail("the pilot '\(bad.prefix(80))' in pilots= must match [A-Za-z0-9_.-]{1,64}")
                }
                pilots = list
            }
            entries.append(Entry(grant: AccessGrant(name: name, role: role, pilots: pilots), digest: digest))
        }
        guard !entries.isEmpty else { throw AccessTokensError(file: file, line: 0, reason: "the tokens file holds no tokens") }
        self.entries = entries
    }

    /// The name and role of `token`, or nil if it is not one of the tokens.
    public func grant(forBearer token: String) -> AccessGrant? {
        let digest = SHA256.digest(token.utf8)
        var found: AccessGrant?
        for entry in entries {
            // Every entry is compared in full, whether or not an earlier one matched.
            var difference: UInt8 = 0
            for index in 0..<32 { difference |= entry.digest[index] ^ digest[index] }
            if difference == 0 { found = entry.grant }
        }
        return found
    }

    /// `sha256:` and the 64 lower-case hex digits of the SHA-256 of `token`'s UTF-8 bytes.
    public static func digest(of token: String) -> String {
        "sha256:" + SHA256.digest(token.utf8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// A tokens-file line for `token` (which the file never contains), scoped to `pilots` when not empty.
    public static func hashLine(name: String, role: AccessRole, token: String, pilots: [String] = []) -> String {
        let line = "\(name) \(role.rawValue) \(digest(of: token))"
        return pilots.isEmpty ? line : line + " pilots=" + pilots.joined(separator: ",")
    }

    /// A new random token: 32 bytes from the system's random source, as 64 hex digits.
    public static func generateToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    private static func parseDigest(_ field: Substring) -> [UInt8]? {
        guard field.hasPrefix("sha256:") else { return nil }
        let hex = Array(field.dropFirst("sha256:".count).utf8)
        guard hex.count == 64 else { return nil }
        var digest: [UInt8] = []
        digest.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = hexValue(hex[index]), let low = hexValue(hex[index + 1]) else { return nil }
            digest.append(high << 4 | low)
        }
        return digest
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Who may do what on the API: the tokens (nil: no tokens file) and whether reads need a token.
///
/// Without tokens, reads are public and nothing can be written (acknowledging answers 403). With tokens, reads
/// need a `viewer` token unless `publicReads` is true, rejects (which hold payload excerpts) always need one,
/// and acknowledging needs an `operator` token. A token scoped to pilots reads only those pilots' sensors,
/// series and rejects.
public struct APIAccess: Sendable {
    public var tokens: AccessTokens?
    public var publicReads: Bool

    public init(tokens: AccessTokens?, publicReads: Bool) {
        self.tokens = tokens
        self.publicReads = publicReads
    }

    /// No tokens file: public reads, no writes.
    public static let open = APIAccess(tokens: nil, publicReads: true)
}
