/// The W3C trace context (`traceparent`, `tracestate`) of the request that asked for a
/// verification, kept with the job (`credentials.trace_parent`, `trace_state`, migration 0018)
/// so that the worker's verification span can link to that request's span. A link, not a
/// parent: the job may run much later, in a batch with thousands of others, so the
/// verification is a trace of its own that points back at the request.
///
/// Only the API's tracing middleware sets `current`, and only when tracing is on; the
/// statements that ask for a verification (the upload's INSERT, `VerificationRequests.requeue`)
/// write it, so with tracing off the columns stay NULL and nothing else changes. A value is
/// stored only in the shape the columns' checks accept: the parsing here is the same rule.
public struct QueuedTraceContext: Sendable, Equatable, CustomStringConvertible {
    /// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`, lower case.
    public let traceParent: String
    /// Vendors' entries, at most `maxTraceStateBytes` of printable ASCII; nil when there were
    /// none or they broke that bound (W3C allows dropping `tracestate`, never `traceparent`).
    public let traceState: String?

    /// W3C Trace Context: a vendor must propagate at least 512 characters; nothing longer is kept.
    public static let maxTraceStateBytes = 512

    /// The context of the request being served, when tracing is on.
    @TaskLocal public static var current: QueuedTraceContext?

    /// Nil when `traceParent` is not a version 00 `traceparent` with non-zero ids.
    public init?(traceParent: String, traceState: String?) {
        guard Self.isTraceParent(traceParent) else { return nil }
        self.traceParent = traceParent
        if let traceState, !traceState.isEmpty, traceState.utf8.count <= Self.maxTraceStateBytes,
           traceState.utf8.allSatisfy({ (0x20...0x7E).contains($0) })
        {
            self.traceState = traceState
        } else {
            self.traceState = nil
        }
    }

    /// The trace id (32 hex digits).
    public var traceID: Substring { traceParent.dropFirst(3).prefix(32) }
    /// The span id of the span the context names (16 hex digits).
    public var spanID: Substring { traceParent.dropFirst(36).prefix(16) }

    public var description: String { traceParent }

    static func isTraceParent(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 55, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "0"),
              bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-")
        else { return false }
        func isLowerHex(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
        }
        let traceID = bytes[3..<35], spanID = bytes[36..<52], flags = bytes[53..<55]
        return traceID.allSatisfy(isLowerHex) && spanID.allSatisfy(isLowerHex) && flags.allSatisfy(isLowerHex)
            && traceID.contains { $0 != UInt8(ascii: "0") } && spanID.contains { $0 != UInt8(ascii: "0") }
    }
}
