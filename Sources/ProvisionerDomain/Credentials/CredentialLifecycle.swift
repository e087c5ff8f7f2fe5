import Foundation

/// The life of a tenant's uploads, stated once: what an upload, a re-verification, a new URI
/// set and a batch of verdicts do to the uploads' states and to the tenant's pointers.
///
/// The database applies these rules itself, set-based, where the speed is: the verdicts in
/// `complete_verifications` (migrations 0008, 0011), the tenant's state in the trigger
/// `tenants_derive_state` (0002), uploads, re-verification and issuance in `CredentialStore`
/// and `URISetStore`. This type is their specification: `CredentialLifecycleTests` states the
/// rules as tables, and `CredentialLifecycleTwinTests` drives this model and the SQL over the
/// same random batches and compares what they leave.
///
/// The rules:
/// - Uploads are ordered by `(uploadedAt, id)`; the tenant's *latest* upload is the newest in
///   that order, and the pointer only moves forward (uploads commit in any order).
/// - A `verified` verdict *wins* unless a newer upload of the tenant is already verified or is
///   verified in the same batch; a verdict that does not win ends `superseded` at once.
/// - When an upload wins, every other verified upload of its tenant (all older) is superseded.
/// - The *active* credential is the winner if it was verified against the tenant's current URI
///   set, else none; a batch without a winner leaves the active credential alone unless the
///   active one was given a verdict in it (then none).
/// - Only uploads still `verifying` at the claimed version take a verdict (the fence: a job
///   rescued or asked for again meanwhile is left alone); the first verdict for an id counts.
/// - Re-verification, a new URI set (for the tenant's newest upload), a retry after a failure
///   and an expired lease put an upload back to `pending` (see `RequeueReason`); the first two
///   also take away the active credential when it is that upload (re-verification) or in any
///   case (a new URI set: the active one was verified against the old set).
public enum CredentialLifecycle {
    /// One upload of a tenant, as far as its life goes.
    public struct Upload: Sendable, Hashable {
        public let id: UUID
        public let uploadedAt: Date
        public var state: CredentialState
        /// The URI set version of its latest verdict.
        public var uriSetVersion: Int?

        public init(id: UUID, uploadedAt: Date, state: CredentialState, uriSetVersion: Int? = nil) {
            self.id = id
            self.uploadedAt = uploadedAt
            self.state = state
            self.uriSetVersion = uriSetVersion
        }

        /// Newer in the order of every list: `(uploadedAt, id)`, ids compared as PostgreSQL does.
        public func isNewer(than other: Upload) -> Bool {
            uploadedAt != other.uploadedAt ? uploadedAt > other.uploadedAt : other.id.precedesInPostgres(id)
        }
    }

    /// A tenant and its uploads.
    public struct Tenant: Sendable, Hashable {
        public var suspended: Bool
        public var currentURISetVersion: Int?
        public var activeCredentialID: UUID?
        public var latestCredentialID: UUID?
        /// The state of the latest upload, as the tenant row keeps it.
        public var latestCredentialState: CredentialState?
        public var uploads: [UUID: Upload]

        public init(
            suspended: Bool = false, currentURISetVersion: Int? = nil, activeCredentialID: UUID? = nil,
            latestCredentialID: UUID? = nil, latestCredentialState: CredentialState? = nil, uploads: [UUID: Upload] = [:]
        ) {
            self.suspended = suspended
            self.currentURISetVersion = currentURISetVersion
            self.activeCredentialID = activeCredentialID
            self.latestCredentialID = latestCredentialID
            self.latestCredentialState = latestCredentialState
            self.uploads = uploads
        }

        /// The dashboard's state, in the order the service defines it.
        public var state: TenantState {
            if suspended { return .suspended }
            if currentURISetVersion == nil { return .awaitingURIs }
            guard let latestCredentialID else { return .awaitingUpload }
            if latestCredentialState == .pending || latestCredentialState == .verifying { return .verifying }
            return activeCredentialID == latestCredentialID ? .verified : .rejected
        }

        /// The newest upload, if any.
        public var newestUpload: Upload? {
            uploads.values.max { $1.isNewer(than: $0) }
        }
    }

    /// A verdict of the verifier for one claimed upload.
    public struct Verdict: Sendable, Hashable {
        public let credentialID: UUID
        /// `.verified` or `.rejected`.
        public let state: CredentialState
        public let uriSetVersion: Int?

        public init(credentialID: UUID, state: CredentialState, uriSetVersion: Int?) {
            self.credentialID = credentialID
            self.state = state
            self.uriSetVersion = uriSetVersion
        }
    }

