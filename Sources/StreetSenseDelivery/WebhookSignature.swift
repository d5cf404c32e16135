import Crypto

/// The `X-StreetSense-Signature` header of a webhook: `sha256=` and the lowercase hex HMAC-SHA256 of the exact
/// body bytes, keyed with the endpoint's secret (UTF-8). A receiver recomputes it over the raw body it got and
/// compares in constant time.
public enum WebhookSignature {
    /// The header's name.
    public static let headerName = "X-StreetSense-Signature"

    /// The header's value for `body` under `secret`.
    public static func value(body: some Sequence<UInt8>, secret: String) -> String {
        let key = SymmetricKey(data: Array(secret.utf8))
        let code = HMAC<SHA256>.authenticationCode(for: Array(body), using: key)
        return "sha256=" + hex(code)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
