import ArgumentParser
import Foundation
import StreetSenseCore
import StreetSenseReplay

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Work with trace files.", subcommands: [FromCSV.self])
}

struct FromCSV: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "from-csv",
        abstract: "Turn a wide CSV of counts (a time column plus one column per sensor) into a trace.",
        discussion: """
            streetsense trace from-csv counts.csv --out counts.jsonl --time-column Date --time-zone +01:00 \\
                --interval 15m --metric people_in --pilot city-counters --map "Main St=city-counters/main-st"
            """)

    @Argument(help: "The CSV file.")
    var csv: String

    @Option(help: "Write the trace here (- for standard output).")
    var out: String

    @Option(help: "The time column's header (default: the first column).")
    var timeColumn: String?

    @Option(help: "Offset of times without one: UTC, +02:00, -05:00.")
    var timeZone: String = "UTC"

    @Option(help: "Counting interval of a row (its time is the interval's start; messages are stamped at its end).")
    var interval: DurationArgument?

    @Option(help: "The metric of the counts: people, people_in or devices.")
    var metric: String = "people"

    @Option(help: "The pilot of unmapped columns (the header becomes the sensor id).")
    var pilot: String = "imported"

    @Option(help: "Map a column to a sensor: \"HEADER=pilot/sensor\" (repeatable; when given, only mapped columns are imported).")
    var map: [String] = []

    @Option(help: "The topic prefix.")
    var topicPrefix: String = "streetsense/v1"

    @Option(help: "The field separator.")
    var separator: String = ","

    func run() throws {
        guard let metricValue = Metric(name: metric), [.people, .peopleIn, .devices].contains(metricValue) else {
            throw ValidationError("--metric must be people, people_in or devices")
        }
        guard let offset = Self.offset(timeZone) else { throw ValidationError("--time-zone must be UTC or ±HH:MM") }
        guard separator.count == 1, let separatorCharacter = separator.first else { throw ValidationError("--separator must be one character") }
        var mapping: [String: SensorAddress] = [:]
        for entry in map {
            guard let equals = entry.lastIndex(of: "=") else { throw ValidationError("--map \(entry): expected HEADER=pilot/sensor") }
            let parts = entry[entry.index(after: equals)...].split(separator: "/")
            guard parts.count == 2 else { throw ValidationError("--map \(entry): expected HEADER=pilot/sensor") }
            mapping[String(entry[..<equals])] = SensorAddress(pilot: String(parts[0]), sensor: String(parts[1]))
        }
        guard let data = FileManager.default.contents(atPath: csv), let text = String(data: data, encoding: .utf8) else {
            printError("\(csv): cannot be read as UTF-8 text")
            throw ExitCode(1)
        }
        let importer = CSVTraceImport(
            timeColumn: timeColumn, utcOffset: offset, interval: interval?.duration, metric: metricValue, topicPrefix: topicPrefix,
            pilot: pilot, mapping: mapping, separator: separatorCharacter)
        var problems: [CSVTraceImport.Problem] = []
        var records: [TraceRecord] = []
        do {
            _ = try importer.records(csv: text, problems: &problems) { records.append($0) }
        } catch {
            printError("\(csv): \(error)")
            throw ExitCode(1)
        }
        // A trace is in delivery order; rows may not be (ties keep their CSV order).
        records = records.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        let writer = try TraceWriter(path: out)
        for record in records { try writer.write(record) }
        try writer.close()
        for problem in problems.prefix(100) { printError("\(csv):\(problem.line): skipped: \(problem.reason)") }
        printError("wrote \(records.count) messages; \(problems.count) cells or rows skipped")
    }

    static func offset(_ text: String) -> Duration? {
        if text == "UTC" || text == "Z" { return .zero }
        let sign: Int64 = text.hasPrefix("-") ? -1 : 1
        let parts = text.drop(while: { $0 == "+" || $0 == "-" }).split(separator: ":")
        guard text.first == "+" || text.first == "-", parts.count == 2, let h = Int64(parts[0]), let m = Int64(parts[1]) else { return nil }
        return .seconds(sign * (h * 3600 + m * 60))
    }
}
