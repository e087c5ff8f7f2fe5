import Foundation

/// Where a newest-first page ends: the row's creation time in microseconds since the epoch
/// (exact: PostgreSQL keeps microseconds, which a `Date` would round) and its id.
public struct PageKey: Sendable, Hashable {
    public let micros: Int64
    public let id: UUID

    public init(micros: Int64, id: UUID) {
        self.micros = micros
        self.id = id
    }
}

extension PageKey {
    /// SQL for a row's key: `created_at` as exact microseconds.
    static let microsColumn = "(extract(epoch FROM created_at) * 1000000)::bigint"
}
