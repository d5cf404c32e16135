import Testing

@Suite struct SchemaValidatorTests {
    /// A small document in the shape of openapi.yaml's components.
    static let document: JSONValue = .object([
        "components": .object([
            "schemas": .object([
                "Time": .object(["type": .string("string"), "format": .string("date-time")]),
                "Point": .object([
                    "type": .string("object"),
                    "required": .array([.string("t"), .string("count"), .string("mean")]),
                    "additionalProperties": .bool(false),
                    "properties": .object([
                        "t": .object(["$ref": .string("#/components/schemas/Time")]),
                        "count": .object(["type": .string("integer"), "minimum": .number(1)]),
                        "mean": .object(["type": .array([.string("number"), .string("null")])]),
                        "level": .object(["type": .string("string"), "enum": .array([.string("normal"), .string("high")])]),
                    ]),
                ]),
                "Points": .object(["type": .string("array"), "items": .object(["$ref": .string("#/components/schemas/Point")])]),
            ])
        ])
    ])

    let validator = SchemaValidator(root: SchemaValidatorTests.document)
    let points: JSONValue = .object(["$ref": .string("#/components/schemas/Points")])

    func point(_ members: [String: JSONValue]) -> JSONValue {
        var base: [String: JSONValue] = ["t": .string("2026-11-22T10:15:00.250Z"), "count": .number(3), "mean": .number(1.5)]
        base.merge(members) { $1 }
        return .object(base)
    }

    @Test func acceptsValidValues() {
        let value: JSONValue = .array([point([:]), point(["mean": .null, "level": .string("high")])])
        #expect(validator.errors(of: value, against: points) == [])
        #expect(validator.errors(of: .array([]), against: points) == [])
    }

    @Test func rejectsWrongTypesMissingAndExtraMembers() {
        let errors = validator.errors(
            of: .array([
                point(["count": .number(1.5)]), .object(["t": .string("2026-11-22T10:15:00.250Z"), "count": .number(1)]),
                point(["extra": .bool(true)]),
            ]),
            against: points
        )
        #expect(errors.count == 3)
        #expect(errors.contains { $0.hasPrefix("$[0].count: expected integer") })
        #expect(errors.contains { $0 == "$[1]: required property 'mean' is missing" })
        #expect(errors.contains { $0 == "$[2]: property 'extra' is not allowed" })
        // A nullable number still refuses a string; a non-nullable value refuses null.
        #expect(validator.errors(of: point(["mean": .string("1.5")]), against: .object(["$ref": .string("#/components/schemas/Point")])).count == 1)
        #expect(validator.errors(of: point(["count": .null]), against: .object(["$ref": .string("#/components/schemas/Point")])).count == 1)
    }

    @Test func checksEnumMinimumAndDateTimes() {
        let schema: JSONValue = .object(["$ref": .string("#/components/schemas/Point")])
        #expect(validator.errors(of: point(["level": .string("extreme")]), against: schema).count == 1)
        #expect(validator.errors(of: point(["count": .number(0)]), against: schema) == ["$.count: 0.0 is below the minimum 1.0"])
        let time: JSONValue = .object(["$ref": .string("#/components/schemas/Time")])
        #expect(validator.errors(of: .string("2026-11-22T10:15:00.250Z"), against: time) == [])
        // Valid RFC 3339, but not the API's canonical UTC-with-milliseconds form.
        #expect(validator.errors(of: .string("2026-11-22T10:15:00Z"), against: time).count == 1)
        #expect(validator.errors(of: .string("2026-11-22T12:15:00.250+02:00"), against: time).count == 1)
        // Not a time at all.
        #expect(validator.errors(of: .string("2026-11-22 10:15"), against: time).count == 1)
        #expect(validator.errors(of: .string("2026-02-30T10:15:00.000Z"), against: time).count == 1)
    }

