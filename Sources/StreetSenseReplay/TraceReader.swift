import Foundation
import StreetSenseCore

/// Reads a trace line by line, streaming (a chunk at a time, never the whole file).
///
/// A line that is not a valid record is reported to `onBadLine` with its line number and reason, counted in
/// ``skippedLines``, and skipped: reading goes on with the next line. Blank lines are ignored.
public final class TraceReader {
    private let handle: FileHandle?
    private var buffer: [UInt8]
    private var start = 0
    private var exhausted: Bool
    /// The number of the line last read (from 1).
    public private(set) var lineNumber = 0
    /// How many lines were skipped as invalid.
    public private(set) var skippedLines = 0
    /// Called for every skipped line.
    public var onBadLine: (TraceLineError) -> Void = { _ in }
    public let path: String

    private static let chunkSize = 1 << 20

    /// Opens the trace at `path` (`-` reads standard input).
    public init(path: String) throws(TraceFileError) {
        self.path = path
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw TraceFileError(path: path, reason: "no such file")
            }
            guard !isDirectory.boolValue else { throw TraceFileError(path: path, reason: "is a directory, not a trace file") }
            guard let handle = FileHandle(forReadingAtPath: path) else { throw TraceFileError(path: path, reason: "cannot be opened for reading") }
            self.handle = handle
        }
        buffer = []
        exhausted = false
    }

    /// Reads a trace held in memory (tests, small tools).
    public init(bytes: [UInt8], name: String = "<memory>") {
        path = name
        handle = nil
        buffer = bytes
        exhausted = true
    }

    deinit {
        if path != "-" { try? handle?.close() }
    }

    /// The next valid record, or nil at the end of the trace.
    public func next() throws(TraceFileError) -> TraceRecord? {
        while let line = try nextLine() {
            var end = line.upperBound
            if end > line.lowerBound, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let bytes = buffer[line.lowerBound..<end]
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            do {
                return try TraceLineCodec.decode(bytes, lineNumber: lineNumber)
            } catch {
                skippedLines += 1
                onBadLine(error)
            }
        }
        return nil
    }

    /// The range of the next line in `buffer` (without its newline), refilling as needed.
    private func nextLine() throws(TraceFileError) -> Range<Int>? {
        var searchFrom = start
        while true {
            if let newline = buffer[searchFrom...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = start..<newline
                start = newline + 1
                lineNumber += 1
                return line
            }
            if exhausted {
                guard start < buffer.count else { return nil }
                let line = start..<buffer.count
                start = buffer.count
                lineNumber += 1
                return line
            }
            // Compact, then read another chunk.
            if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            searchFrom = buffer.count
            let chunk: Data?
            do {
                chunk = try handle?.read(upToCount: Self.chunkSize)
            } catch {
                throw TraceFileError(path: path, reason: "read failed: \(error.localizedDescription)")
            }
            if let chunk, !chunk.isEmpty {
                buffer.append(contentsOf: chunk)
            } else {
                exhausted = true
            }
        }
    }
}

/// Writes a trace: one canonical line per record (``TraceLineCodec``), buffered.
///
/// Deterministic: the same records give the same bytes. Call ``close()`` to write what is buffered.
public final class TraceWriter {
    private let handle: FileHandle
    private let closesHandle: Bool
    private var buffer: [UInt8] = []
    public let path: String
    /// Records written so far.
    public private(set) var count = 0

    /// Creates (or truncates) the file at `path`; `-` writes to standard output.
    public init(path: String) throws(TraceFileError) {
        self.path = path
        if path == "-" {
            handle = FileHandle.standardOutput
            closesHandle = false
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                throw TraceFileError(path: path, reason: "cannot be created for writing")
            }
            self.handle = handle
            closesHandle = true
        }
        buffer.reserveCapacity(1 << 20)
    }

    public func write(_ record: TraceRecord) throws(TraceFileError) {
        TraceLineCodec.encode(record, into: &buffer)
        count += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Writes what is buffered.
    public func flush() throws(TraceFileError) {
        guard !buffer.isEmpty else { return }
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            throw TraceFileError(path: path, reason: "write failed: \(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes the file.
    public func close() throws(TraceFileError) {
        try flush()
        if closesHandle { try? handle.close() }
    }
}
