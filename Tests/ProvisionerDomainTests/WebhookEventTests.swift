import Foundation
import Testing
@testable import ProvisionerDomain

@Suite("Webhook event bodies")
struct WebhookEventTests {
    static let eventID = UUID(uuidString: "0B5C6E1A-86F3-4B7C-9E65-1F8D1C2E3A4B") ?? UUID()
    static let credentialID = UUID(uuidString: "F47AC10B-58CC-4372-A567-0E02B2C3D479") ?? UUID()

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let type: WebhookEventType
        let occurredAt: TimeInterval
        let tenant: String
        let credentialID: UUID?
        let uriSetVersion: Int?
        let body: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "activated, every field", type: .credentialActivated, occurredAt: 1_796_551_200.123, tenant: "acme",
             credentialID: credentialID, uriSetVersion: 3,
             body: #"{"type":"credential.activated","timestamp":"2026-12-06T10:00:00.123Z","data":{"tenant":"acme","credential_id":"f47ac10b-58cc-4372-a567-0e02b2c3d479","uri_set_version":3}}"#),
        Case(name: "rejected, no URI set version", type: .credentialRejected, occurredAt: 1_704_423_845, tenant: "acme-corp-2",
             credentialID: credentialID, uriSetVersion: nil,
             body: #"{"type":"credential.rejected","timestamp":"2024-01-05T03:04:05.000Z","data":{"tenant":"acme-corp-2","credential_id":"f47ac10b-58cc-4372-a567-0e02b2c3d479","uri_set_version":null}}"#),
        Case(name: "URI set issued, no credential", type: .uriSetIssued, occurredAt: 951_868_799.999, tenant: "a",
             credentialID: nil, uriSetVersion: 1,
             body: #"{"type":"uri_set.issued","timestamp":"2000-02-29T23:59:59.999Z","data":{"tenant":"a","credential_id":null,"uri_set_version":1}}"#),
        Case(name: "deactivated, both null, the epoch", type: .credentialDeactivated, occurredAt: 0, tenant: "x1",
             credentialID: nil, uriSetVersion: nil,
             body: #"{"type":"credential.deactivated","timestamp":"1970-01-01T00:00:00.000Z","data":{"tenant":"x1","credential_id":null,"uri_set_version":null}}"#),
        Case(name: "before 1970, large version", type: .uriSetIssued, occurredAt: -1.5, tenant: "old",
             credentialID: nil, uriSetVersion: 2_147_483_648,
             body: #"{"type":"uri_set.issued","timestamp":"1969-12-31T23:59:58.500Z","data":{"tenant":"old","credential_id":null,"uri_set_version":2147483648}}"#),
        Case(name: "milliseconds truncate, never round up", type: .credentialActivated, occurredAt: 1_704_423_845.9996, tenant: "acme",
             credentialID: nil, uriSetVersion: 0,
             body: #"{"type":"credential.activated","timestamp":"2024-01-05T03:04:05.999Z","data":{"tenant":"acme","credential_id":null,"uri_set_version":0}}"#),
        Case(name: "any slug text is escaped", type: .credentialRejected, occurredAt: 1_796_551_200.5,
             tenant: "a\"b\\c/d\n\t\r\u{8}\u{C}\u{1}\u{1F}\u{7F}é日本😀",
             credentialID: nil, uriSetVersion: nil,
             body: #"{"type":"credential.rejected","timestamp":"2026-12-06T10:00:00.500Z","data":{"tenant":"a\"b\\c/d\n\t\r\b\f\u0001\u001f"# + "\u{7F}é日本😀" + #"","credential_id":null,"uri_set_version":null}}"#),
        Case(name: "far future is clamped to year 9999", type: .credentialActivated, occurredAt: 1e15, tenant: "t",
             credentialID: nil, uriSetVersion: nil,
             body: #"{"type":"credential.activated","timestamp":"9999-12-31T23:59:59.999Z","data":{"tenant":"t","credential_id":null,"uri_set_version":null}}"#),
    ]

    static func event(_ c: Case) -> WebhookEvent {
        WebhookEvent(id: eventID, type: c.type, occurredAt: Date(timeIntervalSince1970: c.occurredAt), tenant: c.tenant,
                     credentialID: c.credentialID, uriSetVersion: c.uriSetVersion)
    }

    @Test("exact bytes", arguments: cases)
    func exactBytes(c: Case) {
        let body = Self.event(c).body()
        #expect(String(decoding: body, as: UTF8.self) == c.body)
        #expect(body == Array(c.body.utf8))
        #expect(Self.event(c).body() == body, "identical on every call")
    }

    @Test("parses back as JSON with the same values", arguments: cases)
    func parsesBack(c: Case) throws {
        let value = try JSONParser().parse(Self.event(c).body())
        #expect(value.objectMembers?.map(\.key) == ["type", "timestamp", "data"])
        #expect(value["type"]?.stringValue == c.type.rawValue)
        let data = try #require(value["data"])
        #expect(data.objectMembers?.map(\.key) == ["tenant", "credential_id", "uri_set_version"])
        #expect(data["tenant"]?.stringValue == c.tenant)
        #expect(data["credential_id"]?.stringValue == c.credentialID?.uuidString.lowercased())
        #expect(data["credential_id"]?.isNull == (c.credentialID == nil))
        #expect(data["uri_set_version"]?.numberText == c.uriSetVersion.map(String.init))
        #expect(data["uri_set_version"]?.isNull == (c.uriSetVersion == nil))
        // Foundation agrees too.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(Self.event(c).body())) as? [String: Any])
        #expect((object["data"] as? [String: Any])?["tenant"] as? String == c.tenant)
        #expect(object["timestamp"] as? String == value["timestamp"]?.stringValue)
    }

    @Test("webhook-id is the lowercase UUID, the same for every call")
    func webhookID() {
        let event = Self.event(Self.cases[0])
        #expect(event.webhookID == "0b5c6e1a-86f3-4b7c-9e65-1f8d1c2e3a4b")
        #expect(!event.webhookID.contains("."))
    }

    @Test("event type names are the public ones", arguments: [
        (WebhookEventType.credentialActivated, "credential.activated"),
        (.credentialDeactivated, "credential.deactivated"),
        (.credentialRejected, "credential.rejected"),
        (.uriSetIssued, "uri_set.issued"),
        (.credentialUnhealthy, "credential.unhealthy"),
        (.credentialHealthy, "credential.healthy"),
    ])
    func typeNames(type: WebhookEventType, name: String) throws {
        #expect(type.rawValue == name)
        #expect(WebhookEventType(rawValue: name) == type)
        #expect(try TestJSON.encode([type]) == "[\"\(name)\"]")
        #expect(try TestJSON.decode([WebhookEventType].self, from: "[\"\(name)\"]") == [type])
    }

    @Test("every type is covered")
    func allTypes() {
        #expect(WebhookEventType.allCases.count == 6)
    }
}
