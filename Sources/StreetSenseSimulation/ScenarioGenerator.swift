import StreetSenseCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One message a simulated sensor publishes: delivery time, topic and payload.
public struct SimulatedMessage: Sendable, Hashable {
    /// When the broker delivers it (equal to the reading's `t` unless a fault delayed or repeated it).
    public var at: EventTime
    public var topic: String
    public var payload: String

    public init(at: EventTime, topic: String, payload: String) {
        self.at = at
        self.topic = topic
        self.payload = payload
    }
}

/// What the generator injected, to check a replay against: counts of messages and readings by fault, and
/// the counts the pipeline is expected to report.
public struct FaultTruth: Sendable, Hashable {
    public var messages = 0
    public var readings = 0
    public var malformedMessages = 0
    public var duplicateMessages = 0
    public var duplicateReadings = 0
    public var lateMessages = 0
    public var lateReadings = 0
    public var outOfOrderMessages = 0
    public var errorCodeReadings = 0
    public var stuckMessages = 0
    public var silencedMessages = 0

    public init() {}

    /// The ground truth as a JSON document (with a final newline), keys in a fixed order.
    public func json(scenario: String, seed: UInt64) -> String {
        """
        {
          "scenario": "\(scenario)",
          "seed": \(seed),
          "messages": \(messages),
          "readings": \(readings),
          "injected": {
            "malformed_messages": \(malformedMessages),
            "duplicate_messages": \(duplicateMessages),
            "duplicate_readings": \(duplicateReadings),
            "late_messages": \(lateMessages),
            "late_readings": \(lateReadings),
            "out_of_order_messages": \(outOfOrderMessages),
            "error_code_readings": \(errorCodeReadings),
            "stuck_messages": \(stuckMessages),
            "silenced_messages": \(silencedMessages)
          },
          "expected": {
            "rejects_by_reason": { "malformed_json": \(malformedMessages), "error_code": \(errorCodeReadings) },
            "duplicate": \(duplicateReadings),
            "late": \(lateReadings)
          }
        }

        """
    }
}

/// Runs a ``Scenario``: yields its messages in delivery order, one at a time (a 100 000-sensor city streams
/// without holding the trace in memory).
///
/// Crowds: each zone is a birth–death process stepped every 5 s: people arrive (Poisson) at the rate that keeps
/// the zone near its target (the daily profile with slow random variation, or a surge) and each person leaves
/// at rate 1/dwell, plus the departures a falling target needs; occupancy never goes negative. Cameras count
/// the people in what they cover (with a few percent of noise), Wi-Fi/BLE counters see devices, gate lines
/// count who came in and out through them since their last message. Air: traffic-driven baselines times a
/// shared "stagnation" factor, plus episodes; PM10 follows PM2.5, O3 falls as NO2 rises.
///
/// Deterministic: every random draw comes from ``SeededGenerator`` streams derived from the seed (one per zone,
/// one per sensor, one for faults), ordering never depends on hashing, and no wall clock is read.
public struct ScenarioGenerator {
    public let scenario: Scenario
    public let seed: UInt64
    public private(set) var truth = FaultTruth()

    private static let zoneStep: Int64 = 5_000
    private let end: Int64
    private var zones: [ZoneState]
    private var sensors: [SensorState]
    private var schedule = MinHeap<ScheduleEntry>()
    private var delayed = MinHeap<DelayedEntry>()
    private var delayedSequence = 0
    private var faultRandom: SeededGenerator

    struct ZoneState {
        var people: Double = 0
        /// People who came through each gate and are still inside (flow zones), or one pool.
        var pools: [Double]
        var time: Int64
        var variation: Double = 0
        var stagnation: Double = 0
        var random: SeededGenerator
        var gateSensors: [Int]
    }

    struct SensorState {
        var random: SeededGenerator
        var zone: Int
        var gate: Int?
        var topic: String
        var intervalMs: Int64
        var pendingIn: Double = 0
        var pendingOut: Double = 0
        var stuckPayloadValues: String?
    }

    struct ScheduleEntry: Comparable {
        var due: Int64
        var sensor: Int
        static func < (a: Self, b: Self) -> Bool { (a.due, a.sensor) < (b.due, b.sensor) }
    }

    struct DelayedEntry: Comparable {
        var at: Int64
        var sequence: Int
        var message: SimulatedMessage
        static func < (a: Self, b: Self) -> Bool { (a.at, a.sequence) < (b.at, b.sequence) }
        static func == (a: Self, b: Self) -> Bool { (a.at, a.sequence) == (b.at, b.sequence) }
    }

