import Foundation
import OpenAPIRuntime
import ProvisionerDomain
import ProvisionerStore

/// `/v1/tenants/{slug}/credentials`: uploads of client_secrets.json, their verdicts, and the
/// active credential with its secret for the runtime.
extension ServiceAPI {
    func uploadCredential(_ input: Operations.UploadCredential.Input) async throws -> Operations.UploadCredential.Output {
        let caller = try Caller.required()
        let tenant = try await tenantIdentity(input.path.slug, for: caller)
        try refuseIfSuspended(tenant, for: caller)
        // Counted here, once the caller may upload to this tenant, and before anything is stored:
        // the console's form comes this way too. An idempotent replay never gets here.
        let limit = try rateLimits.admitUpload(tenantID: tenant.id, slug: tenant.slug)
        RateLimitFields.current?.record(limit)
        let upload: UploadedFile.JSONUpload
        var supplied: SuppliedClientSecret?
        switch input.body {
        case .json:
            // Read and checked by CredentialIntakeMiddleware.
            guard let checked = UploadedFile.json else { throw Problem.internalError() }
            upload = checked
        case .multipartForm(let parts):
            let form = try await Self.form(from: parts)
            upload = try UploadedFile.validate(form.file)
            if let field = form.clientSecret {
                do {
                    supplied = try SuppliedClientSecret.parse(field)
                } catch {
                    throw Problem.clientSecretInvalid(error)
                }
            }
        }
        let stored = try await storedUpload(upload, supplied: supplied, tenantID: tenant.id)
        let id = UUID()
        let sealed: SealedSecret
        do {
            sealed = try sealer.seal(stored.bytes, tenantID: tenant.id, credentialID: id)
        } catch {
            throw Problem.internalError()
        }
        let record = try await credentials.upload(
            NewCredential(
                id: id, tenantID: tenant.id, summary: stored.summary, sealedFile: sealed, uploadedBy: caller.token.actor,
                secretCarriedFrom: stored.secretCarriedFrom
            ),
            audit: caller.audit(tenantSlug: tenant.slug)
        )
        let language = Language.preferred(byAcceptLanguage: input.headers.acceptLanguage)
        return .accepted(.init(
            headers: .init(location: "/v1/tenants/\(tenant.slug)/credentials/\(record.id.uuidString.lowercased())"),
            body: .json(.init(record, language: language))
        ))
    }

    func listCredentials(_ input: Operations.ListCredentials.Input) async throws -> Operations.ListCredentials.Output {
        let caller = try Caller.required()
        let tenant = try await tenantIdentity(input.path.slug, for: caller)
        let limit = try RequestValidation.limit(input.query.limit)
        let page = try await credentials.list(tenantID: tenant.id, scope: caller.scope, limit: limit + 1, after: try PageCursor.decode(input.query.cursor))
        let items = page.prefix(limit)
        let next = page.count > limit ? items.last.map { PageCursor.encode($0.pageKey) } : nil
        let language = Language.preferred(byAcceptLanguage: input.headers.acceptLanguage)
        return .ok(.init(body: .json(.init(items: items.map { .init($0, language: language) }, nextCursor: next))))
    }

    func getCredential(_ input: Operations.GetCredential.Input) async throws -> Operations.GetCredential.Output {
        let caller = try Caller.required()
        let tenant = try await tenantIdentity(input.path.slug, for: caller)
        guard let id = UUID(uuidString: input.path.credentialId),
              let record = try await credentials.get(tenantID: tenant.id, id: id, scope: caller.scope)
        else { throw Problem.credentialNotFound(input.path.credentialId) }
        return .ok(.init(body: .json(.init(record, language: Language.preferred(byAcceptLanguage: input.headers.acceptLanguage)))))
    }

    func reverifyCredential(_ input: Operations.ReverifyCredential.Input) async throws -> Operations.ReverifyCredential.Output {
        let caller = try Caller.required()
        let tenant = try await tenantIdentity(input.path.slug, for: caller)
        try refuseIfSuspended(tenant, for: caller)
        guard let id = UUID(uuidString: input.path.credentialId),
              let record = try await credentials.reverify(tenantID: tenant.id, id: id, scope: caller.scope, audit: caller.audit(tenantSlug: tenant.slug))
        else { throw Problem.credentialNotFound(input.path.credentialId) }
        return .accepted(.init(
            headers: .init(location: "/v1/tenants/\(tenant.slug)/credentials/\(record.id.uuidString.lowercased())"),
            body: .json(.init(record, language: Language.preferred(byAcceptLanguage: input.headers.acceptLanguage)))
        ))
    }

    func getActiveCredential(_ input: Operations.GetActiveCredential.Input) async throws -> Operations.GetActiveCredential.Output {
        let caller = try Caller.required()
        let tenant = try await tenantIdentity(input.path.slug, for: caller)
        guard let record = try await credentials.active(tenantID: tenant.id, scope: caller.scope) else {
            throw Problem.noActiveCredential(tenant.slug)
        }
        return .ok(.init(body: .json(.init(record, language: Language.preferred(byAcceptLanguage: input.headers.acceptLanguage)))))
    }

