import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import StreetSenseHTTP
import Testing

/// One response, already checked against the served OpenAPI document.
struct CheckedResponse {
    var status: Int
    /// Header names in lower case.
    var headers: [String: String]
    var body: [UInt8]

    /// The body as JSON (`null` if it is not JSON).
    var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A test client that checks every response, success and error alike, against the OpenAPI document the API
/// serves; a response the document does not describe fails the test.
struct APIClient {
    let client: any TestClientProtocol
    let contract: OpenAPIContract

    func request(
        _ uri: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:], body: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> CheckedResponse {
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        var headers: [String: String] = [:]
        for field in response.headers { headers[field.name.canonicalName] = field.value }
        let checked = CheckedResponse(status: response.status.code, headers: headers, body: Array(response.body.readableBytesView))
        let violations = contract.violations(method: method.rawValue, path: uri, status: checked.status, headers: headers, body: checked.body)
        #expect(
            violations.isEmpty,
            "\(method.rawValue) \(uri) → \(checked.status) breaks openapi.yaml:\n\(violations.joined(separator: "\n"))\n\(checked.text)",
            sourceLocation: sourceLocation
        )
        return checked
    }

    /// Requests `uri` and returns the JSON body, expecting `status`.
    func json(
        _ uri: String, status: Int = 200, method: HTTPRequest.Method = .get, headers: HTTPFields = [:], body: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> JSONValue {
        let response = try await request(uri, method: method, headers: headers, body: body, sourceLocation: sourceLocation)
        #expect(response.status == status, "\(uri): \(response.text)", sourceLocation: sourceLocation)
        return response.json
    }
}

/// Runs `test` against the API built by ``buildAPIRouter(_:alertStream:protection:)`` (without rate limits unless
/// `protection` sets them), in process or (`live`) over a real
/// server on a free loopback port, with a client checked against the OpenAPI document that the same API serves.
func withAPI(
    _ services: APIServices, alertStream: AlertStreamSettings = AlertStreamSettings(), live: Bool = false,
    protection: HTTPProtection = HTTPProtection(rateLimit: nil),
    _ test: @Sendable (APIClient) async throws -> Void
) async throws {
    // Handlers log failed store reads at error level; keep the test output to the test results.
    var logger = Logger(label: "StreetSenseHTTPTests")
    logger.logLevel = .critical
    let app = Application(
        router: buildAPIRouter(services, alertStream: alertStream, protection: protection), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
    try await app.test(live ? .live : .router) { client in
        let document = try await client.execute(uri: "/api/v1/openapi.yaml", method: .get)
        try #require(document.status == .ok)
        let contract = try OpenAPIContract(yaml: String(decoding: document.body.readableBytesView, as: UTF8.self))
        try await test(APIClient(client: client, contract: contract))
    }
}
