import StreetSenseCore

/// A simulation scenario: the zones and sensors of a place, the shape of its day, surges, air episodes and
/// injected faults. Loaded from YAML by ``ScenarioFile``; run by ``ScenarioGenerator``.
///
/// Invariants (checked when loading): ids are valid, every sensor's zone exists, durations and intervals are
/// positive, rates are in 0…1, densities are not negative.
public struct Scenario: Sendable {
    public var name: String
    public var description: String
    /// Event time of the first instant simulated.
    public var start: EventTime
    public var duration: Duration
    public var topicPrefix: String
    /// Offset of local time from UTC (for the daily profiles' clock times).
    public var utcOffset: Duration
    public var zones: [Zone]
    public var sensors: [Sensor]
    public var surges: [Surge]
    public var air: Air
    public var faults: Faults

    public init(
        name: String, description: String = "", start: EventTime, duration: Duration, topicPrefix: String = "streetsense/v1",
        utcOffset: Duration = .zero, zones: [Zone], sensors: [Sensor], surges: [Surge] = [], air: Air = Air(), faults: Faults = Faults()
    ) {
        self.name = name
        self.description = description
        self.start = start
        self.duration = duration
        self.topicPrefix = topicPrefix
        self.utcOffset = utcOffset
        self.zones = zones
        self.sensors = sensors
        self.surges = surges
        self.air = air
        self.faults = faults
    }

    /// A zone and the shape of its day.
    public struct Zone: Sendable, Hashable {
        public var definition: ZoneDefinition
        /// Target density (people/m²) by local time of day, linear in between and around midnight.
        public var profile: DailyProfile
        /// Relative size of the slow random variation around the profile (0.1 = about ±10 %).
        public var variation: Double
        /// Mean time a person stays in the zone.
        public var dwell: Duration

        public init(definition: ZoneDefinition, profile: DailyProfile, variation: Double = 0.05, dwell: Duration = .seconds(15 * 60)) {
            self.definition = definition
            self.profile = profile
            self.variation = variation
            self.dwell = dwell
        }
    }

    /// A sensor and how often it publishes.
    public struct Sensor: Sendable, Hashable {
        public var definition: SensorDefinition
        public var interval: Duration

        public init(definition: SensorDefinition, interval: Duration) {
            self.definition = definition
            self.interval = interval
        }
    }

    /// A crowd surge in one zone: density rises linearly to `peakPPM2`, holds, and falls back to the profile.
    public struct Surge: Sendable, Hashable {
        public var zone: String
        /// Offset from the scenario start.
        public var start: Duration
        public var rampUp: Duration
        public var hold: Duration
        public var rampDown: Duration
        public var peakPPM2: Double

        public init(zone: String, start: Duration, rampUp: Duration, hold: Duration, rampDown: Duration, peakPPM2: Double) {
            self.zone = zone
            self.start = start
            self.rampUp = rampUp
            self.hold = hold
            self.rampDown = rampDown
            self.peakPPM2 = peakPPM2
        }

        /// The surge's density at `offset` from the scenario start (0 outside it).
        public func density(at offset: Duration) -> Double {
            peakPPM2 * Envelope(start: start, rise: rampUp, hold: hold, fall: rampDown).level(at: offset)
        }
    }

    /// Air quality: a baseline that follows traffic (the zone's profile) and pollution episodes.
    public struct Air: Sendable, Hashable {
        /// Baseline concentrations (µg/m³) at full traffic.
        public var pm2_5: Double
        public var pm10: Double
        public var no2: Double
        public var o3: Double
        public var episodes: [Episode]

        public init(pm2_5: Double = 8, pm10: Double = 14, no2: Double = 28, o3: Double = 55, episodes: [Episode] = []) {
            self.pm2_5 = pm2_5
            self.pm10 = pm10
            self.no2 = no2
            self.o3 = o3
            self.episodes = episodes
        }

        /// Extra concentrations at the episode's peak (a stagnant afternoon, a traffic jam, a fire).
        public struct Episode: Sendable, Hashable {
            /// nil: every zone.
            public var zone: String?
            public var envelope: Envelope
            public var pm2_5: Double
            public var pm10: Double
            public var no2: Double

            public init(zone: String?, envelope: Envelope, pm2_5: Double, pm10: Double, no2: Double) {
                self.zone = zone
                self.envelope = envelope
                self.pm2_5 = pm2_5
                self.pm10 = pm10
                self.no2 = no2
            }
        }
    }