    func getActiveCredentialSecret(_ input: Operations.GetActiveCredentialSecret.Input) async throws -> Operations.GetActiveCredentialSecret.Output {
        let caller = try Caller.required()
        let tenant = try await tenantIdentity(input.path.slug, for: caller)
        // Audited as a denied attempt by the middleware (every attempt at the secret is).
        try refuseIfSuspended(tenant, for: caller)
        guard let (record, sealed) = try await credentials.activeSealedFile(tenantID: tenant.id, audit: caller.audit(tenantSlug: tenant.slug)) else {
            throw Problem.noActiveCredential(tenant.slug)
        }
        let file: RuntimeCredential
        do {
            guard let opened = RuntimeCredential(fileBytes: try sealer.open(sealed, tenantID: tenant.id, credentialID: record.id)) else {
                throw Problem.internalError()
            }
            file = opened
        } catch {
            // A key removed before `keys rewrap` finished, or a row that was tampered with.
            RequestScope.now.logger.error("cannot open the active credential", metadata: [
                "credential": "\(record.id)", "key_id": "\(sealed.keyID)",
                "reason": "\((error as? SealingError)?.description ?? "the file does not parse")",
            ])
            throw Problem.internalError()
        }
        // A verified file has both endpoints (else `field_missing`).
        guard let authURI = file.authURI, let tokenURI = file.tokenURI else {
            RequestScope.now.logger.error("the active credential has no auth_uri or token_uri", metadata: ["credential": "\(record.id)"])
            throw Problem.internalError()
        }
        return .ok(.init(headers: .init(cacheControl: .noStore), body: .json(.init(
            clientId: file.clientID, clientSecret: file.clientSecret, projectId: file.projectID,
            authUri: authURI, tokenUri: tokenURI,
            redirectUris: file.redirectURIs, javascriptOrigins: file.javascriptOrigins, uriSetVersion: record.uriSetVersion ?? 0
        ))))
    }

    /// The parts of a multipart upload: `file` (required, read with the 64 KiB ceiling) and
    /// `client_secret` (optional, the secret Google showed when it was created).
    struct UploadForm {
        let file: [UInt8]
        /// The field's bytes as sent, nil when absent; checked by `SuppliedClientSecret`.
        let clientSecret: [UInt8]?
    }

    static func form(from parts: MultipartBody<Operations.UploadCredential.Input.Body.MultipartFormPayload>) async throws -> UploadForm {
        // The parts are parsed and checked while they are read: a malformed body, a missing
        // or repeated `file` part, a repeated `client_secret` or an unknown part surfaces here.
        do {
            var fileBytes: [UInt8]?
            var clientSecret: [UInt8]?
            // Every part is read, not just the first `file`: a second `file` or another part
            // is refused by the generated parser only once it is reached. The whole body is
            // already bounded by `RequestBodyMiddleware`.
            for try await part in parts {
                switch part {
                case .file(let file):
                    fileBytes = try await collect(file.payload.body, limit: RequestBodyLimit.fileBytes)
                case .clientSecret(let field):
                    // One byte over the limit is enough to refuse it as too long.
                    clientSecret = try await collect(field.payload.body, limit: ClientSecretIntake.maxSuppliedLength + 1, truncating: true)
                }
            }
            if let fileBytes { return UploadForm(file: fileBytes, clientSecret: clientSecret) }
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem.invalid(
                "file",
                "The multipart body must be well-formed and hold one part named 'file', with the client_secrets.json, and at most one named 'client_secret'."
            )
        }
        throw Problem.invalid("file", "The multipart body has no part named 'file': send the client_secrets.json as `-F file=@client_secrets.json`.")
    }

    /// The bytes of a part: over `limit`, 413, or with `truncating` the first `limit` bytes
    /// (the rest is still read, so that the parser reaches the next part).
    private static func collect(_ body: HTTPBody, limit: Int, truncating: Bool = false) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in body {
            guard bytes.count + chunk.count <= limit else {
                guard truncating else { throw RequestBodyLimit.tooLarge() }
                bytes.append(contentsOf: chunk.prefix(limit - bytes.count))
                continue
            }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }
}

extension Problem {
    static func credentialNotFound(_ id: String) -> Problem {
        Problem(.notFound, code: .credentialNotFound, detail: "This tenant has no credential \(id).")
    }

    static func noActiveCredential(_ slug: String) -> Problem {
        Problem(.notFound, code: .noActiveCredential, detail: "Tenant '\(slug)' has no verified credential for its current URI set.")
    }
}

extension Components.Schemas.Credential {
    init(_ record: CredentialRecord, language: Language) {
        self.init(
            id: record.id.uuidString.lowercased(),
            tenant: record.tenantSlug,
            state: Components.Schemas.CredentialState(rawValue: record.state.rawValue) ?? .pending,
            uploadedAt: record.uploadedAt,
            uploadedBy: record.uploadedBy,
            sha256: record.sha256,
            clientType: record.clientType?.rawValue,
            clientId: record.clientID,
            projectId: record.projectID,
            clientSecretHint: record.clientSecretHint,
            uriSetVersion: record.uriSetVersion,
            verifiedAt: record.verifiedAt,
            attempts: record.attempts,
            findings: record.findings.map { .init($0, language: language) },
            health: .init(record.health)
        )
    }
}

extension Components.Schemas.CredentialHealth {
    init(_ health: ProvisionerDomain.CredentialHealth) {
        self.init(
            state: .init(health.state),
            checkedAt: health.checkedAt,
            uris: health.uris.map { .init(uri: $0.uri, state: .init($0.state)) }
        )
    }
}

extension Components.Schemas.HealthState {
    init(_ state: ProvisionerDomain.HealthState) {
        // The spec's enum and the domain's raw values are the same names (CredentialHealthAPITests.theSpecsStatesAreTheDomains).
        self = Self(rawValue: state.rawValue) ?? .unchecked
    }
}

extension Components.Schemas.Finding {
    init(_ finding: Finding, language: Language) {
        self.init(
            code: Components.Schemas.FindingCode(rawValue: finding.code.rawValue) ?? .verificationFailed,
            severity: finding.severity == .error ? .error : .warning,
            field: finding.field,
            value: finding.value,
            expected: finding.expected,
            hint: finding.hint?.rawValue,
            message: finding.message(in: language)
        )
    }
}
