import HTTPTypes
import OpenAPIRuntime

/// Request bodies are read with a ceiling, chunk by chunk, so an endless or huge body is
/// refused (413) without ever being held whole.
enum RequestBodyLimit {
    /// A client_secrets.json is a few hundred bytes; 64 KiB is generous.
    static let fileBytes = 64 * 1024
    /// A multipart envelope around such a file: boundaries and part headers.
    static let multipartEnvelope = 16 * 1024

    /// The most an operation's request body may hold.
    static func limit(for request: HTTPRequest) -> Int {
        let contentType = request.headerFields[.contentType]?.lowercased() ?? ""
        return contentType.hasPrefix("multipart/") ? fileBytes + multipartEnvelope : fileBytes
    }

    /// Collects `body`, or throws 413 as soon as it passes `limit`.
    static func collect(_ body: HTTPBody?, request: HTTPRequest, limit: Int? = nil) async throws -> [UInt8] {
        guard let body else { return [] }
        let limit = limit ?? self.limit(for: request)
        if let declared = request.headerFields[.contentLength].flatMap(Int.init), declared > limit {
            throw tooLarge()
        }
        var bytes: [UInt8] = []
        do {
            for try await chunk in body {
                guard bytes.count + chunk.count <= limit else { throw tooLarge() }
                bytes.append(contentsOf: chunk)
            }
        } catch let problem as Problem {
            throw problem
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The stream broke: malformed chunked framing, or the client went away mid-body.
            throw Problem(.badRequest, code: .invalidRequest, detail: "The request body could not be read whole (malformed chunked encoding, or the connection ended early).")
        }
        return bytes
    }

    /// Names the limit a person can act on: a multipart envelope is allowed a little more,
    /// but the file inside it is held to the same 64 KiB.
    static func tooLarge() -> Problem {
        Problem(
            .contentTooLarge, code: .payloadTooLarge,
            detail: "The request body is too large: a body, or an uploaded file, may hold at most \(fileBytes / 1024) KiB."
        )
    }
}
