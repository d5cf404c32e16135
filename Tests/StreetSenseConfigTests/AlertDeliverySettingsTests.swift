import Foundation
import StreetSenseConfig
import Testing

/// The `alerts:` section: MQTT publishing, the CloudEvents source and webhooks, with one diagnostic per bad value.
@Suite("Alert delivery settings")
struct AlertDeliverySettingsTests {
    static func fixture(alerts: String) throws -> ConfigFixture {
        try ConfigFixture(["streetsense.yaml": minimalYAML + "\n" + alerts, "zones.geojson": twoZonesGeoJSON])
    }

    @Test("without an alerts section MQTT publishing is on, the source is /streetsense and there are no webhooks")
    func defaults() throws {
        let configuration = try Self.fixture(alerts: "").load()
        #expect(configuration.alerts == AlertDeliverySettings(mqttPublish: true, source: "/streetsense", webhooks: []))
    }

    @Test("every key is read, secrets from the file or from the environment")
    func fullSection() throws {
        let fixture = try Self.fixture(
            alerts: """
                alerts:
                  mqtt_publish: false
                  source: /streetsense/helsinki
                  webhooks:
                    - url: https://ops.example.org/hooks/streetsense
                      secret: s3cr3t-value
                      timeout_s: 2.5
                      max_attempts: 3
                      queue: 500
                    - url: http://127.0.0.1:9000/in?token=abc
                      secret_env: HOOK_SECRET
                    - { url: "http://localhost:8081/" }
                """)
        let alerts = try fixture.load(environment: ["HOOK_SECRET": "from-env"]).alerts
        #expect(alerts.mqttPublish == false)
        #expect(alerts.source == "/streetsense/helsinki")
        #expect(
            alerts.webhooks == [
                .init(
                    url: "https://ops.example.org/hooks/streetsense", secret: Secret("s3cr3t-value"), timeout: .milliseconds(2500),
                    maxAttempts: 3, queueCapacity: 500),
                .init(
                    url: "http://127.0.0.1:9000/in?token=abc", secret: Secret("from-env"), timeout: .seconds(5), maxAttempts: 8, queueCapacity: 10_000
                ),
                .init(url: "http://localhost:8081/", secret: nil),
            ])
    }

    @Test("descriptions never show a secret, credentials or a query token")
    func redaction() throws {
        let alerts = AlertDeliverySettings(webhooks: [
            .init(url: "https://user:pa55@hooks.example.org:8443/in?token=t0ken#x", secret: Secret("s3cr3t-value"))
        ])
        #expect(alerts.webhooks[0].redactedURL == "https://hooks.example.org:8443/in")
        let texts = [alerts.description, String(describing: alerts.webhooks), String(reflecting: alerts)]
        for text in texts {
            #expect(!text.contains("s3cr3t-value") && !text.contains("pa55") && !text.contains("t0ken"), "\(text)")
        }
        #expect(alerts.description.contains("https://hooks.example.org:8443/in (secret: <redacted>, timeout_s: 5, max_attempts: 8, queue: 10000)"))
    }

    @Test("every bad value is one FILE:LINE: key: reason line")
    func diagnostics() throws {
        let fixture = try Self.fixture(
            alerts: """
                alerts:
                  mqtt_publish: maybe
                  source: "has space"
                  webhooks:
                    - url: https://ok.example.org/a
                    - url: "ftp://x"
                    - url: http://
                      timeout_s: 0
                      max_attempts: 0
                      queue: -1
                    - secret: abc
                    - url: https://ok.example.org/b
                      secret: abc
                      secret_env: HOOK_SECRET
                    - url: https://ok.example.org/c
                      secret_env: NOT_SET_ANYWHERE
                      retries: 3
                    - ~
                  webhook: []
                """)
        let file = fixture.path("streetsense.yaml")
        // minimalYAML is 5 lines: `alerts:` is line 6.
        #expect(
            fixture.errors() == [
                "\(file):7: alerts.mqtt_publish: expected true or false, got \"maybe\"",
                "\(file):8: alerts.source: expected a URI reference without spaces or control characters, got \"has space\"",
                "\(file):11: alerts.webhooks[1].url: expected an http:// or https:// URL, got \"ftp://x\"",
                "\(file):12: alerts.webhooks[2].url: the URL has no host: expected an http:// or https:// URL, got \"http://\"",
                "\(file):13: alerts.webhooks[2].timeout_s: must be greater than 0, got 0",
                "\(file):14: alerts.webhooks[2].max_attempts: must be between 1 and 1000, got 0",
                "\(file):15: alerts.webhooks[2].queue: must be between 1 and 10000000, got -1",
                "\(file):16: alerts.webhooks[3].url: missing required key",
                "\(file):19: alerts.webhooks[4].secret_env: give either secret or secret_env, not both",
                "\(file):21: alerts.webhooks[5].secret_env: the environment variable NOT_SET_ANYWHERE is not set or empty",
                "\(file):22: alerts.webhooks[5].retries: unknown key (expected one of: url, secret, secret_env, timeout_s, max_attempts, queue)",
                "\(file):23: alerts.webhooks[6]: expected a webhook (a mapping with a url), got null",
                "\(file):24: alerts.webhook: unknown key (did you mean webhooks?)",
            ])
    }

    @Test("a diagnostic never repeats a secret")
    func secretsStayOutOfDiagnostics() throws {
        let fixture = try Self.fixture(
            alerts: """
                alerts:
                  webhooks:
                    - url: "ftp://user:pa55@x/?token=t0ken"
                      secret: s3cr3t-value
                      secret_env: ALSO
                """)
        let errors = fixture.errors(environment: ["ALSO": "other"])
        #expect(errors.count == 2)
        #expect(errors.allSatisfy { !$0.contains("s3cr3t-value") && !$0.contains("pa55") && !$0.contains("t0ken") && !$0.contains("other") })
    }
}
