import Foundation

/// An ellipsoid of revolution that zone areas are measured on; ``wgs84`` is the one GeoJSON coordinates refer to.
///
/// Areas are computed with the authalic (equal-area) latitude: the ellipsoid maps onto a sphere of the same surface
/// area, a map that preserves every region's area exactly, and the polygon's area on that sphere is the sum of the
/// exact spherical trapezoids between each edge and the equator. Edges are taken as great circles of the authalic
/// sphere, which differs from the ellipsoid's geodesics by a fraction of the flattening of the edge's own bulge:
/// for zone-sized polygons the result matches an exact geodesic polygon area (GeographicLib's Planimeter) to far
/// better than 0.01 %. Unlike a local tangent plane it stays right for large polygons. Rings that enclose a pole
/// are not supported.
public struct Ellipsoid: Sendable, Hashable {
    /// The semi-major axis in metres.
    public let equatorialRadius: Double
    /// The flattening (a − b) / a.
    public let flattening: Double

    /// WGS 84: a = 6 378 137 m, 1/f = 298.257223563.
    public static let wgs84 = Ellipsoid(equatorialRadius: 6_378_137, flattening: 1 / 298.257_223_563)

    public init(equatorialRadius: Double, flattening: Double) {
        self.equatorialRadius = equatorialRadius
        self.flattening = flattening
    }

    /// The first eccentricity e, with e² = f (2 − f).
    public var eccentricity: Double { (flattening * (2 - flattening)).squareRoot() }

    /// The total surface area in m².
    public var surfaceArea: Double { 4 * Double.pi * authalicRadiusSquared }

    /// The squared radius of the sphere with the ellipsoid's surface area.
    var authalicRadiusSquared: Double {
        equatorialRadius * equatorialRadius * q(sinLatitude: 1) / 2
    }

    /// Snyder's q(φ) (Map Projections, eq. 3-12), written for sin φ; q(90°) is 2 R_q² / a².
    func q(sinLatitude s: Double) -> Double {
        let e2 = flattening * (2 - flattening)
        let e = e2.squareRoot()
        guard e > 0 else { return 2 * s }
        return (1 - e2) * (s / (1 - e2 * s * s) + atanh(e * s) / e)
    }

    /// The authalic latitude β (radians) of geodetic latitude `latitude` (degrees).
    func authalicLatitude(degrees latitude: Double) -> Double {
        let s = sin(latitude * .pi / 180)
        let ratio = q(sinLatitude: s) / q(sinLatitude: 1)
        return asin(min(1, max(-1, ratio)))
    }

    /// The area in m² enclosed by one ring of (longitude, latitude) positions in degrees, closed or not.
    ///
    /// The orientation does not matter. Fewer than 3 distinct positions enclose nothing (0).
    public func area(ofRing ring: [[Double]]) -> Double {
        guard ring.count >= 3 else { return 0 }
        var excess = 0.0
        var previous = ring[ring.count - 1]
        var previousTan = tan(authalicLatitude(degrees: previous[1]) / 2)
        for position in ring {
            let halfTan = tan(authalicLatitude(degrees: position[1]) / 2)
            var deltaLongitude = (position[0] - previous[0]).truncatingRemainder(dividingBy: 360)
            if deltaLongitude > 180 { deltaLongitude -= 360 } else if deltaLongitude <= -180 { deltaLongitude += 360 }
            let halfDelta = deltaLongitude * .pi / 360
            // The signed spherical excess of the trapezoid between the edge and the equator.
            excess += 2 * atan2(tan(halfDelta) * (previousTan + halfTan), 1 + previousTan * halfTan)
            previous = position
            previousTan = halfTan
        }
        var area = abs(excess) * authalicRadiusSquared
        // A sum over the other side of the ring (it can happen only for rings larger than a hemisphere).
        if area > surfaceArea / 2 { area = surfaceArea - area }
        return area
    }

    /// The area in m² of a polygon: its outer ring less its holes, never below 0.
    public func area(ofPolygon rings: [[[Double]]]) -> Double {
        guard let outer = rings.first else { return 0 }
        let holes = rings.dropFirst().reduce(0) { $0 + area(ofRing: $1) }
        return max(0, area(ofRing: outer) - holes)
    }
}
