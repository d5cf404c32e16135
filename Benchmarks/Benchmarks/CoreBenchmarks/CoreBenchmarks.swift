// ordo-one/benchmark suite for the in-process hot path, with allocation counts. Each iteration is one
// scaled unit of work (10^6 readings into the core, 10^3 messages through the pipeline), so the scaled
// figures read per reading / per message. The committed thresholds (Thresholds/) hold the core at zero
// allocations per reading once warm. The comparison table with ratios is `streetsense-corebench`.
//
//   swift package benchmark --target CoreBenchmarks
//   swift package benchmark thresholds check --target CoreBenchmarks
//
// STREETSENSE_BENCH_SMOKE=1 shrinks every input (a quick check that the suite still runs).

import Benchmark
import CoreWorkloads
import Foundation
import StreetSenseCore
import StreetSensePipeline

let smoke = ProcessInfo.processInfo.environment["STREETSENSE_BENCH_SMOKE"] != nil

/// State that lives across a benchmark's iterations (the core keeps moving forward in event time).
/// @unchecked: ordo-one runs one benchmark at a time, its iterations on one thread.
final class CoreState: @unchecked Sendable {
    let trace: CoreTrace
    var run: CoreRun
    var naive = NaiveRun()

    init(seriesCount: Int) {
        // Exactly 10^6 readings a pass (the .mega scaling factor), fewer in a smoke run.
        trace = CoreTrace(seriesCount: seriesCount, rounds: smoke ? 2 : 1_000_000 / seriesCount)
        run = CoreRun(seriesCount: seriesCount)
    }
}

/// A pipeline fed 1000 messages per iteration from a long `city-scale` trace.
final class PipelineState: @unchecked Sendable {
    let batches: [MessageBatch]
    let payloads: [Data]
    let pipeline: Pipeline
    var next = 0

    init(city: CityTrace, senML: Bool) throws {
        batches = city.batches(senML: senML, size: 1_000)
        payloads = (senML ? city.senML : city.native).prefix(1_000).map { Data($0) }
        pipeline = try city.pipeline()
    }

    /// Iterations available (one batch each), keeping the last partial batch out.
    var iterations: Int { batches.count - 1 }

    func processNext() {
        guard next < batches.count else { return }
        pipeline.process(batches[next])
        next += 1
    }
}

/// No operating-system metrics (peak resident memory, CPU time): sampling them runs a thread whose own
/// allocations `mallocCountTotal` would count (it counts the whole process); bytes per series are in the table.
let coreMetrics: [BenchmarkMetric] = [.throughput, .wallClock, .mallocCountTotal]

let benchmarks: @Sendable () -> Void = {
    for seriesCount in smoke ? [1_000] : [10_000, 100_000] {
        let state = CoreState(seriesCount: seriesCount)
        Benchmark(
            "Core-\(seriesCount)-series",
            configuration: .init(
                metrics: coreMetrics, warmupIterations: smoke ? 1 : 3, scalingFactor: .mega,
                maxDuration: .seconds(smoke ? 1 : 10), maxIterations: smoke ? 1 : 30)
        ) { benchmark in
            benchmark.startMeasurement()
            blackHole(state.run.recordPass(state.trace))
            benchmark.stopMeasurement()
        }
        if seriesCount <= 10_000 {
            Benchmark(
                "Reference-naive-windows-\(seriesCount)-series",
                configuration: .init(
                    metrics: coreMetrics, warmupIterations: 1, scalingFactor: .mega,
                    maxDuration: .seconds(smoke ? 1 : 10), maxIterations: smoke ? 1 : 10)
            ) { benchmark in
                benchmark.startMeasurement()
                blackHole(state.naive.recordPass(state.trace))
                benchmark.stopMeasurement()
            }
        }
    }

    let city: CityTrace
    do {
        city = try CityTrace(sensors: smoke ? 100 : 10_000, duration: .seconds(smoke ? 300 : 1_800))
    } catch {
        fatalError("cannot generate the city-scale trace: \(error)")
    }
    for senML in [false, true] {
        let shape = senML ? "SenML" : "native-JSON"
        let state: PipelineState
        do {
            state = try PipelineState(city: city, senML: senML)
        } catch {
            fatalError("cannot generate the city-scale trace: \(error)")
        }
        Benchmark(
            "Pipeline-\(shape)",
            configuration: .init(
                metrics: coreMetrics, warmupIterations: smoke ? 0 : 10, scalingFactor: .kilo,
                maxDuration: .seconds(smoke ? 1 : 10), maxIterations: smoke ? 1 : max(1, state.iterations - 10))
        ) { benchmark in
            benchmark.startMeasurement()
            state.processNext()
            benchmark.stopMeasurement()
        }
        Benchmark(
            "Reference-JSONDecoder-\(shape)",
            configuration: .init(
                metrics: coreMetrics, warmupIterations: smoke ? 0 : 1, scalingFactor: .kilo,
                maxDuration: .seconds(smoke ? 1 : 10), maxIterations: smoke ? 1 : 20)
        ) { benchmark in
            benchmark.startMeasurement()
            blackHole(try? foundationDecodeAll(state.payloads, senML: senML))
            benchmark.stopMeasurement()
        }
    }
}
