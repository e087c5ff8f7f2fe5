import PostgresNIO

/// The database could not be reached in time. Requests answer 503 with it, never hang.
public struct DatabaseUnavailable: Error, CustomStringConvertible {
    public let description = "the database does not answer"
    public init() {}

    /// For logs: the error's type and, for a database error, its code and message; never
    /// request data or bind values.
    public static func safeDescription(of error: any Error) -> String {
        if let psql = error as? PSQLError {
            return "PSQLError \(psql.code) \(psql.serverInfo?[.sqlState] ?? "") \(psql.serverInfo?[.message] ?? "")"
        }
        return String(reflecting: type(of: error))
    }

    /// Whether an error means "the database is not there right now" rather than a bug.
    public static func isUnavailability(_ error: any Error) -> Bool {
        if error is DatabaseUnavailable || error is DeadlineExceeded { return true }
        // The pool gives up connecting with its own error type, which it does not export.
        if String(reflecting: type(of: error)).contains("ConnectionPoolError") { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
             .sslUnsupported, .failedToAddSSLHandler, .queryCancelled:
            return true
        case .server:
            // Class 08: connection exceptions; 57P0x: the server is shutting down or starting;
            // 53300: too many connections.
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300"
        default:
            return false
        }
    }
}

/// The database refused a value (SQLSTATE class 22, data exception: a string it cannot hold,
/// a number out of range...). Trying the same statement again gives the same answer.
public enum DataException {
    public static func matches(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, error.code == .server else { return false }
        return error.serverInfo?[.sqlState]?.hasPrefix("22") == true
    }
}
