import StreetSenseAlerts
import StreetSenseCore
import Testing

/// Random density traces (random walks, jumps, values parked exactly on thresholds and hysteresis lines,
/// missing samples, irregular and repeated sample times, random rules, operator acknowledgements and
/// restarts) checked against the lifecycle and against the hold/clear/hysteresis rules, sample by sample.
@Suite struct AlertPropertyTests {
    static let tracesPerBatch = 40
    static let samplesPerTrace = 300

    @Test(arguments: 0..<8)
    func randomDensityTracesNeverBreakTheLifecycle(batch: Int) throws {
        for trace in 0..<Self.tracesPerBatch {
            var rng = SplitMix64(seed: UInt64(batch * 7919 + trace) &* 0x2545_F491_4F6C_DD1D)
            try check(trace: &rng, label: "batch \(batch) trace \(trace)")
        }
    }

    private func check(trace rng: inout SplitMix64, label: String) throws {
        let levels: DensityLevels =
            Bool.random(using: &rng)
            ? .default
            : {
                let elevated = Double.random(in: 0.5...3, using: &rng)
                let high = elevated + Double.random(in: 0.2...2, using: &rng)
                return DensityLevels(elevated: elevated, high: high, critical: high + Double.random(in: 0.2...2, using: &rng))
            }()
        let rule = DensityAlertRule(
            levels: levels, hold: .seconds([0, 5, 15, 30, 60].randomElement(using: &rng)!),
            clear: .seconds([0, 10, 30, 60, 120].randomElement(using: &rng)!),
            hysteresis: [0, 0.05, 0.1, 0.3].randomElement(using: &rng)!)
        let rules = ZoneAlertRules(density: rule, buildUp: .default)
        let thresholds = rule.thresholds
        let hold = rule.hold.wholeMilliseconds, clear = rule.clear.wholeMilliseconds
        let key = AlertKey(rule: .crowdDensity, subject: .zone(square))
        let interesting = (1...3).flatMap { [thresholds.threshold($0), thresholds.clearLine($0)] }

        var engine = AlertEngine()
        var zone = engine.registerZone(id: square, rules: rules)
        var lifecycle = LifecycleChecker()
        // The spec's runs: when the current unbroken run of samples reaching level k (or below its clear line)
        // began.
        var reachedSince: [Int64?] = [nil, nil, nil, nil]
        var belowSince: [Int64?] = [nil, nil, nil, nil]
        var t = t0.milliseconds
        var value = Double.random(in: 0...6, using: &rng)

        for step in 0..<Self.samplesPerTrace {
            let context = "\(label) step \(step)"
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<80: t += 5000
            case 80..<95: t += Int64.random(in: 1...60_000, using: &rng)
            default: break  // the same instant again
            }
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<10: value = Double.random(in: 0...7, using: &rng)
            case 10..<25: value = interesting.randomElement(using: &rng)!
            case 25..<30: value = interesting.randomElement(using: &rng)!.nextDown
            default: value = max(0, value + Double.random(in: -0.5...0.5, using: &rng))
            }
            let sample: Double? = Int.random(in: 0..<100, using: &rng) < 8 ? nil : value

            let before = engine.activeAlert(key)
            var events: [AlertEvent] = []
            engine.evaluateZone(zone, at: EventTime(milliseconds: t), density1m: sample, buildUpPer5Min: nil, into: &events)
            let after = engine.activeAlert(key)
            lifecycle.check(events, context)

            // The spec: from the level before, the level after is the highest level above it whose run has
            // lasted `hold`; otherwise the level before, less every level whose below-the-line run has lasted
            // `clear`. A missing sample restarts every run and changes nothing.
            for k in 1...3 {
                if let sample, thresholds.reaches(sample, level: k) {
                    reachedSince[k] = reachedSince[k] ?? t
                } else {
                    reachedSince[k] = nil
                }
                if let sample, sample < thresholds.clearLine(k) {
                    belowSince[k] = belowSince[k] ?? t
                } else {
                    belowSince[k] = nil
                }
            }
            let previous = before?.severity.rank ?? 0
            var expected = previous
            if let up = (1...3).reversed().first(where: { $0 > previous && reachedSince[$0].map { t - $0 >= hold } == true }) {
                expected = up
            } else {
                while expected > 0, belowSince[expected].map({ t - $0 >= clear }) == true { expected -= 1 }
            }
            let level = after?.severity.rank ?? 0
            #expect(level == expected, "\(context): level \(level), expected \(expected) (value \(String(describing: sample)))")

