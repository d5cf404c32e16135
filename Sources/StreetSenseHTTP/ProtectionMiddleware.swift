import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Applies ``HTTPProtection`` to every request on the router, before routing:
///
/// 1. a request target longer than the limit gets 414, a `Content-Length` above the body limit 413;
/// 2. each client takes one token from its bucket (``RateLimitTable``), keyed by the name of a valid bearer
///    token when the request carries one (so people behind one NAT each have their own), else by the peer's IP
///    address; an empty bucket gets 429 with `Retry-After`. `/healthz`, `/readyz` and `/metrics` are exempt;
///    opening the alert stream takes one token like any request (the stream itself is limited by its own
///    client cap, 503);
/// 3. a CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an allowed origin gets
///    204 with the allowed methods and headers; every response to an allowed origin, errors included, carries
///    `Access-Control-Allow-Origin`. Other origins get no CORS headers, so browsers keep their pages out.
///
/// Problems are ``ProblemDetails`` documents on every path.
public struct ProtectionMiddleware<Context: RequestContext>: RouterMiddleware {
    let protection: HTTPProtection
    let table: RateLimitTable?
    let tokens: AccessTokens?
    private let allowedOrigins: Set<String>
    private let epoch = ContinuousClock.now

    public init(protection: HTTPProtection, tokens: AccessTokens?) {
        self.protection = protection
        self.tokens = tokens
        self.table = protection.rateLimit.map { RateLimitTable(limit: $0, capacity: protection.maximumTrackedClients) }
        self.allowedOrigins = Set(protection.corsAllowedOrigins)
    }

    /// The problems logged (at debug) as refusals.
    static var refusals: Set<ProblemDetails.Kind> { [.unauthorized, .forbidden, .tooManyRequests] }
    static var allowedMethods: String { "GET, HEAD, POST" }
    static var allowedHeaders: String { "Authorization, Content-Type, Last-Event-ID" }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin].flatMap { allowedOrigins.contains($0) ? $0 : nil }
        var response: Response
        do {
            try checkSize(request)
            try checkRate(request, context: context)
            if let origin, request.method == .options, request.headers[.accessControlRequestMethod] != nil {
                response = Response(status: .noContent)
                response.headers[.accessControlAllowMethods] = Self.allowedMethods
                response.headers[.accessControlAllowHeaders] = Self.allowedHeaders
                response.headers[.accessControlMaxAge] = "600"
                response.headers[.accessControlAllowOrigin] = origin
                response.headers[.vary] = "Origin"
                return response
            }
            response = try await next(request, context)
        } catch let problem as ProblemDetails where Self.refusals.contains(problem.kind) {
            // At debug level (never a flood at the default level): the path without its query, the client's
            // key (a token's name, never the token), and why.
            context.logger.debug(
                "request refused",
                metadata: [
                    "status": "\(problem.status.code)", "path": "\(request.uri.path.prefix(200))", "client": "\(clientKey(request, context: context))",
                ])
            guard !allowedOrigins.isEmpty else { throw problem }
            response = try problem.response(from: request, context: context)
        } catch let error as any HTTPResponseError where !allowedOrigins.isEmpty {
            response = try error.response(from: request, context: context)
        }
        if !allowedOrigins.isEmpty { response.headers[values: .vary].append("Origin") }
        if let origin {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlExposeHeaders] = "Retry-After, WWW-Authenticate, Allow"
        }
        return response
    }

    private func checkSize(_ request: Request) throws(ProblemDetails) {
        let target = request.head.path ?? ""
        if target.utf8.count > protection.maximumURIBytes {
            throw ProblemDetails(.uriTooLong, detail: "the request target is \(target.utf8.count) bytes, more than \(protection.maximumURIBytes)")
        }
        if let text = request.headers[.contentLength] {
            guard let length = Int(text), length >= 0 else { throw ProblemDetails(.invalidBody, detail: "the Content-Length header is not a number") }
            if length > protection.maximumBodyBytes {
                throw ProblemDetails(.bodyTooLarge, detail: "the body is \(length) bytes, more than \(protection.maximumBodyBytes)")
            }
        }
    }

    private func checkRate(_ request: Request, context: Context) throws(ProblemDetails) {
        guard let table, !HTTPProtection.rateLimitExemptPaths.contains(request.uri.path) else { return }
        let elapsed = ContinuousClock.now - epoch
        let now = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let client = clientKey(request, context: context)
        if let wait = table.take(client: client, now: now) {
            throw ProblemDetails(
                .tooManyRequests,
                detail: "more than \(table.limit.burst) requests at once or \(Self.format(table.limit.requestsPerSecond)) per second from this client; retry after \(wait) s",
                retryAfterSeconds: wait)
        }
    }

    /// `token:<name>` for a valid bearer token, else `ip:<address>` of the peer.
    private func clientKey(_ request: Request, context: Context) -> String {
        if let tokens, request.headers[.authorization] != nil, let grant = try? APIRoutes.authenticate(request, with: tokens) {
            return "token:" + grant.name
        }
        let address = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress ?? "unknown"
        return "ip:" + address
    }

    private static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
