import Foundation
import Hummingbird
import HTTPTypes
import OpenAPIRuntime
import ProvisionerDomain
import ProvisionerStore

/// The support desk's pages: the tenants with their counts, filters and
/// pages, creating a tenant, the audit feed and the setup sheet. A `support` session sees the
/// forms; a `dashboard` session the same pages without any form that changes something; a
/// tenant admin's link session never reaches them (404). Reads and forms go through the API's
/// own handlers with a `Caller` made from the session, as the tenant's page does.
extension Console {
    /// The session when it is the support desk's (support or dashboard), else the answer to
    /// give: the sign-in for no session, the 404 page for a tenant admin's link session.
    func deskSession(_ request: Request, language: Language) async throws -> Result<Session, DeskRefusal> {
        guard let session = try await currentSession(request) else { return .failure(DeskRefusal(response: Self.redirect("/console/login"))) }
        guard session.token.role == .support || session.token.role == .dashboard else {
            return .failure(DeskRefusal(response: pageNotFound(language, csrf: session.csrf)))
        }
        return .success(session)
    }

    struct DeskRefusal: Error {
        let response: Response
    }

    func pageNotFound(_ language: Language, csrf: String?) -> Response {
        renderer.message(
            status: .notFound, language: language,
            heading: .init(ja: "このページは見つかりません", en: "There is no such page"),
            paragraphs: [.init(ja: "URL をご確認ください。", en: "Check the address.")], csrf: csrf
        )
    }

    /// Runs `body` as the session's caller for `operationID` (as the API's middleware would).
    func asCaller<T: Sendable>(_ session: Session, _ operationID: String, _ body: @Sendable () async throws -> T) async throws -> T {
        guard let caller = caller(session, operationID: operationID) else { throw Problem(.forbidden, code: .forbidden, detail: "This role may not do this.") }
        return try await Caller.$current.withValue(caller) { try await body() }
    }

    static func query(_ request: Request, _ name: String) -> String? {
        guard let value = request.uri.queryParameters[name[...]].map(String.init), !value.isEmpty else { return nil }
        return value
    }

    // MARK: - /console

    struct HomeForm {
        var slug = ""
        var displayName = ""
        var slugError: String?
        var displayNameError: String?
        var formError: String?
    }

    func home(_ request: Request) async throws -> Response {
        let language = language(request)
        let session: Session
        switch try await deskSession(request, language: language) {
        case .failure(let refusal): return refusal.response
        case .success(let found): session = found
        }
        let flash = Self.query(request, "created").flatMap { RequestValidation.looksLikeSlug($0) ? $0 : nil }
        return try await renderHome(
            session: session, language: language, state: Self.query(request, "state"), q: Self.query(request, "q"),
            cursor: Self.query(request, "cursor"), form: HomeForm(), flash: flash, status: .ok
        )
    }

    func renderHome(
        session: Session, language: Language, state: String?, q: String?, cursor: String?, form: HomeForm, flash: String?, status: HTTPResponse.Status
    ) async throws -> Response {
        let chosen = state.flatMap { Components.Schemas.TenantState(rawValue: $0) }
        var values: [String: Any] = [
            "actorName": session.token.name, "actorRole": session.token.role.rawValue, "csrf": session.csrf,
            "canCreate": caller(session, operationID: Operations.CreateTenant.id) != nil,
            "q": q ?? "", "form": ["slug": form.slug, "displayName": form.displayName] as [String: Any],
        ]
        if let error = form.slugError { values["slugError"] = error }
        if let error = form.displayNameError { values["displayNameError"] = error }
        if let error = form.formError { values["createError"] = error }
        if let flash { values["createdSlug"] = flash }
        // The counts by state of getDashboardSummary, without its credential figures.
        let byState = try await asCaller(session, Operations.GetDashboardSummary.id) { try await api.dashboard.tenantCounts() }
        var counts: [[String: Any]] = [[
            "href": Self.homeHref(state: nil, q: q, cursor: nil), "label": ConsoleTexts.text("allStates", language),
            "count": byState.values.reduce(0, +), "current": chosen == nil,
        ]]
        for tenantState in TenantState.allCases {
            counts.append([
                "href": Self.homeHref(state: tenantState.rawValue, q: q, cursor: nil),
                "label": ConsoleTexts.tenantStates[tenantState.rawValue]?.text(in: language) ?? tenantState.rawValue,
                "state": tenantState.rawValue, "count": byState[tenantState] ?? 0, "current": chosen?.rawValue == tenantState.rawValue,
            ])
        }
        values["counts"] = counts
        values["states"] = TenantState.allCases.map { tenantState -> [String: Any] in
            [
                "value": tenantState.rawValue, "selected": chosen?.rawValue == tenantState.rawValue,
                "label": ConsoleTexts.tenantStates[tenantState.rawValue]?.text(in: language) ?? tenantState.rawValue,
            ]
        }
        values["noStateSelected"] = chosen == nil
        // The page: the API's listTenants (its validation, keyset cursor and limit).
        do {
            let output = try await asCaller(session, Operations.ListTenants.id) {
                try await api.listTenants(.init(query: .init(state: chosen, q: q, limit: 50, cursor: cursor)))
            }
            let page = try output.ok.body.json
            values["tenants"] = page.items.map { tenant -> [String: Any] in
                [
                    "slug": tenant.slug, "displayName": tenant.displayName, "state": tenant.state.rawValue,
                    "stateText": ConsoleTexts.tenantStates[tenant.state.rawValue]?.text(in: language) ?? tenant.state.rawValue,
                    "updatedAt": Self.displayTime(tenant.updatedAt),
                ]
            }
            values["hasTenants"] = !page.items.isEmpty
            if let next = page.nextCursor { values["nextHref"] = Self.homeHref(state: chosen?.rawValue, q: q, cursor: next) }
            if cursor != nil { values["firstHref"] = Self.homeHref(state: chosen?.rawValue, q: q, cursor: nil) }
        } catch {
            let problem = Problem.from(error)
            guard problem.status.kind == .clientError else { throw error }
            values["searchError"] = Self.formMessage(problem, language: language)
            values["tenants"] = [[String: Any]]()
        }
        return renderer.page(
            "home", ["tenantsView": values],
            frame: .init(language: language, title: ConsoleTexts.text("homeTitle", language), path: "/console", csrf: session.csrf), status: status
        )
    }