    /// Faults injected into the published messages, with the generator's ground truth (``FaultTruth``).
    public struct Faults: Sendable, Hashable {
        /// Fraction of messages replaced by a malformed payload.
        public var malformedRate: Double = 0
        /// Fraction of messages delivered twice (a QoS 1 redelivery a few seconds later).
        public var duplicateRate: Double = 0
        /// Fraction of messages delivered after the allowed lateness (counted `late`, not aggregated).
        public var lateRate: Double = 0
        /// Fraction of messages delivered after the sensor's next one but within the lateness (still aggregated).
        public var outOfOrderRate: Double = 0
        /// The lateness the pipeline allows (to place late and out-of-order deliveries on the right side of it).
        public var allowedLateness: Duration = .seconds(120)
        public var silences: [SensorWindow] = []
        public var stuck: [SensorWindow] = []
        /// Air sensors that send the SDS011 error codes (999.9 for PM2.5, 1999.9 for PM10) in a window.
        public var errorCodes: [SensorWindow] = []

        public init() {}

        public var isEmpty: Bool {
            malformedRate == 0 && duplicateRate == 0 && lateRate == 0 && outOfOrderRate == 0 && silences.isEmpty && stuck.isEmpty && errorCodes.isEmpty
        }
    }

    /// A sensor and a time window (offsets from the scenario start).
    public struct SensorWindow: Sendable, Hashable {
        public var sensor: SensorAddress
        public var start: Duration
        public var duration: Duration

        public init(sensor: SensorAddress, start: Duration, duration: Duration) {
            self.sensor = sensor
            self.start = start
            self.duration = duration
        }

        func contains(_ offset: Duration) -> Bool { offset >= start && offset < start + duration }
    }
}

/// A rise, hold and fall over time (0 before and after, 1 while holding), linear in between.
public struct Envelope: Sendable, Hashable {
    public var start: Duration
    public var rise: Duration
    public var hold: Duration
    public var fall: Duration

    public init(start: Duration, rise: Duration, hold: Duration, fall: Duration) {
        self.start = start
        self.rise = rise
        self.hold = hold
        self.fall = fall
    }

    public func level(at offset: Duration) -> Double {
        let t = offset.wholeMilliseconds - start.wholeMilliseconds
        let rise = rise.wholeMilliseconds, hold = hold.wholeMilliseconds, fall = fall.wholeMilliseconds
        if t < 0 { return 0 }
        if t < rise { return Double(t) / Double(rise) }
        if t < rise + hold { return 1 }
        if t < rise + hold + fall { return 1 - Double(t - rise - hold) / Double(fall) }
        return 0
    }
}

/// Values by time of day (minutes since local midnight), linear in between and wrapping around midnight.
///
/// Invariant: at least one point; points sorted by minute, minutes in 0..<1440.
public struct DailyProfile: Sendable, Hashable {
    public private(set) var points: [(minute: Double, value: Double)]

    public init(points: [(minute: Double, value: Double)]) {
        precondition(!points.isEmpty, "a daily profile needs a point")
        self.points = points.sorted { $0.minute < $1.minute }
    }

    public static func constant(_ value: Double) -> DailyProfile { DailyProfile(points: [(0, value)]) }

    public var maximum: Double { points.map(\.value).max() ?? 0 }

    /// The value at `minute` of the day.
    public func value(atMinute minute: Double) -> Double {
        guard points.count > 1 else { return points[0].value }
        let m = minute.truncatingRemainder(dividingBy: 1440) + (minute < 0 ? 1440 : 0)
        var previous = points[points.count - 1]
        previous.minute -= 1440
        for point in points {
            if m < point.minute {
                let span = point.minute - previous.minute
                return previous.value + (point.value - previous.value) * (m - previous.minute) / span
            }
            previous = point
        }
        let next = (minute: points[0].minute + 1440, value: points[0].value)
        return previous.value + (next.value - previous.value) * (m - previous.minute) / (next.minute - previous.minute)
    }

    public static func == (lhs: DailyProfile, rhs: DailyProfile) -> Bool {
        lhs.points.elementsEqual(rhs.points) { $0.minute == $1.minute && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for point in points {
            hasher.combine(point.minute)
            hasher.combine(point.value)
        }
    }
}
