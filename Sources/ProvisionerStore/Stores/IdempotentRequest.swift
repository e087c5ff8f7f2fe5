import Foundation

/// The Idempotency-Key record of the request being served, set by the API's idempotency
/// middleware around the handler of a first request (or of one that took a dead first
/// request's key over).
///
/// A store whose write must happen once per key writes it with the row it makes, under a unique
/// index (`credentials.idempotency_record_id`, migration 0019): the write and the stored answer
/// are two transactions, and a process that dies between them must not make a retry write twice.
public enum IdempotentRequest {
    @TaskLocal public static var recordID: UUID?
}
