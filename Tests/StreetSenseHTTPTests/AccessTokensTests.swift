import Foundation
import StreetSenseHTTP
import Testing

@Suite struct AccessTokensTests {
    /// The FIPS 180-4 examples (and the one-million-`a` message of its test vectors).
    @Test func digestsMatchTheStandardExamples() {
        #expect(AccessTokens.digest(of: "") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(AccessTokens.digest(of: "abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            AccessTokens.digest(of: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            AccessTokens.digest(of: String(repeating: "a", count: 1_000_000))
                == "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Messages around the padding boundaries (55, 56, 64 bytes …), against coreutils' `sha256sum`.
    @Test func digestsMatchSha256sumAtPaddingBoundaries() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("streetsense-sha-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let lengths = [1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200]
        var paths: [String] = []
        for length in lengths {
            let text = String((0..<length).map { Character(UnicodeScalar(UInt8(0x21 + $0 % 90))) }) + "é"
            let path = folder.appendingPathComponent("m\(length)").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = paths
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let expected = output.split(separator: "\n").map { "sha256:" + $0.prefix(64) }
        try #require(expected.count == lengths.count)
        for (index, path) in paths.enumerated() {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(AccessTokens.digest(of: text) == expected[index], "length \(lengths[index])")
        }
    }

    @Test func aFileGrantsTheRolesItNames() throws {
        let viewer = AccessTokens.generateToken()
        let operatorToken = AccessTokens.generateToken()
        #expect(viewer.count == 64)
        #expect(viewer != operatorToken)
        let text = """
            # name role digest
            \(AccessTokens.hashLine(name: "wall-screen", role: .viewer, token: viewer))
            \t\(AccessTokens.hashLine(name: "olli", role: .operator, token: operatorToken))   # trailing comment
            """
        let file = try TemporaryTokensFile(contents: text)
        defer { file.remove() }
        let tokens = try AccessTokens.load(path: file.path)
        #expect(tokens.grants == [AccessGrant(name: "wall-screen", role: .viewer), AccessGrant(name: "olli", role: .operator)])
        #expect(tokens.grant(forBearer: viewer) == AccessGrant(name: "wall-screen", role: .viewer))
        #expect(tokens.grant(forBearer: operatorToken) == AccessGrant(name: "olli", role: .operator))
        #expect(tokens.grant(forBearer: String(viewer.dropLast())) == nil)
        #expect(tokens.grant(forBearer: "") == nil)
        // Upper-case hex digits are accepted.
        let upper = try AccessTokens(parsing: "x admin " + AccessTokens.digest(of: "t").uppercased().replacingOccurrences(of: "SHA256", with: "sha256"), file: "t")
        #expect(upper.grant(forBearer: "t")?.role == .admin)
        #expect(AccessRole.viewer < .operator && AccessRole.operator < .admin)
    }

    @Test func badLinesAreReportedWithTheirNumbers() throws {
        let good = AccessTokens.hashLine(name: "olli", role: .operator, token: "secret-1")
        let other = AccessTokens.digest(of: "secret-2")
        let cases: [(String, String)] = [
            ("# tokens\n\nolli operator\n", "tokens:3: expected '<name> <role> sha256:<64 hex digits> [pilots=<pilot>,…]', found 2 fields"),
            ("\(good)\nada superuser \(other)\n", "tokens:2: unknown role 'superuser' (roles: viewer, operator, admin)"),
            ("ada viewer secret-2\n", "tokens:1: the third field must be 'sha256:' and 64 hex digits (the token's digest, never the token itself)"),
            ("ada viewer sha256:\(String(repeating: "g", count: 64))\n", "tokens:1: the third field must be 'sha256:' and 64 hex digits (the token's digest, never the token itself)"),
            ("ada viewer \(other.dropLast())\n", "tokens:1: the third field must be 'sha256:' and 64 hex digits (the token's digest, never the token itself)"),
            ("\(good)\n# x\nolli viewer \(other)\n", "tokens:3: the name 'olli' is used twice (also with role operator)"),
            ("\(good)\nada viewer \(AccessTokens.digest(of: "secret-1"))\n", "tokens:2: this digest is also the token of 'olli'; every token must be different"),
            ("a/b viewer \(other)\n", "tokens:1: the name 'a/b' must match [A-Za-z0-9_.-]{1,64}"),
            ("# only comments\n\n", "tokens: the tokens file holds no tokens"),
        ]
        for (text, message) in cases {
            let error = #expect(throws: AccessTokensError.self) { try AccessTokens(parsing: text, file: "tokens") }
            #expect(error?.description == message)
        }
        // A pasted token never appears in the message.
        let pasted = #expect(throws: AccessTokensError.self) { try AccessTokens(parsing: "ada viewer my-secret-token\n", file: "t") }
        #expect(pasted?.description.contains("my-secret-token") == false)
        let missing = #expect(throws: AccessTokensError.self) { try AccessTokens.load(path: "/nonexistent/streetsense/tokens") }
        #expect(missing?.line == 0)
        #expect(missing?.description.hasPrefix("/nonexistent/streetsense/tokens: cannot read the tokens file") == true)
    }
}
