extension AirQualityIndex {
    /// Every band table this build knows, newest first. Configuration names one by its ``version``.
    public static let known: [AirQualityIndex] = [.eea2024]

    /// The known table with this version name (`eea-2024`), or nil.
    public static func named(_ version: String) -> AirQualityIndex? {
        known.first { $0.version == version }
    }
}