    /// - Parameter duration: overrides the scenario's duration.
    public init(scenario: Scenario, seed: UInt64, duration: Duration? = nil) {
        self.scenario = scenario
        self.seed = seed
        let start = scenario.start.milliseconds
        end = start + (duration ?? scenario.duration).wholeMilliseconds
        faultRandom = SeededGenerator(seed: Self.mix(seed, 0xFA17, 0))
        var zoneIndex: [String: Int] = [:]
        for (i, zone) in scenario.zones.enumerated() where zoneIndex[zone.definition.id] == nil { zoneIndex[zone.definition.id] = i }
        zones = scenario.zones.indices.map { i in
            ZoneState(pools: [0], time: start, random: SeededGenerator(seed: Self.mix(seed, 0x2011E, UInt64(i))), gateSensors: [])
        }
        sensors = []
        sensors.reserveCapacity(scenario.sensors.count)
        for (i, sensor) in scenario.sensors.enumerated() {
            let zone = zoneIndex[sensor.definition.zone] ?? 0
            var gate: Int?
            if sensor.definition.kind == .flow {
                gate = zones[zone].gateSensors.count
                zones[zone].gateSensors.append(i)
            }
            let address = sensor.definition.address
            sensors.append(SensorState(
                random: SeededGenerator(seed: Self.mix(seed, 0x5E45, UInt64(i))), zone: zone, gate: gate,
                topic: "\(scenario.topicPrefix)/readings/\(address.pilot)/\(address.sensor)", intervalMs: sensor.interval.wholeMilliseconds))
            // Sensors start at their own phase within their interval.
            let interval = sensor.interval.wholeMilliseconds
            let phase = Int64(truncatingIfNeeded: (UInt64(i) &* 7919 &+ 1) % UInt64(max(interval, 1)))
            schedule.push(ScheduleEntry(due: start + phase, sensor: i))
        }
        for z in zones.indices {
            let gates = zones[z].gateSensors.count
            zones[z].pools = Array(repeating: 0, count: max(gates, 1))
            // Zones start at their target. Gate counters start at zero in the pipeline, so each gate's first
            // message counts the people already inside as having come in through it.
            let target = targetPeople(zone: z, at: start).rounded()
            zones[z].people = target
            for g in zones[z].pools.indices { zones[z].pools[g] = (target / Double(zones[z].pools.count)).rounded(.down) }
            zones[z].people = zones[z].pools.reduce(0, +)
            for (g, s) in zones[z].gateSensors.enumerated() { sensors[s].pendingIn = zones[z].pools[g] }
        }
    }

