import HTTPTypes
import ProvisionerStore
import Testing
@testable import ProvisionerAPI

/// What of a caller's W3C trace context the tracing middleware passes to the tracer, and what
/// the queue stores: only well-formed, bounded values; anything else starts a new trace (or
/// drops `tracestate` and keeps `traceparent`), and never reaches a log line or a column.
@Suite struct TracingHeadersTests {
    static let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    static func fields(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return fields
    }

    @Test(arguments: [
        // (headers, traceparent taken, tracestate taken)
        ([("traceparent", parent)], parent, nil),
        ([("traceparent", parent), ("tracestate", "rojo=00f067aa0ba902b7")], parent, "rojo=00f067aa0ba902b7"),
        ([("traceparent", parent), ("tracestate", "rojo=1"), ("tracestate", "congo=t61rcWkgMzE")], parent, "rojo=1,congo=t61rcWkgMzE"),
        // Unsampled is still a parent.
        ([("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", nil),
        // A tracestate that does not parse, or is over 512 bytes, is dropped; the parent stays.
        ([("traceparent", parent), ("tracestate", "Rojo=1")], parent, nil),
        ([("traceparent", parent), ("tracestate", "v=" + String(repeating: "a", count: 600))], parent, nil),
        ([("traceparent", parent), ("tracestate", "")], parent, nil),
    ] as [([(String, String)], String, String?)])
    func aWellFormedParentIsTaken(_ headers: [(String, String)], parent: String, state: String?) throws {
        let incoming = try #require(IncomingTraceContext(Self.fields(headers)))
        #expect(incoming.traceParent == parent)
        #expect(incoming.traceState == state)
        // What the tracer could log about it names the parent only.
        #expect(incoming.description == "traceparent=\(parent)")
    }

    @Test(arguments: [
        [],
        [("tracestate", "rojo=1")],
        [("traceparent", "")],
        [("traceparent", "garbage")],
        // Two traceparent headers: which one is meant is unknown.
        [("traceparent", parent), ("traceparent", parent)],
        [("traceparent", parent + "-extra")],
        [("traceparent", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
        [("traceparent", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
        [("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01")],
        [("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01")],
        [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")],
        [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz")],
        [("traceparent", "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01")],
    ] as [[(String, String)]])
    func anythingElseStartsANewTrace(_ headers: [(String, String)]) {
        #expect(IncomingTraceContext(Self.fields(headers)) == nil)
    }

    @Test(arguments: [
        (parent, "rojo=1", true, "rojo=1"),
        (parent, nil, true, nil),
        (parent, "v=" + String(repeating: "a", count: 510), true, "v=" + String(repeating: "a", count: 510)),
        (parent, "v=" + String(repeating: "a", count: 511), true, nil),
        (parent, "line\nbreak=1", true, nil),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", nil, false, nil),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", nil, false, nil),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", nil, false, nil),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", nil, false, nil),
    ] as [(String, String?, Bool, String?)])
    func theQueueStoresOnlyWhatItsColumnsAccept(parent: String, state: String?, stored: Bool, storedState: String?) throws {
        let context = QueuedTraceContext(traceParent: parent, traceState: state)
        #expect((context != nil) == stored)
        if let context {
            #expect(context.traceParent == parent)
            #expect(context.traceState == storedState)
            #expect(context.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(context.spanID == "00f067aa0ba902b7")
        }
    }
}