            // Exactly one event when the level moved, of the right kind; none otherwise.
            let transitions = events.map(\.transition)
            switch (previous, level) {
            case let (p, l) where p == l: #expect(transitions.isEmpty, "\(context)")
            case (0, _): #expect(transitions == [.raised], "\(context)")
            case (_, 0): #expect(transitions == [.cleared], "\(context)")
            case let (p, l) where l > p: #expect(transitions == [.escalated], "\(context)")
            default: #expect(transitions == [.deEscalated], "\(context)")
            }
            if let event = events.first {
                #expect(event.at.milliseconds == t || event.at == before?.updatedAt, "\(context)")
                #expect(event.value == sample, "\(context)")
            }

            // Operators acknowledge now and then.
            if let active = after, Int.random(in: 0..<100, using: &rng) < 4 {
                do {
                    let ack = try engine.acknowledge(alertID: active.id, by: "ops", note: nil, at: EventTime(milliseconds: t))
                    #expect(active.acknowledgement == nil, "\(context): a second acknowledgement was accepted")
                    lifecycle.check([ack], context)
                } catch {
                    #expect(active.acknowledgement != nil, "\(context): acknowledgement refused: \(error)")
                    #expect(error.code == .alreadyAcknowledged)
                }
            }

            // And the service restarts now and then: alerts and ids carry over, runs start again.
            if Int.random(in: 0..<200, using: &rng) == 0 {
                var restarted = AlertEngine()
                zone = restarted.registerZone(id: square, rules: rules)
                var cleared: [AlertEvent] = []
                try restarted.restore(
                    activeAlerts: engine.activeAlerts, lastEventID: engine.lastEventID, at: EventTime(milliseconds: t), into: &cleared)
                #expect(cleared.isEmpty)
                #expect(restarted.activeAlerts == engine.activeAlerts)
                engine = restarted
                reachedSince = [nil, nil, nil, nil]
                belowSince = [nil, nil, nil, nil]
            }
        }
        #expect(engine.refusedTransitions == 0, "\(label)")
    }
}

/// Checks an event stream against the lifecycle alone, knowing nothing of rules: ids strictly increase;
/// per key, a raise only when nothing is active and every other event about the active alert; escalations go
/// up, de-escalations down; one acknowledgement per alert, carried by every later event; times never go back
/// within an alert; nothing after a clear.
struct LifecycleChecker {
    struct Open {
        var id: AlertID
        var severity: AlertSeverity
        var acknowledgement: Acknowledgement?
        var at: EventTime
        var peak: Double
    }

    var lastID = AlertEventID(0)
    var open: [AlertKey: Open] = [:]
    var closed: Set<AlertID> = []

    mutating func check(_ events: [AlertEvent], _ context: String) {
        for event in events {
            #expect(event.id > lastID, "\(context): event id \(event.id) after \(lastID)")
            lastID = event.id
            #expect(!closed.contains(event.alertID), "\(context): event for cleared alert \(event.alertID)")
            let key = AlertKey(rule: event.rule, subject: event.subject, metric: event.rule == .airQuality ? event.metric : nil)
            guard var current = open[key] else {
                #expect(event.transition == .raised, "\(context): \(event.transition) without an active alert")
                #expect(event.alertID.rawValue == event.id.rawValue, "\(context): alert id is not its raised event's id")
                #expect(event.peak == event.value)
                open[key] = Open(id: event.alertID, severity: event.severity, acknowledgement: nil, at: event.at, peak: event.peak)
                continue
            }
            #expect(event.transition != .raised, "\(context): raised twice without a clear")
            #expect(event.alertID == current.id, "\(context): event about another alert of the same key")
            #expect(event.at >= current.at, "\(context): time went back")
            #expect(event.peak >= current.peak && event.peak >= event.value, "\(context): peak")
            switch event.transition {
            case .escalated: #expect(event.severity > current.severity, "\(context): escalation not upward")
            case .deEscalated: #expect(event.severity < current.severity, "\(context): de-escalation not downward")
            case .acknowledged:
                #expect(current.acknowledgement == nil, "\(context): acknowledged twice")
                #expect(event.severity == current.severity)
            case .cleared: #expect(event.severity == current.severity)
            case .raised: break
            }
            if event.transition != .acknowledged {
                #expect(event.acknowledgement == current.acknowledgement, "\(context): acknowledgement lost")
            }
            current.severity = event.severity
            current.acknowledgement = event.acknowledgement
            current.at = event.at
            current.peak = event.peak
            if event.transition == .cleared {
                open[key] = nil
                closed.insert(event.alertID)
            } else {
                open[key] = current
            }
        }
    }
}
