import Hummingbird
import StreetSenseCore
import StreetSensePipeline

/// `GET /`: a plain server-rendered status page (zones with density, level and coverage, refreshed every
/// 5 s), so an operator running `make run` sees something useful before the full dashboard is in place.
struct StatusPage: Sendable {
    let snapshots: SnapshotBox

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ -> Response in
            let snapshot = snapshots.snapshot()
            var rows = ""
            for zone in snapshot.zones {
                let density = zone.densityPPM2.map { format($0, 2) } ?? "–"
                let people = zone.people.map { format($0, 0) } ?? "–"
                rows += "<tr class=\"\(zone.level.rawValue)\"><td>\(escape(zone.definition.name))</td><td>\(density)</td>"
                rows += "<td>\(people)</td><td>\(zone.level.rawValue)</td>"
                rows += "<td>\(zone.coverage.sensorsUsed) used, \(zone.coverage.sensorsStale) stale</td></tr>\n"
            }
            let totals = snapshot.totals
            let html = """
                <!doctype html>
                <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
                <title>StreetSense</title>
                <style>
                body { font: 16px system-ui, sans-serif; margin: 2rem; color: #111; background: #fafafa; }
                table { border-collapse: collapse; } td, th { padding: .4rem .9rem; border-bottom: 1px solid #ccc; text-align: left; }
                tr.elevated td { background: #fff3bf; } tr.high td { background: #ffd8a8; } tr.critical td { background: #ffc9c9; font-weight: 600; }
                </style></head><body>
                <h1>StreetSense</h1>
                <p>As of \(snapshot.asOf.rfc3339) · messages \(totals.messages) · accepted \(totals.accepted) · rejected \(totals.rejected)</p>
                <table><thead><tr><th>Zone</th><th>Density (p/m²)</th><th>People</th><th>Level</th><th>Coverage</th></tr></thead>
                <tbody>
                \(rows)</tbody></table>
                <p>JSON: <a href="/api/v1/zones">/api/v1/zones</a> · <a href="/api/v1/sensors">/api/v1/sensors</a> ·
                <a href="/api/v1/rejects">/api/v1/rejects</a> · <a href="/api/v1/openapi.yaml">OpenAPI</a></p>
                </body></html>
                """
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
        }
    }
}

private func format(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return decimals == 0 ? String(Int(rounded)) : String(rounded)
}

private func escape(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(character)
        }
    }
    return out
}
