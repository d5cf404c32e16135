import StreetSenseCore

/// Turns a wide CSV of counts (a time column and one column per sensor, as open-data portals publish pedestrian
/// counters) into trace records: one message per row and sensor column with a value, in row order.
///
/// Times may be RFC 3339 with an offset, `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DDTHH:MM[:SS]` in `utcOffset`, or
/// Unix seconds. With an `interval`, a row's time is the start of its counting interval and messages are
/// stamped at its end.
public struct CSVTraceImport: Sendable {
    /// A sensor column: which pilot and sensor its values belong to.
    public struct Column: Sendable, Hashable {
        public var header: String
        public var address: SensorAddress

        public init(header: String, address: SensorAddress) {
            self.header = header
            self.address = address
        }
    }

    public var timeColumn: String?
    public var utcOffset: Duration
    public var interval: Duration?
    /// `people` (occupancy counts), `people_in` (gate counts per interval) or `devices`.
    public var metric: Metric
    public var topicPrefix: String
    /// The pilot of columns without an explicit mapping (their header, made a valid id, is the sensor id).
    public var pilot: String
    public var mapping: [String: SensorAddress]
    public var separator: Character

    public init(
        timeColumn: String? = nil, utcOffset: Duration = .zero, interval: Duration? = nil, metric: Metric = .people,
        topicPrefix: String = "streetsense/v1", pilot: String = "imported", mapping: [String: SensorAddress] = [:], separator: Character = ","
    ) {
        self.timeColumn = timeColumn
        self.utcOffset = utcOffset
        self.interval = interval
        self.metric = metric
        self.topicPrefix = topicPrefix
        self.pilot = pilot
        self.mapping = mapping
        self.separator = separator
    }

    /// A row or cell that could not be imported (skipped; the import goes on).
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// Imports CSV text. `emit` receives each record; rows that cannot be read are reported in `problems`.
    public func records(csv text: String, problems: inout [Problem], emit: (TraceRecord) throws -> Void) throws -> Int {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().makeIterator()
        guard let (_, headerLine) = lines.next() else { return 0 }
        let header = Self.fields(String(headerLine), separator: separator)
        let timeIndex: Int
        if let timeColumn {
            guard let index = header.firstIndex(of: timeColumn) else {
                throw CSVImportError(reason: "no column \"\(timeColumn)\" in the header (\(header.joined(separator: ", ")))")
            }
            timeIndex = index
        } else {
            timeIndex = 0
        }
        var columns: [(index: Int, topic: String)] = []
        for (index, name) in header.enumerated() where index != timeIndex {
            let address = mapping[name] ?? SensorAddress(pilot: pilot, sensor: Self.identifier(name))
            if !mapping.isEmpty, mapping[name] == nil { continue }
            columns.append((index, "\(topicPrefix)/readings/\(address.pilot)/\(address.sensor)"))
        }
        var count = 0
        while let (offset, raw) = lines.next() {
            let lineNumber = offset + 1
            let line = String(raw)
            if line.allSatisfy({ $0 == " " || $0 == separator }) { continue }
            let fields = Self.fields(line, separator: separator)
            guard timeIndex < fields.count, let rowTime = time(fields[timeIndex]) else {
                problems.append(Problem(line: lineNumber, reason: "no readable time in column \(timeIndex + 1)"))
                continue
            }
            let t = interval.map { rowTime + $0 } ?? rowTime
            for column in columns where column.index < fields.count {
                let cell = fields[column.index].trimmingSpaces
                if cell.isEmpty { continue }
                guard let value = Double(cell), value.isFinite, value >= 0 else {
                    problems.append(Problem(line: lineNumber, reason: "\"\(header[column.index])\": \"\(cell.prefix(20))\" is not a count"))
                    continue
                }
                let number = value == value.rounded() ? String(Int64(value)) : String(value)
                var payload = "{\"t\":\"\(t.rfc3339)\",\"\(metric.name)\":\(number)"
                if metric == .peopleIn { payload += ",\"people_out\":0" + (interval.map { ",\"interval_s\":\($0.wholeMilliseconds / 1000)" } ?? "") }
                payload += "}"
                try emit(TraceRecord(at: t, topic: column.topic, payload: payload))
                count += 1
            }
        }
        return count
    }

    func time(_ field: String) -> EventTime? {
        let text = field.trimmingSpaces
        if let time = EventTime(rfc3339: text) { return time }
        if let seconds = Double(text), let time = EventTime(unixSeconds: seconds) { return time }
        var normalized = text.replacingFirstSpace(with: "T")
        if normalized.count == 16 { normalized += ":00" }
        if let local = EventTime(utcDateTimeWithoutOffset: normalized) { return local - utcOffset }
        return nil
    }

    /// The fields of one CSV line (double quotes group; `""` inside quotes is a quote).
    static func fields(_ line: String, separator: Character) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = line.makeIterator()
        while let c = iterator.next() {
            if quoted {
                if c == "\"" {
                    // A doubled quote is a literal quote; otherwise the quoted part ends.
                    var lookahead = iterator
                    if lookahead.next() == "\"" {
                        current.append("\"")
                        iterator = lookahead
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == separator {
                fields.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        fields.append(current)
        return fields
    }

    /// A header made into a valid id: other characters become `-`, at most 64 bytes.
    static func identifier(_ header: String) -> String {
        let mapped = header.trimmingSpaces.unicodeScalars.map { s -> Character in
            (s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "_" || s == "." || s == "-")) ? Character(s) : "-"
        }
        let id = String(mapped.prefix(64))
        return id.isEmpty ? "column" : id
    }
}

/// A CSV import that cannot start (a missing column).
public struct CSVImportError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" || s.first == "\r" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }

    fileprivate func replacingFirstSpace(with replacement: Character) -> String {
        guard let space = firstIndex(of: " ") else { return self }
        var copy = self
        copy.replaceSubrange(space...space, with: String(replacement))
        return copy
    }
}