    /// Why an upload goes (back) to `pending`.
    public enum RequeueReason: String, Sendable, Hashable, CaseIterable {
        /// A new upload.
        case upload
        /// Asked for again (`POST .../verify`): a new version, attempts from zero.
        case reverification
        /// A new URI set: the tenant's newest upload, a new version, attempts from zero.
        case uriSetIssued = "uri_set_issued"
        /// The job could not be run: the same version, after a backoff, the attempt counted.
        case retry
        /// Its worker's lease ran out: a new version (the lost lease is fenced), the attempt counted.
        case leaseExpired = "lease_expired"

        /// Whether the attempts start again from zero.
        public var resetsAttempts: Bool { self == .upload || self == .reverification || self == .uriSetIssued }
        /// Whether a verdict for the version claimed before is dropped.
        public var fencesEarlierClaims: Bool { self != .retry && self != .upload }
    }

    /// A new upload: `pending`, and the tenant's latest if it is the newest.
    public static func upload(_ upload: Upload, to tenant: inout Tenant) {
        var upload = upload
        upload.state = .pending
        upload.uriSetVersion = nil
        let latest = tenant.latestCredentialID.flatMap { tenant.uploads[$0] }
        tenant.uploads[upload.id] = upload
        if latest.map({ upload.isNewer(than: $0) }) ?? true {
            tenant.latestCredentialID = upload.id
            tenant.latestCredentialState = .pending
        }
    }

    /// Re-verification of one upload; false when the tenant has no such upload.
    @discardableResult
    public static func reverify(_ id: UUID, in tenant: inout Tenant) -> Bool {
        guard tenant.uploads[id] != nil else { return false }
        tenant.uploads[id]?.state = .pending
        if tenant.activeCredentialID == id { tenant.activeCredentialID = nil }
        if tenant.latestCredentialID == id { tenant.latestCredentialState = .pending }
        return true
    }

    /// A new URI set: the tenant has no active credential until its newest upload passes again.
    public static func issueURISet(version: Int, in tenant: inout Tenant) {
        tenant.currentURISetVersion = version
        tenant.activeCredentialID = nil
        if let newest = tenant.newestUpload {
            tenant.uploads[newest.id]?.state = .pending
            tenant.latestCredentialState = .pending
        }
    }

    /// Records one batch's verdicts for this tenant's uploads (verdicts for other ids, and for
    /// uploads not `verifying`, are dropped); returns how many were taken.
    @discardableResult
    public static func record(_ verdicts: [Verdict], in tenant: inout Tenant) -> Int {
        var jobs: [Upload] = []
        var verdictOf: [UUID: Verdict] = [:]
        for verdict in verdicts where verdictOf[verdict.credentialID] == nil {
            guard let upload = tenant.uploads[verdict.credentialID], upload.state == .verifying else { continue }
            verdictOf[verdict.credentialID] = verdict
            jobs.append(upload)
        }
        guard !jobs.isEmpty else { return 0 }

        let verifiedBefore = tenant.uploads.values.filter { $0.state == .verified }
        let newestVerifiedBefore = verifiedBefore.max { $1.isNewer(than: $0) }
        let passing = jobs.filter { verdictOf[$0.id]!.state == .verified }
        var winner: Upload?
        if let newestPassing = passing.max(by: { $1.isNewer(than: $0) }),
           newestVerifiedBefore.map({ newestPassing.isNewer(than: $0) }) ?? true {
            winner = newestPassing
        }

        if let winner {
            for upload in verifiedBefore where upload.id != winner.id {
                tenant.uploads[upload.id]?.state = .superseded
            }
        }
        for job in jobs {
            let verdict = verdictOf[job.id]!
            let final: CredentialState = verdict.state == .verified && job.id != winner?.id ? .superseded : verdict.state
            tenant.uploads[job.id]?.state = final
            tenant.uploads[job.id]?.uriSetVersion = verdict.uriSetVersion
            if tenant.latestCredentialID == job.id { tenant.latestCredentialState = final }
        }

        if let winner {
            let version = verdictOf[winner.id]!.uriSetVersion
            tenant.activeCredentialID = version == tenant.currentURISetVersion ? winner.id : nil
        } else if let active = tenant.activeCredentialID, verdictOf[active] != nil {
            tenant.activeCredentialID = nil
        }
        return jobs.count
    }
}

extension UUID {
    /// PostgreSQL orders uuids by their 16 bytes, as unsigned numbers; so do the worker's lock
    /// order and the lifecycle's tie-break between uploads of the same instant.
    public func precedesInPostgres(_ other: UUID) -> Bool {
        withUnsafeBytes(of: uuid) { lhs in
            withUnsafeBytes(of: other.uuid) { rhs in
                lhs.lexicographicallyPrecedes(rhs)
            }
        }
    }
}
