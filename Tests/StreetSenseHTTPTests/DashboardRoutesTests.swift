import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import StreetSenseHTTP
import Testing

/// The dashboard's static files over a real server: content types, caching, and nothing outside the folders.
@Suite struct DashboardRoutesTests {
    /// A temporary tree: `web/` (the dashboard, with a hidden file and a sub-folder), `js/leaflet`, `js/chart.js`
    /// and `js/other`, and a secret next to them that must never be served.
    struct Tree {
        let root: String
        var web: String { root + "/web" }
        var javascript: String { root + "/js" }

        init() throws {
            root = NSTemporaryDirectory() + "streetsense-dashboard-" + UUID().uuidString.prefix(8)
            let files = [
                "web/index.html": "<!doctype html><title>StreetSense</title>",
                "web/app.js": "export const ok = 1;\n",
                "web/style.css": "body { color: #111; }\n",
                "web/.hidden": "hidden\n",
                "web/sub/nested.js": "export const nested = 2;\n",
                "js/leaflet/leaflet.js": "window.L = {};\n",
                "js/leaflet/images/marker-icon.png": "png",
                "js/chart.js/chart.min.js": "window.Chart = {};\n",
                "js/other/other.js": "other\n",
                "secret.txt": "secret\n",
            ]
            for (path, text) in files {
                let full = root + "/" + path
                try FileManager.default.createDirectory(
                    atPath: String(full[..<full.lastIndex(of: "/")!]), withIntermediateDirectories: true)
                try text.write(toFile: full, atomically: true, encoding: .utf8)
            }
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    func withDashboard(_ routes: DashboardRoutes, _ test: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var logger = Logger(label: "DashboardRoutesTests")
        logger.logLevel = .critical
        let router = Router()
        routes.add(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in try await test(client) }
    }

    @Test func servesTheIndexAndFilesWithTheirTypesAndCaching() async throws {
        let tree = try Tree()
        defer { tree.remove() }
        try await withDashboard(DashboardRoutes(dashboardDirectory: tree.web, javascriptDirectory: tree.javascript)) { client in
            let index = try await client.execute(uri: "/", method: .get)
            #expect(index.status == .ok)
            #expect(index.headers[.contentType] == "text/html; charset=utf-8")
            #expect(index.headers[.cacheControl] == "no-cache")
            #expect(String(buffer: index.body) == "<!doctype html><title>StreetSense</title>")
            let etag = try #require(index.headers[.eTag])
            // A revalidation with the current tag is answered 304 without a body.
            let again = try await client.execute(uri: "/", method: .get, headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified)
            #expect(again.body.readableBytes == 0)
            let stale = try await client.execute(uri: "/", method: .get, headers: [.ifNoneMatch: "\"0-0\""])
            #expect(stale.status == .ok)

            for (path, type) in [
                ("/dashboard/app.js", "text/javascript; charset=utf-8"), ("/dashboard/style.css", "text/css; charset=utf-8"),
                ("/dashboard/sub/nested.js", "text/javascript; charset=utf-8"), ("/dashboard/index.html", "text/html; charset=utf-8"),
            ] {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType] == type, "\(path)")
                #expect(response.headers.first { $0.name.canonicalName == "x-content-type-options" }?.value == "nosniff", "\(path)")
            }
            let leaflet = try await client.execute(uri: "/vendor/leaflet/leaflet.js", method: .get)
            #expect(leaflet.status == .ok)
            #expect(String(buffer: leaflet.body) == "window.L = {};\n")
            #expect(leaflet.headers[.cacheControl] == "public, max-age=86400")
            let icon = try await client.execute(uri: "/vendor/leaflet/images/marker-icon.png", method: .get)
            #expect(icon.headers[.contentType] == "image/png")
            let chart = try await client.execute(uri: "/vendor/chart.js/chart.min.js", method: .get)
            #expect(chart.status == .ok)
            #expect(String(buffer: chart.body) == "window.Chart = {};\n")
        }
    }

    @Test func nothingOutsideTheFoldersIsServed() async throws {
        let tree = try Tree()
        defer { tree.remove() }
        try await withDashboard(DashboardRoutes(dashboardDirectory: tree.web, javascriptDirectory: tree.javascript)) { client in
            for path in [
                "/dashboard/../secret.txt", "/dashboard/%2e%2e/secret.txt", "/dashboard/%2E%2E/secret.txt", "/dashboard/..%2fsecret.txt",
                "/dashboard/..%2Fsecret.txt", "/dashboard/sub/../../secret.txt", "/dashboard/.hidden", "/dashboard/%2ehidden",
                "/dashboard/sub", "/dashboard/", "/dashboard/missing.js", "/dashboard//app.js", "/dashboard/app.js%00.png",
                "/dashboard/sub%2fnested.js", "/dashboard/%2fetc/passwd",
                "/vendor/leaflet/../../secret.txt", "/vendor/leaflet/%2e%2e/%2e%2e/secret.txt", "/vendor/leaflet/..%2f..%2fsecret.txt",
                "/vendor/leaflet/%2e%2e/other/other.js", "/vendor/chart.js/../leaflet/leaflet.js", "/vendor/other/other.js",
                "/vendor/leaflet/", "/vendor/leaflet/images",
            ] {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == .notFound, "\(path) answered \(response.status)")
                #expect(!String(buffer: response.body).contains("secret"), "\(path)")
                #expect(!String(buffer: response.body).contains("window.L"), "\(path)")
            }
        }
    }

    @Test func withoutTheFilesTheRootSaysWhatToConfigure() async throws {
        try await withDashboard(DashboardRoutes(dashboardDirectory: nil, javascriptDirectory: "/nonexistent")) { client in
            let root = try await client.execute(uri: "/", method: .get)
            #expect(root.status == .notFound)
            #expect(String(buffer: root.body).contains("http.dashboard_dir"))
            #expect(try await client.execute(uri: "/dashboard/app.js", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/vendor/leaflet/leaflet.js", method: .get).status == .notFound)
        }
    }

    @Test func theDefaultFolderIsFoundFromTheWorkingDirectoryOrBesideTheExecutable() throws {
        let tree = try Tree()
        defer { tree.remove() }
        // An installed layout: PREFIX/bin/streetsense and PREFIX/share/streetsense/web/index.html.
        let prefix = tree.root + "/prefix"
        try FileManager.default.createDirectory(atPath: prefix + "/share/streetsense/web", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true)
        try "<!doctype html>".write(toFile: prefix + "/share/streetsense/web/index.html", atomically: true, encoding: .utf8)
        // Not in the working directory: beside the executable.
        #expect(DashboardRoutes.defaultDashboardDirectory(workingDirectory: tree.root, executablePath: prefix + "/bin/streetsense")
            == prefix + "/bin/../share/streetsense/web")
        // `make run` from the repository: its dashboards/web comes first.
        try FileManager.default.createDirectory(atPath: tree.root + "/dashboards", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: tree.web, toPath: tree.root + "/dashboards/web")
        #expect(DashboardRoutes.defaultDashboardDirectory(workingDirectory: tree.root, executablePath: prefix + "/bin/streetsense")
            == tree.root + "/dashboards/web")
    }
}
