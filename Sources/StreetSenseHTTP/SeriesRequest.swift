import StreetSenseCore

/// The validated time range and step of a `…/series` request.
///
/// Invariants: `from < to`; `stepSeconds` is a positive multiple of 60; the range holds at most
/// ``maximumPoints`` steps. Defaults: `to` is the end of the minute holding the snapshot's `as_of`, `from` is
/// one hour before `to`, and the step is the smallest multiple of 60 s that keeps the points within the limit.
struct SeriesRequest: Sendable, Hashable {
    static let maximumPoints: Int64 = 1000
    static let defaultRangeMilliseconds: Int64 = 3_600_000

    var from: EventTime
    var to: EventTime
    var stepSeconds: Int64

    var step: Duration { .seconds(stepSeconds) }

    init(from: EventTime, to: EventTime, stepSeconds: Int64) {
        self.from = from
        self.to = to
        self.stepSeconds = stepSeconds
    }

    init(_ query: QueryParameters, now: EventTime) throws(ProblemDetails) {
        let givenFrom = try query.time("from")
        let givenTo = try query.time("to")
        let to: EventTime
        if let givenTo {
            to = givenTo
        } else if let givenFrom {
            to = Swift.max(Self.endOfMinute(now), givenFrom + .milliseconds(60_000))
        } else {
            to = Self.endOfMinute(now)
        }
        let from = givenFrom ?? to - .milliseconds(Self.defaultRangeMilliseconds)
        guard from < to else { throw .invalidParameter("from", "must be before 'to' (\(to.rfc3339))") }
        let range = to.milliseconds - from.milliseconds
        let step: Int64
        if let given = try query.seconds("step") {
            guard given > 0, given % 60 == 0 else { throw .invalidParameter("step", "must be a positive multiple of 60 s (60s, 5m, 1h)") }
            let points = Self.pointCount(range: range, stepSeconds: given)
            guard points <= Self.maximumPoints else {
                throw .invalidParameter(
                    "step",
                    "gives \(points) points from \(from.rfc3339) to \(to.rfc3339); at most \(Self.maximumPoints) are allowed, "
                        + "so use a step of at least \(Self.smallestStep(range: range)) s"
                )
            }
            step = given
        } else {
            step = Self.smallestStep(range: range)
        }
        self.init(from: from, to: to, stepSeconds: step)
    }

    /// The number of steps that cover `range` milliseconds (the last one may be partial).
    static func pointCount(range: Int64, stepSeconds: Int64) -> Int64 {
        let stepMilliseconds = stepSeconds * 1000
        return (range + stepMilliseconds - 1) / stepMilliseconds
    }

    /// The smallest multiple of 60 s that covers `range` milliseconds in at most ``maximumPoints`` steps.
    static func smallestStep(range: Int64) -> Int64 {
        let perPoint = (range + maximumPoints - 1) / maximumPoints  // ms, rounded up
        let minutes = Swift.max(1, (perPoint + 59_999) / 60_000)
        return minutes * 60
    }

    /// The end of the minute that holds `time` (the exclusive end of its 1-minute rollup).
    static func endOfMinute(_ time: EventTime) -> EventTime {
        let ms = time.milliseconds
        let minute = ms >= 0 ? ms / 60_000 : (ms - 59_999) / 60_000
        return EventTime(milliseconds: (minute + 1) * 60_000)
    }
}
