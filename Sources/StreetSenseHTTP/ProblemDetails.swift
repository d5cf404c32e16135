import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging

/// An API error rendered as RFC 9457 `application/problem+json`:
/// `{"type", "title", "status", "detail", "instance"}`, plus `parameter` when a query parameter was at fault.
///
/// `type` is one of the relative URI references documented in `openapi.yaml` (`/api/v1/problems/…`);
/// `instance` is the request path. A 405 also carries an `Allow` header.
public struct ProblemDetails: HTTPResponseError, Sendable, CustomStringConvertible {
    /// The kinds of problem the API reports.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case invalidParameter = "invalid-parameter"
        /// The request body is not what the endpoint takes.
        case invalidBody = "invalid-body"
        /// No bearer token, or one the API does not know (401, with `WWW-Authenticate: Bearer`).
        case unauthorized = "unauthorized"
        /// The token's role does not allow this, or no tokens file is configured (403).
        case forbidden = "forbidden"
        case notFound = "not-found"
        /// The resource's state does not allow this (acknowledging a cleared alert).
        case conflict = "conflict"
        /// Too many clients, for now (503, with `Retry-After`).
        case unavailable = "unavailable"
        case methodNotAllowed = "method-not-allowed"
        /// The client sent too many requests; try again after `Retry-After` seconds (429).
        case tooManyRequests = "too-many-requests"
        /// The request body is larger than the server takes (413).
        case bodyTooLarge = "body-too-large"
        /// The request target (path and query) is longer than the server takes (414).
        case uriTooLong = "uri-too-long"
        case internalError = "internal-error"

        /// The problem type URI reference (`/api/v1/problems/invalid-parameter`).
        public var type: String { "/api/v1/problems/" + rawValue }

        public var status: HTTPResponse.Status {
            switch self {
            case .invalidParameter, .invalidBody: .badRequest
            case .unauthorized: .unauthorized
            case .forbidden: .forbidden
            case .notFound: .notFound
            case .conflict: .conflict
            case .unavailable: .serviceUnavailable
            case .methodNotAllowed: .methodNotAllowed
            case .tooManyRequests: .tooManyRequests
            case .bodyTooLarge: .contentTooLarge
            case .uriTooLong: .uriTooLong
            case .internalError: .internalServerError
            }
        }

        public var title: String {
            switch self {
            case .invalidParameter: "Invalid query parameter"
            case .invalidBody: "Invalid request body"
            case .unauthorized: "Authentication required"
            case .forbidden: "Forbidden"
            case .notFound: "Not found"
            case .conflict: "Conflict"
            case .unavailable: "Service unavailable"
            case .methodNotAllowed: "Method not allowed"
            case .tooManyRequests: "Too many requests"
            case .bodyTooLarge: "Request body too large"
            case .uriTooLong: "Request target too long"
            case .internalError: "Internal error"
            }
        }
    }

    public var kind: Kind
    /// What was wrong, for a person: which parameter and why, which zone was not found.
    public var detail: String
    /// The query parameter at fault, for ``Kind/invalidParameter``.
    public var parameter: String?
    /// The methods the resource supports, for ``Kind/methodNotAllowed``.
    public var allowedMethods: [HTTPRequest.Method]
    /// Seconds after which to try again, for ``Kind/unavailable`` and ``Kind/tooManyRequests`` (`Retry-After`).
    public var retryAfterSeconds: Int?

    public var status: HTTPResponse.Status { kind.status }

    public init(
        _ kind: Kind, detail: String, parameter: String? = nil, allowedMethods: [HTTPRequest.Method] = [], retryAfterSeconds: Int? = nil
    ) {
        self.kind = kind
        self.detail = detail
        self.parameter = parameter
        self.allowedMethods = allowedMethods
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// A bad query parameter: names it and says why.
    public static func invalidParameter(_ name: String, _ reason: String) -> ProblemDetails {
        ProblemDetails(.invalidParameter, detail: "query parameter '\(name)' \(reason)", parameter: name)
    }

    /// A `cursor` query parameter that no listing of this API wrote (every listing pages the same way).
    static var foreignCursor: ProblemDetails {
        invalidParameter("cursor", "is not a cursor this API returned (pass next_cursor unchanged)")
    }

    public static func notFound(_ detail: String) -> ProblemDetails { ProblemDetails(.notFound, detail: detail) }

    public var description: String { "\(status.code) \(kind.rawValue): \(detail)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Self.response(
            kind: kind, detail: detail, parameter: parameter, allowedMethods: allowedMethods, retryAfterSeconds: retryAfterSeconds,
            path: request.uri.path)
    }

    static func response(
        kind: Kind, detail: String, parameter: String?, allowedMethods: [HTTPRequest.Method], retryAfterSeconds: Int? = nil, path: String
    ) -> Response {
        var json = JSONWriter(capacity: 256)
        json.object { json in
            json.member("type", kind.type)
            json.member("title", kind.title)
            json.member("status", kind.status.code)
            json.member("detail", detail)
            json.member("instance", path)
            if let parameter { json.member("parameter", parameter) }
        }
        var headers: HTTPFields = [.contentType: "application/problem+json", .contentLength: String(json.bytes.count)]
        if !allowedMethods.isEmpty {
            headers[.allow] = allowedMethods.map(\.rawValue).joined(separator: ", ")
        }
        if kind == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"streetsense\"" }
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(status: kind.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: json.bytes)))
    }
}

/// Turns every error under `/api/v1` that is not already a ``ProblemDetails`` into one: the router's own
/// "no route" 404, Hummingbird's `HTTPError`s, and anything else (as a 500, logged).
///
/// Add it to the router itself (not a group), so that it also wraps the router's not-found responder.
public struct ProblemDetailsMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Paths with this prefix get problem responses; others pass through untouched.
    public let pathPrefix: String

    public init(pathPrefix: String = "/api/") {
        self.pathPrefix = pathPrefix
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as ProblemDetails {
            throw problem
        } catch {
            guard request.uri.path.hasPrefix(pathPrefix) else { throw error }
            if let httpError = error as? any HTTPResponseError {
                switch httpError.status {
                case .notFound:
                    throw ProblemDetails.notFound("no resource at \(request.uri.path)")
                case .methodNotAllowed:
                    throw ProblemDetails(.methodNotAllowed, detail: "\(request.method.rawValue) is not allowed on \(request.uri.path)")
                case .badRequest:
                    throw ProblemDetails(.invalidParameter, detail: "the request is malformed")
                default:
                    break
                }
            }
            context.logger.error("API request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            throw ProblemDetails(.internalError, detail: "the server failed to answer this request")
        }
    }
}
