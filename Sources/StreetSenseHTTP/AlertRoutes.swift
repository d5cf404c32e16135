import Foundation
import HTTPTypes
import Hummingbird
import Logging
import StreetSenseAlerts
import StreetSenseCore

/// The alerts API (DESIGN §5, §7): `GET /api/v1/alerts`, `GET /api/v1/alerts/{id}`,
/// `POST /api/v1/alerts/{id}/ack` and the Server-Sent Events feed `GET /api/v1/alerts/stream`.
extension APIRoutes {
    static let defaultAlertPageSize = 50
    static let maximumAlertPageSize = 500
    /// The largest acknowledgement body read (the note is at most 1 KiB of UTF-8, escaped in JSON).
    static let maximumAcknowledgementBody = 16 * 1024

    func addAlertRoutes<Context: RequestContext>(to router: Router<Context>, source: any AlertSource) {
        let stream = AlertEventStream(source: source, settings: alertStream, reads: reads)
        get(router, "/api/v1/alerts") { request, context in try await self.alertList(request, source, context.logger) }
        get(router, "/api/v1/alerts/stream") { request, context in try self.alertStream(request, stream, context.logger) }
        get(router, "/api/v1/alerts/deliveries") { request, _ in try self.alertDeliveries(request, source) }
        get(router, "/api/v1/alerts/:id") { request, context in try await self.alertDetail(request, context.parameters, source, context.logger) }
        router.post("/api/v1/alerts/:id/ack") { request, context in
            try await self.acknowledge(request, context.parameters, source, context.logger)
        }
        for method in [HTTPRequest.Method.get, .head, .put, .patch, .delete, .options] {
            router.on("/api/v1/alerts/:id/ack", method: method) { request, _ -> Response in
                throw ProblemDetails(
                    .methodNotAllowed, detail: "\(request.method.rawValue) is not allowed on \(request.uri.path); use POST",
                    allowedMethods: [.post]
                )
            }
        }
    }

    // MARK: Access

