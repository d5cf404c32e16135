import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP response as a test reads it.
public struct HTTPTestResponse: Sendable {
    public var status: Int
    /// Header names lower-cased, in arrival order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The first value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    /// The body as a JSON object, or nil.
    public var jsonObject: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
}

/// A plain HTTP/1.1 client over a loopback socket, for tests of the service's API: no proxies from the
/// environment, no connection reuse (`Connection: close`), chunked bodies decoded.
public enum HTTPTestClient {
    /// Sends one request to 127.0.0.1:`port` and reads the whole response.
    public static func request(
        _ method: String, port: Int, path: String, headers: [(String, String)] = [], body: [UInt8] = [],
        timeout: Duration = .seconds(10)
    ) async throws -> HTTPTestResponse {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    let connection = try LoopbackConnection(port: port, timeout: timeout)
                    defer { connection.close() }
                    try connection.send(requestBytes(method, path: path, headers: headers, body: body))
                    var reader = HTTPResponseReader()
                    while !reader.isComplete {
                        let chunk = try connection.receive()
                        if chunk.isEmpty {
                            reader.endOfStream()
                            break
                        }
                        try reader.consume(chunk)
                    }
                    continuation.resume(returning: try reader.response())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// GET.
    public static func get(port: Int, path: String, headers: [(String, String)] = []) async throws -> HTTPTestResponse {
        try await request("GET", port: port, path: path, headers: headers)
    }

    static func requestBytes(_ method: String, path: String, headers: [(String, String)], body: [UInt8]) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        return Array(text.utf8) + body
    }
}

/// The client could not talk to the server, or the server's answer was not HTTP.
public struct HTTPTestError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A blocking TCP connection to 127.0.0.1 with a receive timeout.
final class LoopbackConnection: @unchecked Sendable {
    // @unchecked: the descriptor is used by one thread at a time (the caller's), and closed once.
    private let descriptor: Int32
    private let closed = Atomic<Bool>(false)

    init(port: Int, timeout: Duration) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPTestError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(clamping: port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw HTTPTestError("connect 127.0.0.1:\(port): \(reason)")
        }
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        descriptor = fd
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HTTPTestError("send: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// The next bytes; empty at the end of the stream. Throws on a timeout.
    func receive() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if closed.load(ordering: .relaxed) { return [] }
            throw HTTPTestError(errno == EAGAIN || errno == EWOULDBLOCK ? "timed out waiting for the server" : "recv: \(String(cString: strerror(errno)))")
        }
        return Array(buffer[0..<n])
    }

    /// Ends the connection from this side (a blocked `receive` returns).
    func shutdownBoth() { Glibc.shutdown(descriptor, Int32(SHUT_RDWR)) }

    func close() {
        if !closed.exchange(true, ordering: .relaxed) { Glibc.close(descriptor) }
    }
}

/// Parses an HTTP/1.1 response incrementally: status line and headers, then a body that is chunked, has a
/// Content-Length, or runs to the end of the stream. ``bodyBytes`` can be drained as they arrive (SSE).
struct HTTPResponseReader {
    private var buffer: [UInt8] = []
    private(set) var status: Int?
    private(set) var headers: [(name: String, value: String)] = []
    /// Decoded body bytes not yet drained.
    var bodyBytes: [UInt8] = []
    private var allBody: [UInt8] = []
    private var chunked = false
    private var remainingLength: Int?
    private var chunkRemaining = 0
    private var inChunkTrailer = false
    private(set) var isComplete = false
    private var ended = false

    var headersDone: Bool { status != nil }

    mutating func consume(_ bytes: [UInt8]) throws {
        buffer += bytes
        if status == nil {
            guard let end = Self.find([13, 10, 13, 10], in: buffer) else { return }
            let head = String(decoding: buffer[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
            let parts = head[0].split(separator: " ")
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]) else {
                throw HTTPTestError("not an HTTP response: \(head[0])")
            }
            status = code
            for line in head.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            chunked = headers.contains { $0.name == "transfer-encoding" && $0.value.lowercased().contains("chunked") }
            if !chunked, let length = headers.first(where: { $0.name == "content-length" }).flatMap({ Int($0.value) }) {
                remainingLength = length
            }
            buffer.removeFirst(end + 4)
            if remainingLength == 0 { isComplete = true }
        }
        try decodeBody()
    }

    mutating func endOfStream() {
        ended = true
        if !chunked && remainingLength == nil { isComplete = true }
    }

    private mutating func append(_ bytes: ArraySlice<UInt8>) {
        bodyBytes += bytes
        allBody += bytes
    }

