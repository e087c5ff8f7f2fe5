import ArgumentParser
import Foundation
import Logging
import ProvisionerDomain
import ProvisionerStore

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage bearer tokens.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it once, on the last line of standard output."
        )

        @Option(help: "support, tenant_admin, dashboard or runtime.")
        var role: String

        @Option(help: "The tenant's slug (tenant_admin only).")
        var tenant: String?

        @Option(help: "A name that says who or what holds the token.")
        var name: String

        func run() async throws {
            guard let parsedRole = Role(rawValue: role) else {
                throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            // The rule of POST /v1/tokens: a name the API would refuse is refused here too.
            if let violation = NameRule.violation(of: name, maxLength: 100) {
                throw ValidationError("--name \(violation.requirement)")
            }
            if parsedRole == .tenantAdmin, tenant == nil { throw ValidationError("--tenant is required for a tenant_admin token") }
            if parsedRole != .tenantAdmin, tenant != nil { throw ValidationError("--tenant goes only with --role tenant_admin") }

            let environment = try loadEnvironment(need: .database)
            _ = bootstrapObservability(environment)
            let logger = Logger(label: "provisioner.token")
            let (role, name, tenantSlug) = (parsedRole, name, tenant)
            let token = try await withApplicationDatabase(environment, logger: logger) { database in
                var boundTenant: (id: UUID, slug: String)?
                if let tenantSlug {
                    guard let tenant = try await PostgresTenantStore(database: database).get(slug: tenantSlug, scope: .allTenants) else {
                        throw CommandFailure("no tenant with slug \(tenantSlug)")
                    }
                    boundTenant = (tenant.id, tenant.slug)
                }
                let audit = AuditEntry(
                    actor: Actor(tokenID: nil, role: nil, name: "cli"),
                    tenantID: boundTenant?.id, tenantSlug: boundTenant?.slug,
                    action: "token.create", requestID: nil, sourceAddress: nil
                )
                return try await PostgresTokenStore(database: database).create(
                    NewToken(role: role, name: name, tenant: boundTenant, expiresAt: nil), createdBy: nil, audit: audit
                ).token
            }
            print(token)
        }
    }
}

/// A command's failure: one line on standard error, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
