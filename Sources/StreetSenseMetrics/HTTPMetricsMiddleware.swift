import Hummingbird

/// Records every HTTP request's duration (until its response is ready to be written), route pattern, method and
/// status into ``ServiceMetrics``.
///
/// The route is Hummingbird's matched endpoint (`/api/v1/zones/{id}`), or `unmatched` for a path no route
/// knows, so a client probing random paths cannot grow the label set. Long-lived responses (the alerts' event
/// stream) are left out: their duration is the client's choice, not a latency; `alert_stream_clients` counts them.
public struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics
    let streamingRoutes: Set<String>

    /// - Parameters:
    ///   - metrics: where durations are recorded.
    ///   - streamingRoutes: route patterns whose responses stay open (not recorded).
    public init(metrics: ServiceMetrics, streamingRoutes: Set<String> = ["/api/v1/alerts/stream"]) {
        self.metrics = metrics
        self.streamingRoutes = streamingRoutes
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let method = request.method.rawValue
        do {
            let response = try await next(request, context)
            let route = context.endpointPath ?? "unmatched"
            guard !streamingRoutes.contains(route) else { return response }
            metrics.recordRequest(route: route, method: method, status: response.status.code, duration: ContinuousClock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.recordRequest(route: context.endpointPath ?? "unmatched", method: method, status: status, duration: ContinuousClock.now - start)
            throw error
        }
    }
}
