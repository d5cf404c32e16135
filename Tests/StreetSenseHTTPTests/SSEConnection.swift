import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A raw HTTP/1.1 connection to a live server, for reading a Server-Sent Events response as it arrives: the
/// test client of HummingbirdTesting waits for a response's end, which an event stream never reaches.
///
/// A thread of its own reads the socket into a buffer; ``response`` parses the head and decodes the chunked
/// body received so far.
final class SSEConnection: Sendable {
    struct ConnectFailed: Error { var step: String; var code: Int32 }
    struct TimedOut: Error, CustomStringConvertible { var description: String }

    /// The head and the body received so far (chunked transfer coding removed).
    struct Received {
        var status: Int?
        var headers: [String: String] = [:]
        var body = ""
        /// The server closed the connection.
        var closed = false

        /// The SSE events of the body: each block's `field: value` lines (comments as field "").
        var events: [[(String, String)]] {
            body.components(separatedBy: "\n\n").dropLast().map { block in
                block.split(separator: "\n").map { line in
                    guard let colon = line.firstIndex(of: ":") else { return (String(line), "") }
                    var value = line[line.index(after: colon)...]
                    if value.first == " " { value = value.dropFirst() }
                    return (String(line[..<colon]), String(value))
                }
            }
        }

        /// The `id`s of the `alert` events received.
        var eventIDs: [Int64] {
            events.compactMap { fields in fields.first { $0.0 == "id" }.flatMap { Int64($0.1) } }
        }

        /// The `data` of the `alert` events received.
        var eventData: [String] { events.compactMap { fields in fields.first { $0.0 == "data" }?.1 } }

        var heartbeats: Int { events.filter { $0.count == 1 && $0[0] == ("", "heartbeat") }.count }
    }

    private let socket: Int32
    private let bytes = Mutex<(data: [UInt8], closed: Bool)>(([], false))

    init(port: Int, path: String, headers: [String: String] = [:]) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ConnectFailed(step: "socket", code: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(socket)
            throw ConnectFailed(step: "connect", code: code)
        }
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let sent = Array(request.utf8).withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.utf8.count else {
            Glibc.close(socket)
            throw ConnectFailed(step: "send", code: errno)
        }
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.recv(self.socket, $0.baseAddress, $0.count, 0) }
                if count <= 0 { break }
                self.bytes.withLock { $0.data += buffer[0..<count] }
            }
            self.bytes.withLock { $0.closed = true }
            Glibc.close(self.socket)
        }
        thread.start()
    }

    /// Closes the connection from this side (the server sees the client go away).
    func close() { Glibc.shutdown(socket, Int32(SHUT_RDWR)) }

    var response: Received {
        let (data, closed) = bytes.withLock { ($0.data, $0.closed) }
        var received = Received(closed: closed)
        guard let headEnd = Self.find([13, 10, 13, 10], in: data, from: 0) else { return received }
        let head = String(decoding: data[0..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        received.status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") }
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            received.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body: [UInt8] = []
        var index = headEnd + 4
        if received.headers["transfer-encoding"] == "chunked" {
            while let lineEnd = Self.find([13, 10], in: data, from: index),
                let size = Int(String(decoding: data[index..<lineEnd], as: UTF8.self), radix: 16), lineEnd + 2 + size <= data.count
            {
                body += data[(lineEnd + 2)..<(lineEnd + 2 + size)]
                index = lineEnd + 2 + size + 2
                if size == 0 { break }
            }
        } else {
            body = Array(data[index...])
        }
        received.body = String(decoding: body, as: UTF8.self)
        return received
    }

    /// Waits until `condition` holds for what was received (polling every 10 ms), or throws after `timeout`.
    @discardableResult
    func wait(
        timeout: Duration = .seconds(5), _ what: String, until condition: (Received) -> Bool
    ) async throws -> Received {
        let deadline = ContinuousClock.now + timeout
        while true {
            let received = response
            if condition(received) { return received }
            guard ContinuousClock.now < deadline else { throw TimedOut(description: "timed out waiting for \(what); received:\n\(received.body)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    private static func find(_ pattern: [UInt8], in data: [UInt8], from start: Int) -> Int? {
        guard data.count >= pattern.count, start <= data.count - pattern.count else { return nil }
        for index in start...(data.count - pattern.count) where data[index..<(index + pattern.count)].elementsEqual(pattern) {
            return index
        }
        return nil
    }
}

/// Polls `condition` every 10 ms until it holds, or throws after `timeout`.
func waitUntil(timeout: Duration = .seconds(5), _ what: String, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw SSEConnection.TimedOut(description: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}