    static func homeHref(state: String?, q: String?, cursor: String?) -> String {
        var parts: [String] = []
        if let state { parts.append("state=\(ConsoleAssets.queryEncoded(state))") }
        if let q, !q.isEmpty { parts.append("q=\(queryComponent(q))") }
        if let cursor { parts.append("cursor=\(queryComponent(cursor))") }
        return parts.isEmpty ? "/console" : "/console?" + parts.joined(separator: "&")
    }

    static func queryComponent(_ value: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        allowed.remove(charactersIn: "")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// `POST /console/tenants` (`slug`, `display_name`): the API's createTenant, then 303 to
    /// the new tenant's page; a problem shows next to its field on the tenants' page.
    func createTenant(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let language = language(request)
        let session: Session
        switch try await deskSession(request, language: language) {
        case .failure(let refusal): return refusal.response
        case .success(let found): session = found
        }
        guard let rule = AccessPolicy.rules[Operations.CreateTenant.id] else { throw Problem.internalError() }
        let form = try? ConsoleForm(contentType: request.headers[.contentType], body: try await Self.body(request, limit: 8 * 1024))
        if let refused = await refusal(request, form: form, session: session, action: rule.action, tenantSlug: nil, language: language) {
            return refused
        }
        guard let caller = caller(session, operationID: Operations.CreateTenant.id) else {
            return await refusedPage(language, session: session, action: rule.action, tenantSlug: nil, result: "forbidden")
        }
        let slug = (form?["slug"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let displayName = form?["display_name"] ?? ""
        do {
            _ = try await Caller.$current.withValue(caller) {
                try await api.createTenant(.init(headers: .init(), body: .json(.init(slug: slug, displayName: displayName))))
            }
            return Self.redirect("/console/tenants/\(slug)")
        } catch {
            let problem = Problem.from(error)
            guard problem.status.kind == .clientError else { throw error }
            try? await audit.recordDenial(caller.audit(tenantSlug: RequestValidation.looksLikeSlug(slug) ? slug : nil, result: problem.code.rawValue))
            var state = HomeForm(slug: slug, displayName: displayName)
            let message = Self.formMessage(problem, language: language)
            if problem.errors.contains(where: { $0.field == "display_name" }) {
                state.displayNameError = message
            } else {
                state.slugError = message
            }
            return try await renderHome(session: session, language: language, state: nil, q: nil, cursor: nil, form: state, flash: nil, status: problem.status)
        }
    }

    // MARK: - /console/audit

    func auditPage(_ request: Request) async throws -> Response {
        let language = language(request)
        let session: Session
        switch try await deskSession(request, language: language) {
        case .failure(let refusal): return refusal.response
        case .success(let found): session = found
        }
        let tenant = Self.query(request, "tenant"), action = Self.query(request, "action"), cursor = Self.query(request, "cursor")
        // Not "tenant" and "action": a row without a tenant would find the filter's value in
        // this outer context (mustache looks outwards) and render an empty link.
        var values: [String: Any] = ["filterTenant": tenant ?? "", "filterAction": action ?? ""]
        var status = HTTPResponse.Status.ok
        do {
            let output = try await asCaller(session, Operations.ListAuditEvents.id) {
                try await api.listAuditEvents(.init(query: .init(tenant: tenant, action: action, limit: 50, cursor: cursor)))
            }
            let page = try output.ok.body.json
            values["events"] = page.items.map { event -> [String: Any] in
                // Only the keys that have a value: an empty string or nil is a section to mustache.
                var row: [String: Any] = [
                    "id": event.id, "at": Self.displayTime(event.at), "actorName": event.actor.name ?? "", "actorRole": event.actor.role ?? "",
                    "action": event.action, "target": event.target ?? "", "result": event.result, "failed": event.result != "success",
                ]
                if let tenant = event.tenant { row["tenant"] = tenant }
                if event.count > 1 { row["count"] = String(event.count) }
                return row
            }
            values["hasEvents"] = !page.items.isEmpty
            if let next = page.nextCursor { values["nextHref"] = Self.auditHref(tenant: tenant, action: action, cursor: next) }
            if cursor != nil { values["firstHref"] = Self.auditHref(tenant: tenant, action: action, cursor: nil) }
        } catch {
            let problem = Problem.from(error)
            guard problem.status.kind == .clientError else { throw error }
            status = problem.status
            let message = Self.formMessage(problem, language: language)
            switch problem.errors.first?.field {
            case "tenant": values["tenantError"] = message
            case "action": values["actionError"] = message
            default: values["cursorError"] = message
            }
        }
        return renderer.page(
            "home", ["auditView": values],
            frame: .init(language: language, title: ConsoleTexts.text("auditTitle", language), path: "/console/audit", csrf: session.csrf), status: status
        )
    }

    static func auditHref(tenant: String?, action: String?, cursor: String?) -> String {
        var parts: [String] = []
        if let tenant { parts.append("tenant=\(queryComponent(tenant))") }
        if let action { parts.append("action=\(queryComponent(action))") }
        if let cursor { parts.append("cursor=\(queryComponent(cursor))") }
        return parts.isEmpty ? "/console/audit" : "/console/audit?" + parts.joined(separator: "&")
    }

    // MARK: - /console/tenants/{slug}/setup-sheet

    func setupSheetPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let language = language(request)
        let session: Session
        switch try await deskSession(request, language: language) {
        case .failure(let refusal): return refusal.response
        case .success(let found): session = found
        }
        let slug = context.parameters.get("slug") ?? ""
        guard RequestValidation.looksLikeSlug(slug) else { return notFoundPage(language, csrf: session.csrf) }
        let text: String
        do {
            let output = try await asCaller(session, Operations.GetSetupSheet.id) {
                try await api.getSetupSheet(.init(path: .init(slug: slug), headers: .init(acceptLanguage: language.rawValue)))
            }
            text = try await String(collecting: try output.ok.body.textMarkdownCharsetUtf8, upTo: 1 << 20)
        } catch {
            let problem = Problem.from(error)
            guard problem.status.kind == .clientError else { throw error }
            if problem.code == .tenantNotFound { return notFoundPage(language, csrf: session.csrf) }
            return renderer.message(
                status: problem.status, language: language,
                heading: .init(ja: "設定シートはまだありません", en: "There is no setup sheet yet"),
                paragraphs: [.init(ja: Self.formMessage(problem, language: .ja), en: problem.detail)],
                link: ("/console/tenants/\(slug)", .init(ja: "テナントのページへ", en: "Back to the tenant")), csrf: session.csrf
            )
        }
        let values: [String: Any] = ["slug": slug, "text": text]
        return renderer.page(
            "home", ["sheetView": values],
            frame: .init(language: language, title: ConsoleTexts.text("setupSheet", language), path: "/console/tenants/\(slug)/setup-sheet", csrf: session.csrf)
        )
    }

    // MARK: - The tenant page's forms of the support desk

    func issueURISet(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await tenantForm(request, context, operationID: Operations.IssueURISet.id, limit: 8 * 1024) { _, slug, form in
            let domain = (form["custom_domain"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try await api.issueURISet(.init(path: .init(slug: slug), body: .json(.init(customDomain: domain.isEmpty ? nil : domain))))
            return .redirect("issued")
        }
    }

    func createLink(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await tenantForm(request, context, operationID: Operations.CreateOnboardingLink.id, limit: 8 * 1024) { _, slug, form in
            let raw = (form["expires_in_hours"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            var hours: Int?
            if !raw.isEmpty {
                guard let parsed = Int(raw) else { throw Problem.invalid("expires_in_hours", "expires_in_hours must be from 1 to 168 (it was \(raw)).") }
                hours = parsed
            }
            let output = try await api.createOnboardingLink(.init(path: .init(slug: slug), body: .json(.init(expiresInHours: hours))))
            let created = try output.created.body.json
            return .newLink(url: created.url, expiresAt: created.expiresAt)
        }
    }

    func revokeLink(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        return try await tenantForm(request, context, operationID: Operations.RevokeOnboardingLink.id, limit: 8 * 1024) { _, slug, _ in
            _ = try await api.revokeOnboardingLink(.init(path: .init(slug: slug, linkId: id)))
            return .redirect("revoked")
        }
    }

    func suspension(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await tenantForm(request, context, operationID: Operations.UpdateTenant.id, limit: 8 * 1024) { _, slug, form in
            let suspend = ["true", "on", "1"].contains(form["suspended"] ?? "")
            _ = try await api.updateTenant(.init(path: .init(slug: slug), body: .json(.init(suspended: suspend))))
            return .redirect(suspend ? "suspendedDone" : "resumed")
        }
    }

    // MARK: - What the tenant's page shows the support desk

    func deskValues(tenant: TenantRecord, caller: Caller, session: Session, language: Language, problems: FormProblems) async throws -> [String: Any] {
        let canAdmin = self.caller(session, operationID: Operations.IssueURISet.id) != nil
        var values: [String: Any] = [
            "canAdmin": canAdmin, "suspended": tenant.suspended, "csrf": session.csrf,
            "setupSheetHref": "/console/tenants/\(tenant.slug)/setup-sheet",
        ]
        if let error = problems.customDomain { values["customDomainError"] = error }
        if let error = problems.link { values["linkError"] = error }
        if let error = problems.suspension { values["suspensionError"] = error }
        if let created = problems.newLink {
            values["newLink"] = ["url": created.url, "expiresAt": Self.displayTime(created.expiresAt)] as [String: Any]
        }
        let history = try await api.uriSets.list(tenantID: tenant.id, scope: caller.scope, limit: 20, beforeVersion: nil)
        values["uriSets"] = history.map { set -> [String: Any] in
            [
                "version": set.version, "host": set.host, "issuedAt": Self.displayTime(set.issuedAt),
                "issuedBy": set.issuedBy, "current": set.supersededAt == nil,
                "supersededAt": set.supersededAt.map(Self.displayTime) ?? "-",
            ]
        }
        values["hasURISets"] = !history.isEmpty
        let uploads = try await api.credentials.list(tenantID: tenant.id, scope: caller.scope, limit: 50, after: nil)
        values["uploads"] = uploads.map { upload -> [String: Any] in
            [
                "id": upload.id.uuidString.lowercased(), "state": upload.state.rawValue,
                "stateText": ConsoleTexts.credentialStates[upload.state.rawValue]?.text(in: language) ?? "",
                "uploadedAt": Self.displayTime(upload.uploadedAt), "uploadedBy": upload.uploadedBy, "clientID": upload.clientID ?? false,
                "hasFindings": !upload.findings.isEmpty,
                "findings": upload.findings.map { finding -> [String: Any] in
                    [
                        "code": finding.code.rawValue, "severity": finding.severity == .error ? "error" : "warning",
                        "severityText": ConsoleTexts.text(finding.severity == .error ? "error" : "warning", language),
                        "message": finding.message(in: language),
                    ]
                },
            ]
        }
        values["hasUploads"] = !uploads.isEmpty
        // The links: support only (the API lists them to support only).
        if self.caller(session, operationID: Operations.ListOnboardingLinks.id) != nil {
            let now = Date()
            let links = try await api.onboardingLinks.list(tenantID: tenant.id, scope: caller.scope, limit: 50, after: nil)
            values["links"] = links.map { link -> [String: Any] in
                let state = link.revokedAt != nil ? "revoked" : link.expiresAt <= now ? "expired" : "active"
                return [
                    "id": link.id.uuidString.lowercased(), "createdAt": Self.displayTime(link.createdAt),
                    "expiresAt": Self.displayTime(link.expiresAt), "useCount": link.useCount,
                    "lastUsedAt": link.lastUsedAt.map(Self.displayTime) ?? "-", "state": state,
                    "stateText": ConsoleTexts.text("link_\(state)", language), "revocable": state == "active",
                ]
            }
            values["hasLinks"] = !links.isEmpty
            values["showLinks"] = true
        }
        return values
    }
}
