import MosquittoBroker
import Foundation

/// A throwaway certificate authority with a server certificate for 127.0.0.1 and localhost and a client
/// certificate, made with the `openssl` command (EC P-256 keys, valid for two days), for TLS tests.
public struct TestCertificates: Sendable {
    public static let opensslPath = "/usr/bin/openssl"

    public let directory: String
    public var caFile: String { directory + "/ca.crt" }
    public var serverCertificateFile: String { directory + "/server.crt" }
    public var serverKeyFile: String { directory + "/server.key" }
    public var clientCertificateFile: String { directory + "/client.crt" }
    public var clientKeyFile: String { directory + "/client.key" }

    /// Creates the files in `directory` (which must exist), under `name` (the authority's common name).
    public static func generate(in directory: String, name: String = "StreetSense Test CA") throws -> TestCertificates {
        guard FileManager.default.isExecutableFile(atPath: opensslPath) else {
            throw LocalBrokerError("openssl is not installed at \(opensslPath): run `make test`, which installs it (Debian package openssl)", log: "")
        }
        let certificates = TestCertificates(directory: directory)
        let log = directory + "/openssl.log"
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
            .write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(toFile: directory + "/client.ext", atomically: true, encoding: .utf8)
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let steps: [[String]] = [
            ["req", "-x509"] + key + ["-keyout", directory + "/ca.key", "-out", certificates.caFile, "-days", "2", "-subj", "/CN=\(name)"],
            ["req"] + key + ["-keyout", certificates.serverKeyFile, "-out", directory + "/server.csr", "-subj", "/CN=localhost"],
            [
                "x509", "-req", "-in", directory + "/server.csr", "-CA", certificates.caFile, "-CAkey", directory + "/ca.key",
                "-CAcreateserial", "-out", certificates.serverCertificateFile, "-days", "2", "-extfile", directory + "/server.ext",
            ],
            ["req"] + key + ["-keyout", certificates.clientKeyFile, "-out", directory + "/client.csr", "-subj", "/CN=test-client"],
            [
                "x509", "-req", "-in", directory + "/client.csr", "-CA", certificates.caFile, "-CAkey", directory + "/ca.key",
                "-CAcreateserial", "-out", certificates.clientCertificateFile, "-days", "2", "-extfile", directory + "/client.ext",
            ],
        ]
        for arguments in steps {
            let tool = try ChildProcess.spawn(executable: opensslPath, arguments: arguments, outputPath: log)
            tool.waitForExitBlocking()
            guard tool.exitDescription == "exit status 0" else {
                throw LocalBrokerError(
                    "openssl \(arguments.prefix(2).joined(separator: " ")) failed with \(tool.exitDescription)",
                    log: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
            }
        }
        return certificates
    }

    /// A new temporary directory for certificates; the caller removes it.
    public static func makeTemporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("streetsense-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
