/// Planar checks on one polygon ring in (longitude, latitude) degrees: whether it is simple.
///
/// Longitudes are unwrapped around the first position, so a ring across the antimeridian is checked as drawn.
/// Consecutive repeated positions are ignored (they add no edge).
enum RingGeometry {
    /// Two edges of a ring that cross or overlap; indices are positions in the ring as given.
    struct Crossing: Equatable {
        var firstEdgeStart: Int
        var secondEdgeStart: Int
    }

    /// The first pair of non-adjacent edges that touch, or adjacent edges that fold back over each other; nil if the
    /// ring is simple. `ring` is closed (first == last).
    static func firstSelfIntersection(_ ring: [[Double]]) -> Crossing? {
        guard let first = ring.first else { return nil }
        // Distinct consecutive vertices, each with the index of the position it came from.
        var points: [(x: Double, y: Double, index: Int)] = []
        points.reserveCapacity(ring.count)
        for (index, position) in ring.enumerated() {
            var x = position[0] - first[0]
            if x > 180 { x -= 360 } else if x < -180 { x += 360 }
            let point = (x: x, y: position[1], index: index)
            if let last = points.last, last.x == point.x, last.y == point.y { continue }
            points.append(point)
        }
        // points is closed: the last equals the first. Edges are points[i] → points[i + 1].
        let edgeCount = points.count - 1
        guard edgeCount >= 3 else { return nil }
        for i in 0..<edgeCount {
            let a = (points[i].x, points[i].y)
            let b = (points[i + 1].x, points[i + 1].y)
            for j in (i + 1)..<edgeCount {
                let c = (points[j].x, points[j].y)
                let d = (points[j + 1].x, points[j + 1].y)
                let adjacent = j == i + 1 || (i == 0 && j == edgeCount - 1)
                let touches: Bool
                if adjacent {
                    // They share one vertex; they fail only if they fold back along the same line.
                    let shared = j == i + 1 ? b : a
                    let other1 = j == i + 1 ? a : b
                    let other2 = j == i + 1 ? d : c
                    touches = foldsBack(shared: shared, other1, other2)
                } else {
                    touches = segmentsTouch(a, b, c, d)
                }
                if touches { return Crossing(firstEdgeStart: points[i].index, secondEdgeStart: points[j].index) }
            }
        }
        return nil
    }

    typealias Point = (Double, Double)

    /// The cross product (b − a) × (c − a): positive if a, b, c turn left.
    static func orientation(_ a: Point, _ b: Point, _ c: Point) -> Double {
        (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
    }

    /// Whether `p`, known to be collinear with a–b, lies within their bounding box.
    static func onSegment(_ a: Point, _ b: Point, _ p: Point) -> Bool {
        min(a.0, b.0) <= p.0 && p.0 <= max(a.0, b.0) && min(a.1, b.1) <= p.1 && p.1 <= max(a.1, b.1)
    }

    /// Whether closed segments a–b and c–d share any point.
    static func segmentsTouch(_ a: Point, _ b: Point, _ c: Point, _ d: Point) -> Bool {
        let o1 = orientation(a, b, c)
        let o2 = orientation(a, b, d)
        let o3 = orientation(c, d, a)
        let o4 = orientation(c, d, b)
        if ((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0)) { return true }
        if o1 == 0 && onSegment(a, b, c) { return true }
        if o2 == 0 && onSegment(a, b, d) { return true }
        if o3 == 0 && onSegment(c, d, a) { return true }
        if o4 == 0 && onSegment(c, d, b) { return true }
        return false
    }

    /// Whether the two edges from `shared` to `p` and to `q` run along the same ray (a spike).
    static func foldsBack(shared: Point, _ p: Point, _ q: Point) -> Bool {
        guard orientation(shared, p, q) == 0 else { return false }
        let dot = (p.0 - shared.0) * (q.0 - shared.0) + (p.1 - shared.1) * (q.1 - shared.1)
        return dot > 0
    }
}
