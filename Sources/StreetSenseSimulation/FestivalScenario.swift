import StreetSenseCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small built-in festival: one zone fills up past `elevated`, `high` and `critical` and then disperses,
/// in a 20-minute cycle, while the other zones breathe gently and the air stations drift. It drives
/// `streetsense demo`; the full scenario generator builds on the same pieces.
///
/// Deterministic: the messages for a given instant depend only on the seed, the registry and the instant.
/// Every sensor reports every `interval`, each at its own phase.
public struct FestivalScenario: Sendable {
    public var zones: [ZoneDefinition]
    public var sensors: [SensorDefinition]
    /// The zone that surges (the first zone with a people-counting sensor, unless set).
    public var surgeZone: String?
    public var topicPrefix: String
    public var interval: Duration
    public var seed: UInt64
    /// Length of one surge cycle.
    public var cycle: Duration = .seconds(20 * 60)

    public init(zones: [ZoneDefinition], sensors: [SensorDefinition], topicPrefix: String = "streetsense/v1",
                interval: Duration = .seconds(5), seed: UInt64 = 1) {
        self.zones = zones
        self.sensors = sensors
        self.topicPrefix = topicPrefix
        self.interval = interval
        self.seed = seed
        self.surgeZone = sensors.first { $0.kind.estimatesPeople }?.zone
    }

    /// One published message.
    public struct Message: Sendable, Hashable {
        public var topic: String
        public var payload: String
    }

    /// The target density of a zone at an instant (people per m²).
    public func targetDensity(zone: String, at time: EventTime) -> Double {
        let cycleMs = cycle.wholeMilliseconds
        let phase = Double(((time.milliseconds % cycleMs) + cycleMs) % cycleMs) / Double(cycleMs)
        if zone == surgeZone {
            // 0–50 %: build up from 0.8 to 5.6; 50–65 %: hold; 65–90 %: disperse; then calm.
            switch phase {
            case ..<0.5: return 0.8 + (5.6 - 0.8) * (phase / 0.5)
            case ..<0.65: return 5.6
            case ..<0.9: return 5.6 - (5.6 - 0.8) * ((phase - 0.65) / 0.25)
            default: return 0.8
            }
        }
        let index = Double(zones.firstIndex { $0.id == zone } ?? 0)
        return 0.9 + 0.6 * sin(2 * Double.pi * (phase + index / 7))
    }

    /// The messages due in (`from`, `to`], in time order then sensor order.
    public func messages(after from: EventTime, through to: EventTime) -> [(EventTime, Message)] {
        let step = interval.wholeMilliseconds
        var out: [(EventTime, Message)] = []
        for (i, sensor) in sensors.enumerated() {
            let phase = Int64(i) * 997 % step
            var t = ((from.milliseconds - phase) / step + 1) * step + phase
            while t <= to.milliseconds {
                out.append((EventTime(milliseconds: t), message(for: sensor, index: i, at: EventTime(milliseconds: t))))
                t += step
            }
        }
        out.sort { ($0.0, $0.1.topic) < ($1.0, $1.1.topic) }
        return out
    }

    /// The message one sensor publishes at one instant.
    public func message(for sensor: SensorDefinition, index: Int, at time: EventTime) -> Message {
        var rng = SeededGenerator(seed: seed ^ UInt64(bitPattern: time.milliseconds) &* 0x2545_F491_4F6C_DD1D ^ UInt64(index) &* 0x9E37_79B9)
        let area = zones.first { $0.id == sensor.zone }?.areaM2 ?? 1000
        let density = targetDensity(zone: sensor.zone, at: time)
        let t = "\"t\":\"\(time.rfc3339)\""
        let body: String
        switch sensor.kind {
        case .occupancy:
            let people = max(0, (density * (sensor.coveredM2 ?? area) / sensor.factor * (1 + rng.gaussian(deviation: 0.03))).rounded())
            body = "{\(t),\"people\":\(Int(people))}"
        case .devices:
            let devices = max(0, (density * (sensor.coveredM2 ?? area) / sensor.factor * (1 + rng.gaussian(deviation: 0.05))).rounded())
            body = "{\(t),\"devices\":\(Int(devices))}"
        case .flow:
            let previous = targetDensity(zone: sensor.zone, at: time - interval) * area
            let now = density * area
            let base = Double(rng.next() % 5)
            let net = (now - previous).rounded()
            let peopleIn = Int(base + max(0, net)), peopleOut = Int(base + max(0, -net))
            body = "{\(t),\"people_in\":\(peopleIn),\"people_out\":\(peopleOut),\"interval_s\":\(interval.components.seconds)}"
        case .air:
            let crowd = targetDensity(zone: sensor.zone, at: time)
            let pm25 = (6 + 4 * crowd + rng.gaussian(deviation: 0.8)).clamped(0.5, 500)
            let pm10 = (pm25 * 1.6 + rng.gaussian(deviation: 1)).clamped(1, 800)
            let no2 = (22 + 6 * crowd + rng.gaussian(deviation: 2)).clamped(1, 400)
            body = "{\(t),\"pm2_5\":\(tenths(pm25)),\"pm10\":\(tenths(pm10)),\"no2\":\(tenths(no2))}"
        }
        return Message(topic: "\(topicPrefix)/readings/\(sensor.address.pilot)/\(sensor.address.sensor)", payload: body)
    }
}

private func tenths(_ value: Double) -> String {
    let scaled = Int((value * 10).rounded())
    return "\(scaled / 10).\(scaled % 10)"
}

extension Double {
    fileprivate func clamped(_ low: Double, _ high: Double) -> Double { Swift.min(Swift.max(self, low), high) }
}