    static func mix(_ seed: UInt64, _ stream: UInt64, _ index: UInt64) -> UInt64 {
        var generator = SeededGenerator(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15) ^ (index &* 0xD1B5_4A32_D192_ED03))
        return generator.next()
    }

    /// The next message in delivery order, or nil when the scenario is over.
    public mutating func next() -> SimulatedMessage? {
        while true {
            let due = schedule.peek.flatMap { $0.due < end ? $0 : nil }
            if let waiting = delayed.peek, due == nil || waiting.at <= due!.due {
                return delayed.pop()!.message
            }
            guard let entry = due else { return nil }
            _ = schedule.pop()
            let interval = sensors[entry.sensor].intervalMs
            schedule.push(ScheduleEntry(due: entry.due + interval, sensor: entry.sensor))
            if let message = publish(sensor: entry.sensor, at: entry.due) { return message }
        }
    }

    // MARK: - Crowds

    /// Target people in a zone at `time`.
    func targetPeople(zone z: Int, at time: Int64) -> Double {
        let zone = scenario.zones[z]
        let minute = Double(time + scenario.utcOffset.wholeMilliseconds) / 60_000
        var density = zone.profile.value(atMinute: minute) * exp(zones[z].variation)
        let offset = Duration.milliseconds(time - scenario.start.milliseconds)
        for surge in scenario.surges where surge.zone == zone.definition.id {
            density = max(density, surge.density(at: offset))
        }
        return max(0, density) * zone.definition.areaM2
    }

    private mutating func advance(zone z: Int, to time: Int64) {
        let step = Self.zoneStep
        let dt = Double(step) / 1000
        let dwell = max(Double(scenario.zones[z].dwell.wholeMilliseconds) / 1000, 1)
        let sigma = scenario.zones[z].variation
        while zones[z].time + step <= time {
            let before = targetPeople(zone: z, at: zones[z].time)
            zones[z].time += step
            // Slow variation: an AR(1) process with a 20-minute memory and stationary deviation `sigma`.
            let keep = exp(-dt / 1200)
            zones[z].variation = zones[z].variation * keep + sigma * (1 - keep * keep).squareRoot() * zones[z].random.gaussian()
            zones[z].stagnation = zones[z].stagnation * exp(-dt / 1800) + 0.15 * (1 - exp(-dt / 900)).squareRoot() * zones[z].random.gaussian()
            let target = targetPeople(zone: z, at: zones[z].time)
            let change = target - before
            let people = zones[z].people
            let restore = dt / 120
            let arriving = target / dwell * dt + max(0, change) + max(0, target - people) * restore
            let leavingRate = min(1, (1 / dwell * dt) + (people > 0 ? (max(0, -change) + max(0, people - target) * restore) / people : 0))
            let gates = zones[z].pools.count
            var total = 0.0
            for g in 0..<gates {
                let arrivals = zones[z].random.poisson(arriving / Double(gates))
                let departures = zones[z].random.binomial(zones[z].pools[g], leavingRate)
                zones[z].pools[g] += arrivals - departures
                total += zones[z].pools[g]
                if g < zones[z].gateSensors.count {
                    let s = zones[z].gateSensors[g]
                    sensors[s].pendingIn += arrivals
                    sensors[s].pendingOut += departures
                }
            }
            zones[z].people = total
        }
    }

    // MARK: - Messages

    private mutating func publish(sensor s: Int, at time: Int64) -> SimulatedMessage? {
        let z = sensors[s].zone
        advance(zone: z, to: time)
        let definition = scenario.sensors[s].definition
        let offset = Duration.milliseconds(time - scenario.start.milliseconds)
        let faults = scenario.faults
        if faults.silences.contains(where: { $0.sensor == definition.address && $0.contains(offset) }) {
            // A silent sensor's gate still counts; it sends the totals when it is back.
            truth.silencedMessages += 1
            return nil
        }
        var readingCount = 1
        var values: String
        switch definition.kind {
        case .occupancy, .devices:
            let area = scenario.zones[z].definition.areaM2
            let seen = zones[z].people * min(1, (definition.coveredM2 ?? area) / area)
            let noise = definition.kind == .occupancy ? 0.03 : 0.08
            let count = max(0, (seen / definition.factor * (1 + sensors[s].random.gaussian(deviation: noise))).rounded())
            values = "\"\(definition.kind == .occupancy ? "people" : "devices")\":\(Int(count))"
        case .flow:
            let peopleIn = Int(sensors[s].pendingIn), peopleOut = Int(sensors[s].pendingOut)
            sensors[s].pendingIn = 0
            sensors[s].pendingOut = 0
            values = "\"people_in\":\(peopleIn),\"people_out\":\(peopleOut),\"interval_s\":\(sensors[s].intervalMs / 1000)"
            readingCount = 2  // interval_s describes the counts; it is not a reading
        case .air:
            values = airValues(sensor: s, zone: z, at: time, offset: offset)
            readingCount = 4
        }
        if faults.stuck.contains(where: { $0.sensor == definition.address && $0.contains(offset) }) && definition.kind != .flow {
            if let stuck = sensors[s].stuckPayloadValues { values = stuck } else { sensors[s].stuckPayloadValues = values }
            truth.stuckMessages += 1
        } else {
            sensors[s].stuckPayloadValues = nil
        }
        var errorCodes = 0
        if definition.kind == .air, faults.errorCodes.contains(where: { $0.sensor == definition.address && $0.contains(offset) }) {
            values = values.replacingPM(with: "\"pm2_5\":999.9,\"pm10\":1999.9")
            errorCodes = 2
        }
        let at = EventTime(milliseconds: time)
        let message = SimulatedMessage(at: at, topic: sensors[s].topic, payload: "{\"t\":\"\(at.rfc3339)\",\(values)}")
        truth.messages += 1
        truth.readings += readingCount
        truth.errorCodeReadings += errorCodes
        guard !faults.isEmpty, errorCodes == 0 else { return message }
        // At most one fault per message: malformed, duplicate, late or out of order.
        let draw = faultRandom.unit()
        var threshold = faults.malformedRate
        if draw < threshold {
            truth.malformedMessages += 1
            truth.readings -= readingCount
            return SimulatedMessage(at: at, topic: message.topic, payload: malformed(message.payload))
        }
        threshold += faults.duplicateRate
        if draw < threshold {
            truth.duplicateMessages += 1
            truth.duplicateReadings += readingCount
            delay(message, by: 1_000 + Int64(faultRandom.next() % 4_000))
            return message
        }
        let interval = sensors[s].intervalMs
        let lateness = faults.allowedLateness.wholeMilliseconds
        threshold += faults.lateRate
        if draw < threshold {
            // Behind the sensor's newest reading by more than the lateness: it must have published since.
            let lag = lateness + 2 * interval + 1_000
            if time + lag + interval < end, !silenced(definition.address, from: time, through: time + lag + interval) {
                truth.lateMessages += 1
                truth.lateReadings += readingCount
                delay(message, by: lag)
                return nil
            }
            return message
        }
        threshold += faults.outOfOrderRate
        if draw < threshold {
            let lag = interval + interval / 2
            if lag < lateness - 5_000, time + lag < end {
                truth.outOfOrderMessages += 1
                delay(message, by: lag)
                return nil
            }
        }
        return message
    }

    private func silenced(_ address: SensorAddress, from: Int64, through: Int64) -> Bool {
        let a = Duration.milliseconds(from - scenario.start.milliseconds), b = Duration.milliseconds(through - scenario.start.milliseconds)
        return scenario.faults.silences.contains { $0.sensor == address && $0.start < b && a < $0.start + $0.duration }
    }

    private mutating func delay(_ message: SimulatedMessage, by lag: Int64) {
        var copy = message
        copy.at = message.at + .milliseconds(lag)
        delayedSequence += 1
        delayed.push(DelayedEntry(at: copy.at.milliseconds, sequence: delayedSequence, message: copy))
    }

    private mutating func malformed(_ payload: String) -> String {
        switch faultRandom.next() % 3 {
        case 0: String(payload.dropLast(payload.count / 3))  // truncated
        case 1: "\u{7F}ELF\u{01}garbage"
        default: payload.replacingOccurrences(of: ":", with: "=")
        }
    }

    private mutating func airValues(sensor s: Int, zone z: Int, at time: Int64, offset: Duration) -> String {
        let zone = scenario.zones[z]
        let air = scenario.air
        let minute = Double(time + scenario.utcOffset.wholeMilliseconds) / 60_000
        let peak = zone.profile.maximum
        let traffic = peak > 0 ? zone.profile.value(atMinute: minute) / peak : 0.5
        let stagnation = exp(zones[z].stagnation)
        var pm25 = air.pm2_5 * (0.6 + 0.5 * traffic) * stagnation
        var pm10Extra = (air.pm10 - air.pm2_5) * (0.7 + 0.5 * traffic)
        var no2 = air.no2 * (0.35 + 0.9 * traffic) * stagnation
        for episode in air.episodes where episode.zone == nil || episode.zone == zone.definition.id {
            let level = episode.envelope.level(at: offset)
            pm25 += episode.pm2_5 * level
            pm10Extra += max(0, episode.pm10 - episode.pm2_5) * level
            no2 += episode.no2 * level
        }
        var random = sensors[s].random
        pm25 = max(0.5, pm25 * (1 + random.gaussian(deviation: 0.06)))
        let pm10 = max(pm25, pm25 + pm10Extra * (1 + random.gaussian(deviation: 0.1)))
        no2 = max(1, no2 * (1 + random.gaussian(deviation: 0.05)))
        let o3 = max(2, air.o3 * (1.2 - 0.5 * traffic) - 0.3 * (no2 - air.no2) + random.gaussian(deviation: 3))
        sensors[s].random = random
        return "\"pm2_5\":\(tenths(pm25)),\"pm10\":\(tenths(pm10)),\"no2\":\(tenths(no2)),\"o3\":\(tenths(o3))"
    }
}

