import ArgumentParser
import StreetSenseCore
import StreetSenseHTTP

/// `streetsense token --name NAME --role operator`: makes a new API token and the line for the tokens file.
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a new API bearer token and the line to add to http.tokens_file (only its hash is stored).")

    @Option(help: "Who the token belongs to (an id such as operator-1); it becomes the acknowledgement's author.")
    var name: String

    @Option(help: "viewer (reads), operator (reads and acknowledges) or admin.")
    var role: String = "operator"

    @Option(name: .customLong("pilot"), help: "Scope the token to this pilot's sensors, series and rejects (repeat for several).")
    var pilots: [String] = []

    func run() throws {
        guard let role = AccessRole(rawValue: role) else {
            throw ValidationError("--role must be viewer, operator or admin, got \"\(role)\"")
        }
        if let bad = pilots.first(where: { !Identifier.isValid($0) }) {
            throw ValidationError("--pilot must match [A-Za-z0-9_.-]{1,64}, got \"\(bad)\"")
        }
        let token = AccessTokens.generateToken()
        print("token (give it to \(name); it is not stored anywhere): \(token)")
        print("line for the tokens file:")
        print(AccessTokens.hashLine(name: name, role: role, token: token, pilots: pilots))
    }
}
