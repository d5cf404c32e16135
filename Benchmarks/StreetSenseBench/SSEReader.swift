import Foundation
import Synchronization

/// A minimal blocking Server-Sent Events client on its own thread (HTTP/1.1 GET with TCP_NODELAY, then
/// lines): it records the instant each event's `data:` line was read, keyed by the `subject` it names.
///
/// The instant is taken right after the `recv` that returned the line's last byte, before anything is parsed.
final class SSEReader: @unchecked Sendable {
    // @unchecked: `descriptor` is set once in init; the map is behind `state`.
    private let descriptor: Int32
    private let state = Mutex<(received: [String: ContinuousClock.Instant], count: Int)>(([:], 0))
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(port: Int, path: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw BenchError("cannot connect to 127.0.0.1:\(port)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        descriptor = fd
    }

    /// Events read whose subject was recognised.
    var receivedCount: Int { state.withLock { $0.count } }
    /// When the first event about each subject was read.
    var receivedAt: [String: ContinuousClock.Instant] { state.withLock { $0.received } }

    func start() {
        let thread = Thread { [self] in
            readLoop()
            finished.signal()
        }
        thread.name = "sse-reader"
        thread.start()
    }

    /// Closes the connection and waits for the reading thread.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        shutdown(descriptor, Int32(SHUT_RDWR))
        finished.wait()
        close(descriptor)
    }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var line: [UInt8] = []
        let dataPrefix = Array("data:".utf8)
        let marker = Array(#""subject":"sensor/"#.utf8)
        while !stopped.load(ordering: .relaxed) {
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            let now = ContinuousClock.now
            for byte in buffer[0..<n] {
                guard byte == UInt8(ascii: "\n") else {
                    line.append(byte)
                    continue
                }
                if line.starts(with: dataPrefix), let range = firstRange(of: marker, in: line) {
                    let rest = line[range.upperBound...]
                    if let end = rest.firstIndex(of: UInt8(ascii: "\"")) {
                        let subject = String(decoding: rest[..<end], as: UTF8.self)
                        state.withLock {
                            if $0.received[subject] == nil { $0.received[subject] = now }
                            $0.count += 1
                        }
                    }
                }
                line.removeAll(keepingCapacity: true)
            }
        }
    }

    private func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i..<(i + needle.count) }
        }
        return nil
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
