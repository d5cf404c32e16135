import Hummingbird
import StreetSenseCore
import StreetSenseHTTP
import Testing

@Suite struct ServiceEndpointTests {
    @Test func healthIsAlwaysOk() async throws {
        try await withAPI(.testbed(readiness: [ReadinessCheck(name: "broker", ok: false, detail: "connection refused")])) { api in
            let health = try await api.json("/healthz")
            #expect(health == .object(["status": .string("ok")]))
        }
    }

    @Test func readinessNeedsEveryCheck() async throws {
        let store = ReadinessCheck(name: "store", ok: true, detail: "last commit 40 ms ago")
        try await withAPI(.testbed(readiness: [store])) { api in
            let ready = try await api.json("/readyz")
            #expect(ready["status"]?.string == "ready")
            #expect(ready["checks"] == .array([.object(["name": .string("store"), "ok": .bool(true), "detail": .string("last commit 40 ms ago")])]))
        }
        let broker = ReadinessCheck(name: "broker", ok: false, detail: "connection refused")
        try await withAPI(.testbed(readiness: [store, broker])) { api in
            let notReady = try await api.json("/readyz", status: 503)
            #expect(notReady["status"]?.string == "not_ready")
            #expect(notReady["checks"]?.array?.count == 2)
            #expect(notReady["checks"]?[1]?["ok"] == .bool(false))
        }
    }

    @Test func theDocumentIsServedAsYAMLAndListsEveryRoute() async throws {
        try await withAPI(.testbed()) { api in
            let response = try await api.request("/api/v1/openapi.yaml")
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "application/yaml")
            let contract = try OpenAPIContract(yaml: response.text)
            #expect(contract.document["openapi"]?.string == "3.1.0")
            #expect(contract.document["info"]?["description"]?.string?.contains("pilot AND sensor id") == true)
            let documented = Set(contract.document["paths"]?.object?.keys.map { $0 } ?? [])
            let routed = Set((APIRoutes.paths + APIRoutes.alertPaths).map { path in
                path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            }.map { "/" + $0 })
            #expect(documented == routed)
            // The served document is the bundled one.
            #expect(try APIRoutes.openAPIDocumentText() == response.text)
        }
    }

    @Test func headAnswersLikeGetWithoutABody() async throws {
        try await withAPI(.testbed()) { api in
            let get = try await api.request("/api/v1/zones/kamppi-square")
            let head = try await api.request("/api/v1/zones/kamppi-square", method: .head)
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.headers["content-type"] == "application/json")
            #expect(head.headers["content-length"] == String(get.body.count))
            let missing = try await api.request("/api/v1/zones/nowhere", method: .head)
            #expect(missing.status == 404)
            #expect(missing.body.isEmpty)
            #expect(missing.headers["content-type"] == "application/problem+json")
        }
    }

    @Test func otherMethodsAndUnknownPathsAreProblems() async throws {
        try await withAPI(.testbed()) { api in
            for method in [HTTPRequest.Method.post, .put, .patch, .delete] {
                let response = try await api.request("/api/v1/zones/kamppi-square", method: method)
                #expect(response.status == 405)
                #expect(response.headers["allow"] == "GET, HEAD")
                #expect(response.json["type"]?.string == "/api/v1/problems/method-not-allowed")
            }
            let post = try await api.request("/readyz", method: .post)
            #expect(post.status == 405)
            let unknown = try await api.json("/api/v1/nothing/here", status: 404)
            #expect(unknown["type"]?.string == "/api/v1/problems/not-found")
            #expect(unknown["instance"]?.string == "/api/v1/nothing/here")
            let typo = try await api.json("/api/v1/zones?as_of=now", status: 400)
            #expect(typo["parameter"]?.string == "as_of")
            #expect(typo["detail"]?.string == "query parameter 'as_of' is not known here (accepted: cursor, limit)")
            let none = try await api.json("/api/v1/zones/kamppi-square?as_of=now", status: 400)
            #expect(none["parameter"]?.string == "as_of")
            #expect(none["detail"]?.string == "query parameter 'as_of' is not known here (this endpoint takes no query parameters)")
        }
    }
}
