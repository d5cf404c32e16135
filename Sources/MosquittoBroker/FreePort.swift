#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Loopback TCP ports for test servers.
///
/// Ports come from below the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`), handed out
/// in turn from one process-wide counter that starts at a random place. So a port given to one test is not
/// the source port the kernel picks for some other test's outgoing connection, nor a port another server
/// in this process got from binding port 0, nor (until the range wraps) a port given out before: a broker
/// restarted on "its" port finds it free.
public enum FreePort {
    /// Returns a loopback port nothing is bound to right now, from below the ephemeral range; when that
    /// range leaves no room, a port the kernel picks (bind to port 0).
    public static func loopback() throws -> Int {
        let range = handOutRange
        if !range.isEmpty {
            for _ in 0..<range.count {
                let candidate = nextCandidate.withLock { next -> Int in
                    let port = range.lowerBound + next % range.count
                    next += 1
                    return port
                }
                if (try? bindLoopback(port: UInt16(candidate))) != nil { return candidate }
            }
        }
        return try bindLoopback(port: 0)
    }

    /// 10000 up to the start of the ephemeral range (32768 on Debian).
    static let handOutRange: Range<Int> = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let firstEphemeral = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { Int($0) } ?? 32768
        return 10000..<max(10000, firstEphemeral)
    }()

    private static let nextCandidate = Mutex(Int.random(in: 0..<100_000))

    /// Binds a socket to 127.0.0.1:`port` (0: the kernel picks), releases it, and returns the port.
    private static func bindLoopback(port: UInt16) throws -> Int {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw SocketError(operation: "socket", code: errno) }
        defer { close(descriptor) }
        var address = loopbackAddress(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw SocketError(operation: "bind 127.0.0.1:\(port)", code: errno) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw SocketError(operation: "getsockname", code: errno) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port` right now.
    public static func isAcceptingConnections(port: Int) -> Bool {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = loopbackAddress(port: UInt16(clamping: port))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return connected == 0
    }

    private static func loopbackAddress(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}

/// A socket call failed while looking for a free port.
public struct SocketError: Error, CustomStringConvertible {
    public let operation: String
    public let code: Int32
    public var description: String { "\(operation) failed: \(String(cString: strerror(code)))" }
}