    /// The grant of the request's bearer token: 401 when there is none or it is not one of `tokens`.
    static func authenticate(_ request: Request, with tokens: AccessTokens) throws(ProblemDetails) -> AccessGrant {
        guard let header = request.headers[.authorization] else {
            throw ProblemDetails(.unauthorized, detail: "this request needs a bearer token (Authorization: Bearer <token>)")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw ProblemDetails(.unauthorized, detail: "the Authorization header must be 'Bearer <token>'")
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.utf8.count <= 4096, let grant = tokens.grant(forBearer: token) else {
            throw ProblemDetails(.unauthorized, detail: "the bearer token is not valid")
        }
        return grant
    }

    /// Lets a read through when reads are public; otherwise requires a token of any role.
    func authorizeRead(_ request: Request) throws(ProblemDetails) {
        _ = try readScope(request)
    }

    /// The grant whose pilot scope limits a read of sensors or series: nil (every pilot) when reads are public,
    /// else the request's token (401 without a valid one).
    func readScope(_ request: Request) throws(ProblemDetails) -> AccessGrant? {
        guard let tokens = services.access.tokens, !services.access.publicReads else { return nil }
        return try Self.authenticate(request, with: tokens)
    }

    /// The grant that limits a read of rejects, which hold payload excerpts: with a tokens file a token is needed
    /// even when reads are public; without one (nobody can authenticate) rejects are as open as every read.
    func rejectsScope(_ request: Request) throws(ProblemDetails) -> AccessGrant? {
        guard let tokens = services.access.tokens else { return nil }
        return try Self.authenticate(request, with: tokens)
    }

    /// 403 unless `grant` (nil: no scope) may read `pilot`'s data. Checked before looking the data up, so the
    /// answer does not tell whether another pilot's sensor exists.
    static func check(_ grant: AccessGrant?, covers pilot: String) throws(ProblemDetails) {
        guard let grant, !grant.covers(pilot: pilot) else { return }
        throw ProblemDetails(
            .forbidden,
            detail: "the token of '\(grant.name)' is scoped to pilot\((grant.pilots ?? []).count == 1 ? "" : "s") "
                + (grant.pilots ?? []).joined(separator: ", ") + "; it cannot read pilot '\(pilot)'")
    }

    /// The grant of an `operator` (or `admin`) token: 403 when no tokens file is configured or the role is lower.
    func authorizeOperator(_ request: Request) throws(ProblemDetails) -> AccessGrant {
        guard let tokens = services.access.tokens else {
            throw ProblemDetails(.forbidden, detail: "no tokens file is configured (http.tokens_file), so alerts cannot be acknowledged")
        }
        let grant = try Self.authenticate(request, with: tokens)
        guard grant.role >= .operator else {
            throw ProblemDetails(.forbidden, detail: "the token of '\(grant.name)' has role \(grant.role.rawValue); acknowledging needs operator")
        }
        return grant
    }

    // MARK: List and detail

    func alertList(_ request: Request, _ source: any AlertSource, _ logger: Logger) async throws -> Response {
        let query = try QueryParameters(
            request.uri, accepting: ["state", "severity", "rule", "subject_kind", "subject", "since", "limit", "cursor"])
        var filter = AlertFilter()
        filter.state = try query.choice("state", from: AlertState.allCases.map { ($0.rawValue, $0) })
        filter.severity = try query.choice("severity", from: AlertSeverity.allCases.map { ($0.rawValue, $0) })
        filter.rule = try query.choice("rule", from: AlertRule.allCases.map { ($0.rawValue, $0) })
        filter.subjectKind = try query.choice("subject_kind", from: AlertSubjectKind.allCases.map { ($0.rawValue, $0) })
        if let subject = query.string("subject") {
            let parts = subject.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, parts.allSatisfy({ Identifier.isValid($0) }) else {
                throw ProblemDetails.invalidParameter("subject", "must be a zone id or pilot/sensor, each matching [A-Za-z0-9_.-]{1,64}")
            }
            filter.subjectID = subject
        }
        filter.since = try query.time("since")
        let limit = try query.integer("limit", in: 1...Self.maximumAlertPageSize) ?? Self.defaultAlertPageSize
        let cursor: AlertID?
        if let text = query.string("cursor") {
            guard let value = Int64(text), value > 0, text.allSatisfy(\.isASCII) else {
                throw ProblemDetails.foreignCursor
            }
            cursor = AlertID(value)
        } else {
            cursor = nil
        }
        var alerts = try await readAlerts(logger, "alerts") { [filter] in try source.alerts(filter: filter, before: cursor, limit: limit + 1) }
        let hasMore = alerts.count > limit
        if hasMore { alerts.removeLast(alerts.count - limit) }
        return Self.json(.ok) { json in
            json.object { json in
                json.key("alerts")
                json.array { json in
                    for alert in alerts { json.alert(alert) }
                }
                json.member("next_cursor", hasMore ? alerts.last.map { String($0.id.rawValue) } : nil)
            }
        }
    }

    /// The alert id of the path, or a 404 problem (an id that is not a positive integer names no alert).
    private static func alertID(_ parameters: Parameters) throws(ProblemDetails) -> AlertID {
        let text = parameters.get("id") ?? ""
        guard let value = Int64(text), value > 0, text.allSatisfy(\.isASCII) else { throw .notFound("no alert '\(text)'") }
        return AlertID(value)
    }

    func alertDetail(_ request: Request, _ parameters: Parameters, _ source: any AlertSource, _ logger: Logger) async throws -> Response {
        let id = try Self.alertID(parameters)
        _ = try QueryParameters(request.uri, accepting: [])
        let found = try await readAlerts(logger, "alert \(id)") { () throws -> (StoredAlert, [AlertEvent])? in
            guard let alert = try source.alert(id: id) else { return nil }
            return (alert, try source.alertEvents(alertID: id))
        }
        guard let (alert, events) = found else { throw ProblemDetails.notFound("no alert \(id)") }
        return Self.json(.ok) { $0.alert(alert, events: events) }
    }

    // MARK: Delivery

    /// How delivery on the MQTT alert topics and to each webhook stands: what was delivered, what failed, what
    /// is waiting and what was dropped, so an operator sees an endpoint that cannot be reached.
    func alertDeliveries(_ request: Request, _ source: any AlertSource) throws -> Response {
        _ = try QueryParameters(request.uri, accepting: [])
        let status = source.deliveryStatus()
        return Self.json(.ok) { json in
            json.object { json in
                json.key("mqtt")
                if let mqtt = status.mqtt {
                    json.object { json in
                        json.member("published", mqtt.published)
                        json.member("failed", mqtt.failed)
                        json.member("pending", mqtt.pending)
                        json.member("dropped", mqtt.dropped)
                        json.member("last_error", mqtt.lastError)
                    }
                } else {
                    json.null()
                }
                json.key("webhooks")
                json.array { json in
                    for webhook in status.webhooks {
                        json.object { json in
                            json.member("url", webhook.url)
                            json.member("state", webhook.state.rawValue)
                            json.member("delivered", webhook.delivered)
                            json.member("failed", webhook.failed)
                            json.member("dropped", webhook.dropped)
                            json.member("retries", webhook.retries)
                            json.member("pending", webhook.pending)
                            json.member("last_error", webhook.lastError)
                            json.member("last_success_at", time: webhook.lastSuccessAt)
                        }
                    }
                }
            }
        }
    }

    // MARK: Acknowledgement

    func acknowledge(_ request: Request, _ parameters: Parameters, _ source: any AlertSource, _ logger: Logger) async throws -> Response {
        let grant = try authorizeOperator(request)
        let id = try Self.alertID(parameters)
        _ = try QueryParameters(request.uri, accepting: [])
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: min(Self.maximumAcknowledgementBody, protection.maximumBodyBytes))
        } catch {
            throw ProblemDetails(.bodyTooLarge, detail: "the body is larger than \(min(Self.maximumAcknowledgementBody, protection.maximumBodyBytes)) bytes")
        }
        let note = try Self.acknowledgementNote(Array(body.readableBytesView))
        // The live engine decides (an alert is acknowledgeable as soon as it is on the feed, before its row is
        // committed); the store only tells a cleared alert (409) from one that never existed (404).
        let event: AlertEvent
        do {
            event = try await source.acknowledge(alertID: id, by: grant.name, note: note)
        } catch let error as AlertError {
            switch error.code {
            case .alertNotActive:
                guard try await readAlerts(logger, "alert \(id)", { try source.alert(id: id) }) != nil else {
                    throw ProblemDetails.notFound("no alert \(id)")
                }
                throw ProblemDetails(.conflict, detail: "alert \(id) is cleared; a cleared alert cannot be acknowledged")
            case .alreadyCleared:
                throw ProblemDetails(.conflict, detail: "alert \(id) is cleared; a cleared alert cannot be acknowledged")
            case .stopping:
                throw ProblemDetails(.unavailable, detail: "the service is shutting down")
            case .alreadyAcknowledged:
                throw ProblemDetails(.conflict, detail: "alert \(id) was acknowledged before; an acknowledgement is not replaced")
            case .invalidAcknowledgement:
                throw ProblemDetails(.invalidBody, detail: error.message)
            default:
                logger.error("acknowledging an alert failed", metadata: ["alert": "\(id)", "error": "\(error)"])
                throw ProblemDetails(.internalError, detail: "acknowledging alert \(id) failed")
            }
        } catch {
            logger.error("acknowledging an alert failed", metadata: ["alert": "\(id)", "error": "\(String(reflecting: error))"])
            throw ProblemDetails(.internalError, detail: "acknowledging alert \(id) failed")
        }
        logger.info("alert acknowledged", metadata: ["alert": "\(id)", "by": "\(grant.name)", "event": "\(event.id)"])
        return Self.json(.ok) { $0.alertEvent(event) }
    }

    /// The note of an acknowledgement body: empty, or a JSON object whose only member is `note` (a string or
    /// null).
    static func acknowledgementNote(_ body: [UInt8]) throws(ProblemDetails) -> String? {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) { return nil }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(body), options: [])
        } catch {
            throw ProblemDetails(.invalidBody, detail: "the body is not JSON; send {\"note\": \"…\"} or nothing")
        }
        guard let object = parsed as? [String: Any] else {
            throw ProblemDetails(.invalidBody, detail: "the body must be a JSON object such as {\"note\": \"…\"}")
        }
        if let unknown = object.keys.sorted().first(where: { $0 != "note" }) {
            throw ProblemDetails(.invalidBody, detail: "the body member '\(unknown)' is not known (accepted: note)")
        }
        switch object["note"] {
        case nil, is NSNull:
            return nil
        case let note as String:
            guard note.utf8.count <= Acknowledgement.maximumNoteBytes else {
                throw ProblemDetails(.invalidBody, detail: "the note is \(note.utf8.count) bytes, more than \(Acknowledgement.maximumNoteBytes)")
            }
            return note.isEmpty ? nil : note
        default:
            throw ProblemDetails(.invalidBody, detail: "the body member 'note' must be a string or null")
        }
    }

    // MARK: Stream

    func alertStream(_ request: Request, _ stream: AlertEventStream, _ logger: Logger) throws -> Response {
        let query = try QueryParameters(request.uri, accepting: ["last_event_id"])
        let after: AlertEventID?
        if let header = request.headers[Self.lastEventIDHeader], !header.isEmpty {
            guard let value = Int64(header), value >= 0, header.allSatisfy(\.isASCII) else {
                throw ProblemDetails(
                    .invalidParameter, detail: "header 'Last-Event-ID' must be an event id (a non-negative integer)", parameter: "Last-Event-ID")
            }
            after = AlertEventID(value)
        } else if let text = query.string("last_event_id") {
            guard let value = Int64(text), value >= 0, text.allSatisfy(\.isASCII) else {
                throw ProblemDetails.invalidParameter("last_event_id", "must be an event id (a non-negative integer)")
            }
            after = AlertEventID(value)
        } else {
            after = nil
        }
        guard let slot = streamClients.acquire() else {
            throw ProblemDetails(
                .unavailable, detail: "\(streamClients.limit) clients are streaming alerts already; try again later",
                retryAfterSeconds: alertStream.retryAfterSeconds)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                defer { slot.release() }
                try await stream.run(after: after, writer: &writer, logger: logger)
            }
        )
    }

    static let lastEventIDHeader = HTTPField.Name("Last-Event-ID")!

    /// Runs a blocking alert read off the cooperative pool; any error becomes a logged 500 problem.
    private func readAlerts<T: Sendable>(_ logger: Logger, _ what: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await reads.run(body)
        } catch {
            logger.error("reading stored alerts failed", metadata: ["what": "\(what)", "error": "\(String(reflecting: error))"])
            throw ProblemDetails(.internalError, detail: "reading the stored \(what) failed")
        }
    }
}
