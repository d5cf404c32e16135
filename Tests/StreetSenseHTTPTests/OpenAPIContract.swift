import Foundation
import Yams

/// The served OpenAPI document as a contract: every response the API gives must be described by it.
///
/// A response is looked up by path template (`/api/v1/zones/{id}`), method and exact status code. A path
/// under `/api/` that the document does not list must match `x-unknown-path-response`; a method a listed path
/// does not document must match `x-method-not-allowed-response`, a 204 to `OPTIONS` `x-cors-preflight-response`. The response's content type must be one the
/// document lists, JSON bodies must satisfy its schema, required headers must be present, and a response the
/// document gives no content must have an empty body. HEAD is checked against the GET operation: the same
/// documented status and content type, and no body.
struct OpenAPIContract {
    let document: JSONValue
    let validator: SchemaValidator

    init(yaml: String) throws {
        document = try YAMLDecoder().decode(JSONValue.self, from: yaml)
        validator = SchemaValidator(root: document)
    }

    /// Why the response does not match the document; empty when it does.
    func violations(method: String, path: String, status: Int, headers: [String: String], body: [UInt8]) -> [String] {
        let path = String(path.prefix { $0 != "?" })
        let response: JSONValue
        switch lookUp(method: method, path: path, status: status) {
        case .success(let found): response = found
        case .failure(let problem): return [problem.message]
        }
        var violations: [String] = []
        for (name, header) in response["headers"]?.object ?? [:] where header["required"] == .bool(true) {
            if headers[name.lowercased()] == nil { violations.append("required header \(name) is missing") }
        }
        if method == "HEAD" {
            if !body.isEmpty { violations.append("a HEAD response has a body") }
            if let content = response["content"]?.object {
                let mediaType = (headers["content-type"] ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                if content[mediaType] == nil { violations.append("content type '\(mediaType)' is not documented") }
            }
            return violations
        }
        guard let content = response["content"]?.object else {
            if !body.isEmpty { violations.append("the document gives this response no content, but it has a body") }
            return violations
        }
        let mediaType = (headers["content-type"] ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard let media = content[mediaType] else {
            return violations + ["content type '\(mediaType)' is not documented (documented: \(content.keys.sorted()))"]
        }
        guard let schema = media["schema"] else { return violations }
        if mediaType == "application/json" || mediaType.hasSuffix("+json") {
            do {
                let value = try JSONValue.parse(body)
                violations += validator.errors(of: value, against: schema)
            } catch {
                violations.append("the body is not JSON: \(error)")
            }
        } else if let text = String(validating: body, as: UTF8.self) {
            violations += validator.errors(of: .string(text), against: schema)
        } else {
            violations.append("the body of \(mediaType) is not UTF-8")
        }
        return violations
    }

    struct LookUpFailure: Error { var message: String }

    /// The (resolved) response object the document gives for this request and status.
    func lookUp(method: String, path: String, status: Int) -> Result<JSONValue, LookUpFailure> {
        guard let paths = document["paths"]?.object else { return .failure(.init(message: "the document has no paths")) }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        let candidates = paths.keys.filter { template in
            let parts = template.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == segments.count
                && zip(parts, segments).allSatisfy { part, segment in
                    part.hasPrefix("{") && part.hasSuffix("}") ? !segment.isEmpty : part == segment
                }
        }
        // Prefer the template with the most constant segments.
        let template = candidates.max { a, b in a.filter { $0 == "{" }.count > b.filter { $0 == "{" }.count }
        var response: JSONValue?
        if method == "OPTIONS", status == 204 {
            // An allowed origin's CORS preflight, on any path.
            response = document["x-cors-preflight-response"]
        } else if let template, let item = paths[template] {
            // HEAD answers like GET, without a body (checked by the caller).
            if let operation = item[method == "HEAD" ? "get" : method.lowercased()] {
                guard let found = operation["responses"]?[String(status)] else {
                    return .failure(.init(message: "\(method) \(template) documents no \(status) response"))
                }
                response = found
            } else {
                response = document["x-method-not-allowed-response"]
                if status != 405 { return .failure(.init(message: "\(method) is not documented on \(template), yet it answered \(status)")) }
            }
        } else if path.hasPrefix("/api/") {
            response = document["x-unknown-path-response"]
            if status != 404 { return .failure(.init(message: "\(path) is not documented, yet it answered \(status)")) }
        } else {
            return .failure(.init(message: "\(path) is not documented"))
        }
        guard var resolved = response else { return .failure(.init(message: "the document has no response for \(method) \(path)")) }
        var hops = 0
        while let reference = resolved["$ref"]?.string {
            guard hops < 8, let target = validator.resolve(reference) else {
                return .failure(.init(message: "unresolvable response $ref \(reference)"))
            }
            resolved = target
            hops += 1
        }
        return .success(resolved)
    }
}
