import StreetSenseCore
import StreetSensePipeline
import Testing

@Suite("Pipeline: snapshots assembled from changes")
struct PipelineSnapshotTests {
    @Test("applying every snapshotChanges gives a full rebuild at every step, while zones change by input, samples and time")
    func assembledSnapshotsEqualFullRebuilds() throws {
        let delivered = DeliveredBatches()
        let pipeline = try makePipeline(delivered: delivered)
        var assembly = SnapshotAssembly()
        var zonesBuilt: [Int] = []
        // 25 minutes: the square's camera stops after 4 minutes and its gate and air station after 10 (so they
        // turn stale and the square's samples leave its 15 minutes); the park's camera reports throughout.
        for step in stride(from: 0.0, to: 1_500, by: 2.5) {
            let s = Int(step)
            if step == Double(s) {
                if s % 10 == 0, s < 240 { pipeline.send(camera, at(step + 0.25), [("people", "\(300 + (s * 7) % 90)")]) }
                if s % 15 == 0, s < 600 {
                    pipeline.send(gate, at(step + 0.5), [("people_in", "\(20 + s % 13)"), ("people_out", "\(14 + s % 11)")])
                }
                if s % 30 == 0, s < 600 { pipeline.send(air, at(step + 1), [("pm2_5", "\(Double(60 + s % 17) / 4)"), ("no2", "\(30 + s % 5)")]) }
                if s % 20 == 0 { pipeline.send(parkCamera, at(step + 2), [("people", "\(500 + (s * 3) % 50)")]) }
            } else if s % 20 == 2 {
                // A second count from the park 1.5 s later, within the same 5 s and 10 s: only the park moves.
                pipeline.send(parkCamera, at(step + 1), [("people", "\(520 + (s * 3) % 50)")])
            }
            let changes = pipeline.snapshotChanges()
            let assembled = assembly.apply(changes)
            let full = pipeline.core.snapshot()
            #expect(assembled.asOf == full.asOf, "at \(step) s")
            #expect(assembled.zones == full.zones, "at \(step) s")
            #expect(assembled.sensors == full.sensors, "at \(step) s")
            zonesBuilt.append(changes.zonesBuilt)
        }
        // The first changes carry both zones; later ones only the zones that input, a sample or time moved
        // (every sample instant moves both: the square's samples and windows move for 25 minutes).
        #expect(zonesBuilt.first == 2)
        #expect(zonesBuilt.contains(0))
        #expect(zonesBuilt.contains(1))
        let quietSquare = try #require(assembly.apply(pipeline.snapshotChanges()).zone(id: square.id))
        #expect(quietSquare.densityPPM2 == nil)
        #expect(quietSquare.air.isEmpty)
        #expect(quietSquare.p50Density15m != nil)
    }
}