    private mutating func decodeBody() throws {
        if !chunked {
            if var remaining = remainingLength {
                let take = min(remaining, buffer.count)
                append(buffer[0..<take])
                buffer.removeFirst(take)
                remaining -= take
                remainingLength = remaining
                if remaining == 0 { isComplete = true }
            } else {
                append(buffer[...])
                buffer.removeAll()
            }
            return
        }
        while !isComplete {
            if chunkRemaining > 0 {
                let take = min(chunkRemaining, buffer.count)
                guard take > 0 else { return }
                append(buffer[0..<take])
                buffer.removeFirst(take)
                chunkRemaining -= take
                if chunkRemaining == 0 { inChunkTrailer = true }
                continue
            }
            if inChunkTrailer {
                guard buffer.count >= 2 else { return }
                buffer.removeFirst(2)
                inChunkTrailer = false
                continue
            }
            guard let lineEnd = Self.find([13, 10], in: buffer) else { return }
            let sizeText = String(decoding: buffer[0..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw HTTPTestError("bad chunk size \"\(sizeText)\"")
            }
            buffer.removeFirst(lineEnd + 2)
            if size == 0 {
                isComplete = true
                return
            }
            chunkRemaining = size
        }
    }

    func response() throws -> HTTPTestResponse {
        guard let status else { throw HTTPTestError("the connection closed before a response arrived") }
        return HTTPTestResponse(status: status, headers: headers, body: allBody)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0], Array(haystack[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}

/// One Server-Sent Event as a client reads it.
public struct ServerSentEvent: Sendable, Hashable {
    public var id: String?
    public var event: String?
    public var data: String
}

/// A Server-Sent Events client for tests: opens the stream (optionally with `Last-Event-ID`), then hands out
/// events and counts comment lines (heartbeats). ``disconnect()`` drops the connection as a network failure
/// would.
public final class SSETestClient: @unchecked Sendable {
    // @unchecked: `connection` is immutable after init; parsed state is behind `state`.
    private let connection: LoopbackConnection
    private struct State {
        var events: [ServerSentEvent] = []
        var comments = 0
        var ended = false
        var error: String?
    }
    private let state = Mutex(State())
    /// The response's status and headers.
    public let status: Int
    public let headers: [(name: String, value: String)]
    /// The body of a response that was not an event stream (a problem document).
    public let errorBody: String

    /// Connects and reads the response head. A non-200 response is returned with `status` and `errorBody`.
    public static func connect(port: Int, path: String, lastEventID: String? = nil, headers: [(String, String)] = []) async throws -> SSETestClient {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    continuation.resume(returning: try SSETestClient(port: port, path: path, lastEventID: lastEventID, headers: headers))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    private init(port: Int, path: String, lastEventID: String?, headers extra: [(String, String)]) throws {
        let connection = try LoopbackConnection(port: port, timeout: .seconds(60))
        var headers: [(String, String)] = [("Accept", "text/event-stream")]
        if let lastEventID { headers.append(("Last-Event-ID", lastEventID)) }
        try connection.send(HTTPTestClient.requestBytes("GET", path: path, headers: headers + extra, body: []))
        var reader = HTTPResponseReader()
        while !reader.headersDone {
            let bytes = try connection.receive()
            if bytes.isEmpty { break }
            try reader.consume(bytes)
        }
        let response = try reader.response()
        self.connection = connection
        self.status = response.status
        self.headers = response.headers
        if response.status != 200 {
            while !reader.isComplete {
                let bytes = (try? connection.receive()) ?? []
                if bytes.isEmpty { reader.endOfStream(); break }
                try reader.consume(bytes)
            }
            self.errorBody = (try? reader.response().text) ?? ""
            connection.close()
            state.withLock { $0.ended = true }
            return
        }
        self.errorBody = ""
        let pending = reader.bodyBytes
        reader.bodyBytes = []
        let handOff = reader
        let thread = Thread { [self] in readLoop(reader: handOff, pending: pending) }
        thread.name = "sse-test-client"
        thread.start()
    }

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    private func readLoop(reader initial: HTTPResponseReader, pending: [UInt8]) {
        var reader = initial
        var text: [UInt8] = pending
        var current = ServerSentEvent(id: nil, event: nil, data: "")
        var hasData = false
        func parseLines() {
            while let newline = text.firstIndex(of: 10) {
                var line = Array(text[..<newline])
                text.removeFirst(newline + 1)
                if line.last == 13 { line.removeLast() }
                let string = String(decoding: line, as: UTF8.self)
                if string.isEmpty {
                    if hasData || current.id != nil {
                        let event = current
                        state.withLock { $0.events.append(event) }
                    }
                    current = ServerSentEvent(id: nil, event: nil, data: "")
                    hasData = false
                } else if string.hasPrefix(":") {
                    state.withLock { $0.comments += 1 }
                } else {
                    let field = string.prefix { $0 != ":" }
                    var value = string.dropFirst(field.count + 1)
                    if value.first == " " { value = value.dropFirst() }
                    switch field {
                    case "id": current.id = String(value)
                    case "event": current.event = String(value)
                    case "data":
                        current.data += (hasData ? "\n" : "") + value
                        hasData = true
                    default: break
                    }
                }
            }
        }
        parseLines()
        while true {
            let bytes: [UInt8]
            do {
                bytes = try connection.receive()
            } catch {
                state.withLock { $0.error = "\(error)"; $0.ended = true }
                break
            }
            if bytes.isEmpty { break }
            do {
                try reader.consume(bytes)
            } catch {
                state.withLock { $0.error = "\(error)" }
                break
            }
            text += reader.bodyBytes
            reader.bodyBytes = []
            parseLines()
            if reader.isComplete { break }
        }
        state.withLock { $0.ended = true }
        connection.close()
    }

    /// Every event received so far.
    public var events: [ServerSentEvent] { state.withLock { $0.events } }
    /// Comment lines (heartbeats) received so far.
    public var comments: Int { state.withLock { $0.comments } }
    /// Whether the server ended the stream (or the connection failed).
    public var ended: Bool { state.withLock { $0.ended } }

    /// Waits until at least `count` events arrived, and returns them all.
    public func waitForEvents(_ count: Int, timeout: Duration = .seconds(10)) async throws -> [ServerSentEvent] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (events, ended, error) = state.withLock { ($0.events, $0.ended, $0.error) }
            if events.count >= count { return events }
            if ended || ContinuousClock.now >= deadline {
                throw HTTPTestError("\(events.count) of \(count) events arrived\(ended ? " before the stream ended" : " in \(timeout)")\(error.map { ": \($0)" } ?? "")")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Drops the connection.
    public func disconnect() {
        connection.shutdownBoth()
    }
}
