import Foundation
import HTTPTypes
import Hummingbird
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The operator dashboard: `GET /` answers the `index.html` of the dashboard folder (`dashboards/web` in the
/// repository), `/dashboard/…` its other files, and `/vendor/leaflet/…` and `/vendor/chart.js/…` the
/// JavaScript libraries as Debian installs them (`libjs-leaflet`, `libjs-chart.js` under
/// `/usr/share/javascript`).
///
/// Only regular files under those folders are served: every path segment must be a plain name
/// (`[A-Za-z0-9_.-]`, not starting with a dot) after percent-decoding, so `..`, hidden files and encoded
/// slashes answer 404. Dashboard files are revalidated on every load (`no-cache` with an `ETag`, so an edit shows
/// at once); the libraries are cached for a day. The files are public: they hold no data.
public struct DashboardRoutes: Sendable {
    /// The folder of `index.html`; nil when none was found (then `/` says how to configure it).
    public var dashboardDirectory: String?
    /// The folder holding `leaflet/` and `chart.js/` (Debian: `/usr/share/javascript`).
    public var javascriptDirectory: String

    /// The JavaScript libraries served under `/vendor/`, by folder name.
    public static let vendorLibraries = ["leaflet", "chart.js"]

    public init(dashboardDirectory: String?, javascriptDirectory: String = "/usr/share/javascript") {
        self.dashboardDirectory = dashboardDirectory
        self.javascriptDirectory = javascriptDirectory
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        let fileIO = FileIO()
        router.get("/") { request, context -> Response in
            guard let dashboardDirectory else {
                let text = "The dashboard files were not found. Set http.dashboard_dir to the folder of dashboards/web (the API is at /api/v1/).\n"
                return Response(
                    status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
            }
            return try await Self.serve(
                file: dashboardDirectory + "/index.html", request: request, context: context, cacheControl: Self.revalidate, fileIO: fileIO)
        }
        router.get("/dashboard/**") { request, context -> Response in
            guard let dashboardDirectory, let relative = Self.relativePath(request.uri.path, under: "/dashboard/") else {
                throw HTTPError(.notFound)
            }
            return try await Self.serve(
                file: dashboardDirectory + "/" + relative, request: request, context: context, cacheControl: Self.revalidate, fileIO: fileIO)
        }
        for library in Self.vendorLibraries {
            let prefix = "/vendor/\(library)/"
            router.get(RouterPath(prefix + "**")) { request, context -> Response in
                guard let relative = Self.relativePath(request.uri.path, under: prefix) else { throw HTTPError(.notFound) }
                return try await Self.serve(
                    file: "\(javascriptDirectory)/\(library)/\(relative)", request: request, context: context, cacheControl: Self.oneDay,
                    fileIO: fileIO)
            }
        }
    }

    static let revalidate = "no-cache"
    static let oneDay = "public, max-age=86400"

    /// The path below `prefix` with its segments percent-decoded and checked, joined by `/`; nil when any
    /// segment is empty, starts with a dot or holds anything but `[A-Za-z0-9_.-]`.
    static func relativePath(_ path: String, under prefix: String) -> String? {
        guard path.hasPrefix(prefix) else { return nil }
        let rest = path.dropFirst(prefix.count)
        var segments: [String] = []
        for raw in rest.split(separator: "/", omittingEmptySubsequences: false) {
            guard let segment = String(raw).removingPercentEncoding, isPlainName(segment) else { return nil }
            segments.append(segment)
        }
        return segments.isEmpty ? nil : segments.joined(separator: "/")
    }

    static func isPlainName(_ segment: String) -> Bool {
        guard let first = segment.utf8.first, first != UInt8(ascii: "."), segment.utf8.count <= 255 else { return false }
        return segment.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
    }

    /// The `Content-Type` for a file name's extension.
    static func contentType(of path: String) -> String {
        let name = path[(path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex)...]
        let ext = name.lastIndex(of: ".").map { name[name.index(after: $0)...].lowercased() } ?? ""
        switch ext {
        case "html": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json", "map": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/vnd.microsoft.icon"
        case "txt": return "text/plain; charset=utf-8"
        default: return "application/octet-stream"
        }
    }

    /// A regular file's response with `ETag` (size and modification time) and `Cache-Control`; 304 when the
    /// request's `If-None-Match` names the current tag; 404 for anything that is not a readable regular file.
    static func serve<Context: RequestContext>(
        file path: String, request: Request, context: Context, cacheControl: String, fileIO: FileIO
    ) async throws -> Response {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw HTTPError(.notFound) }
        #if canImport(Darwin)
        let modified = info.st_mtimespec.tv_sec
        #else
        let modified = info.st_mtim.tv_sec
        #endif
        let etag = "\"\(String(info.st_size, radix: 16))-\(String(modified, radix: 16))\""
        var headers: HTTPFields = [
            .contentType: contentType(of: path), .cacheControl: cacheControl, .eTag: etag,
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ]
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(info.st_size)
        let body = try await fileIO.loadFile(path: path, context: context)
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Where the dashboard files are when `http.dashboard_dir` is not set: `dashboards/web` in the working
    /// directory (`make run` from the repository), else `share/streetsense/web` next to the executable's
    /// `bin/` (an installed `/usr/local/bin/streetsense`), else `/usr/share/streetsense/web`; nil if none holds
    /// an `index.html`.
    public static func defaultDashboardDirectory(
        workingDirectory: String = FileManager.default.currentDirectoryPath, executablePath: String? = Bundle.main.executablePath
    ) -> String? {
        var candidates = [workingDirectory + "/dashboards/web"]
        if let executablePath, let slash = executablePath.lastIndex(of: "/") {
            candidates.append(String(executablePath[..<slash]) + "/../share/streetsense/web")
        }
        candidates.append("/usr/share/streetsense/web")
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/index.html") }
    }
}