private func tenths(_ value: Double) -> String {
    let scaled = Int((value * 10).rounded())
    return "\(scaled / 10).\(scaled % 10)"
}

extension String {
    /// Replaces the `"pm2_5":…,"pm10":…` members (the first two of an air payload) with `replacement`.
    fileprivate func replacingPM(with replacement: String) -> String {
        guard let no2 = firstRange(of: "\"no2\"") else { return self }
        return replacement + "," + self[no2.lowerBound...]
    }

    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

extension SeededGenerator {
    /// A Poisson draw (Knuth below a mean of 30, a rounded normal above).
    mutating func poisson(_ mean: Double) -> Double {
        guard mean > 0 else { return 0 }
        if mean < 30 {
            let limit = exp(-mean)
            var k = 0.0, p = 1.0
            repeat {
                k += 1
                p *= unit()
            } while p > limit
            return k - 1
        }
        return max(0, gaussian(mean: mean, deviation: mean.squareRoot()).rounded())
    }

    /// A binomial draw of `n` (a whole number) trials with probability `p`, never more than `n`.
    mutating func binomial(_ n: Double, _ p: Double) -> Double {
        guard n > 0, p > 0 else { return 0 }
        if p >= 1 { return n }
        let mean = n * p
        if mean < 30 { return min(n, poisson(mean)) }
        return min(n, max(0, gaussian(mean: mean, deviation: (mean * (1 - p)).squareRoot()).rounded()))
    }
}

/// A binary min-heap (ties are broken by the element's own ordering, so pops are deterministic).
struct MinHeap<Element: Comparable> {
    private var items: [Element] = []

    var peek: Element? { items.first }
    var count: Int { items.count }

    mutating func push(_ element: Element) {
        items.append(element)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let left = 2 * i + 1, right = left + 1
            var smallest = i
            if left < items.count, items[left] < items[smallest] { smallest = left }
            if right < items.count, items[right] < items[smallest] { smallest = right }
            if smallest == i { break }
            items.swapAt(i, smallest)
            i = smallest
        }
        return top
    }
}