    @Test func checksPrefixItemsAndTheNumberOfItems() {
        // The shape of openapi.yaml's SensorPosition: [longitude, latitude] or null.
        let position: JSONValue = .object([
            "type": .array([.string("array"), .string("null")]),
            "minItems": .number(2),
            "maxItems": .number(2),
            "prefixItems": .array([
                .object(["type": .string("number"), "minimum": .number(-180), "maximum": .number(180)]),
                .object(["type": .string("number"), "minimum": .number(-90), "maximum": .number(90)]),
            ]),
        ])
        #expect(validator.errors(of: .array([.number(24.9344), .number(60.1688)]), against: position) == [])
        #expect(validator.errors(of: .null, against: position) == [])
        #expect(validator.errors(of: .array([.number(24.9)]), against: position) == ["$: 1 items, fewer than minItems 2"])
        #expect(
            validator.errors(of: .array([.number(24.9), .number(60.1), .number(12)]), against: position) == [
                "$: 3 items, more than maxItems 2"
            ])
        #expect(validator.errors(of: .array([.number(24.9), .number(160)]), against: position) == ["$[1]: 160.0 is above the maximum 90.0"])
        #expect(validator.errors(of: .array([.string("24.9"), .number(60.1)]), against: position).count == 1)
        // Elements after the prefix are checked against `items`.
        let tail: JSONValue = .object(["prefixItems": .array([.object(["type": .string("string")])]), "items": .object(["type": .string("number")])])
        #expect(validator.errors(of: .array([.string("a"), .number(1), .number(2)]), against: tail) == [])
        #expect(validator.errors(of: .array([.string("a"), .string("b")]), against: tail) == ["$[1]: expected number, found \(JSONValue.string("b"))"])
    }

    @Test func refusesKeywordsItDoesNotImplementAndBrokenReferences() {
        let oneOf: JSONValue = .object(["oneOf": .array([.object(["type": .string("string")])])])
        #expect(validator.errors(of: .string("x"), against: oneOf) == ["$: unsupported schema keyword 'oneOf'"])
        let broken: JSONValue = .object(["$ref": .string("#/components/schemas/Nowhere")])
        #expect(validator.errors(of: .null, against: broken).count == 1)
    }

    @Test func contractRejectsUndocumentedStatusesAndContentTypes() throws {
        let yaml = """
            openapi: 3.1.0
            paths:
              /api/v1/things/{id}:
                get:
                  responses:
                    '200':
                      description: A thing.
                      content:
                        application/json:
                          schema:
                            type: object
                            required: [id]
                            properties:
                              id: {type: string}
            x-unknown-path-response:
              description: None.
            x-method-not-allowed-response:
              description: None.
            """
        let contract = try OpenAPIContract(yaml: yaml)
        let json = ["content-type": "application/json"]
        #expect(contract.violations(method: "GET", path: "/api/v1/things/a?x=1", status: 200, headers: json, body: Array(#"{"id":"a"}"#.utf8)) == [])
        #expect(contract.violations(method: "GET", path: "/api/v1/things/a", status: 200, headers: json, body: Array(#"{"id":1}"#.utf8)).count == 1)
        #expect(
            contract.violations(method: "GET", path: "/api/v1/things/a", status: 500, headers: json, body: [])
                == ["GET /api/v1/things/{id} documents no 500 response"]
        )
        let html = ["content-type": "text/html"]
        #expect(contract.violations(method: "GET", path: "/api/v1/things/a", status: 200, headers: html, body: []).count == 1)
        #expect(contract.violations(method: "GET", path: "/elsewhere", status: 200, headers: json, body: []) == ["/elsewhere is not documented"])
        #expect(contract.violations(method: "GET", path: "/api/v1/other", status: 200, headers: json, body: []).count == 1)
        #expect(contract.violations(method: "GET", path: "/api/v1/other", status: 404, headers: [:], body: []) == [])
        #expect(contract.violations(method: "POST", path: "/api/v1/things/a", status: 405, headers: [:], body: []) == [])
        // YAML's quoted 'null' stays a string; only a bare null is null.
        let types = try OpenAPIContract(yaml: "a: [number, 'null']\nb: null\n").document
        #expect(types["a"] == .array([.string("number"), .string("null")]))
        #expect(types["b"] == .null)
    }
}
