import Foundation
import Hummingbird
import HTTPTypes
import OpenAPIRuntime
import ProvisionerDomain
import ProvisionerStore

/// The tenant's page (`/console/tenants/{slug}`) and its forms.
extension Console {
    /// Problems to show next to a form's fields, by form.
    struct FormProblems {
        var upload: String?
        var secret: String?
        var settings: String?
        var customDomain: String?
        var link: String?
        var suspension: String?
        /// A link just created: its URL is shown this once.
        var newLink: (url: String, expiresAt: Date)?
    }

    /// What a form did: back to the page (`done` names the notice), or the page at once with
    /// what is shown only once (a new onboarding link's URL).
    enum FormOutcome: Sendable {
        case redirect(String)
        case newLink(url: String, expiresAt: Date)
    }

    /// Where the page scrolls after a form, by its `done`.
    static let doneAnchors: [String: String] = [
        "uploaded": "latest-upload", "verifying": "latest-upload", "saved": "settings", "issued": "uri-sets",
        "revoked": "onboarding-links", "suspendedDone": "suspension", "resumed": "suspension",
    ]

    /// The caller a session is for `operationID`: nil when its role may not call it. A link's
    /// session is its tenant's admin; another tenant answers 404 as in the API.
    func caller(_ session: Session, operationID: String) -> Caller? {
        guard let rule = AccessPolicy.rules[operationID], rule.roles.contains(session.token.role) else { return nil }
        return Caller(token: session.token, rule: rule)
    }

    func notFoundPage(_ language: Language, csrf: String?) -> Response {
        renderer.message(
            status: .notFound, language: language,
            heading: .init(ja: "このテナントは見つかりません", en: "There is no such tenant"),
            paragraphs: [.init(ja: "URL をご確認ください。", en: "Check the address.")], csrf: csrf
        )
    }

    func tenantPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let language = language(request)
        let slug = context.parameters.get("slug") ?? ""
        guard let session = try await currentSession(request) else {
            // An onboarding link clicked in a mail client or webmail: the browser keeps the
            // session cookie /connect set, but sends no SameSite=Strict cookie with the redirect
            // of a navigation another site began. Going on from a page of our own is same-site.
            if request.headers[.secFetchSite]?.lowercased() == "cross-site", RequestValidation.looksLikeSlug(slug) {
                return continuePage(language, path: "/console/tenants/\(slug)")
            }
            return signedOutPage(language)
        }
        let flash = request.uri.queryParameters["done"].flatMap { key -> String? in
            Self.doneAnchors[String(key)] != nil ? ConsoleTexts.text(String(key), language) : nil
        }
        return try await renderTenant(slug: slug, session: session, language: language, flash: flash, problems: FormProblems(), status: .ok)
    }

    func renderTenant(
        slug: String, session: Session, language: Language, flash: String?, problems: FormProblems, status: HTTPResponse.Status
    ) async throws -> Response {
        guard let caller = caller(session, operationID: Operations.GetTenant.id),
              RequestValidation.looksLikeSlug(slug),
              session.token.role != .tenantAdmin || session.token.tenantSlug == slug,
              let tenant = try await api.tenants.get(slug: slug, scope: caller.scope)
        else { return notFoundPage(language, csrf: session.csrf) }
        let uriSet = try await api.uriSets.current(tenantID: tenant.id, scope: caller.scope)
        let newest = try await api.credentials.list(tenantID: tenant.id, scope: caller.scope, limit: 1, after: nil).first
        let mayChange = AccessPolicy.rules[Operations.UploadCredential.id]?.roles.contains(session.token.role) == true
        let canChange = mayChange && (!tenant.suspended || session.token.role == .support)
        var values: [String: Any] = [
            "tenant": ["slug": tenant.slug, "displayName": tenant.displayName],
            "suspended": tenant.suspended,
            "csrf": session.csrf,
            "canChange": canChange,
            "syncEnabled": tenant.calendarSyncEnabled,
            "syncAllowed": tenant.activeCredentialID != nil && canChange,
            "colors": ConsoleTexts.eventColors.map { color -> [String: Any] in
                ["id": color.id, "ja": color.ja, "en": color.en, "selected": color.id == tenant.calendarDefaultEventColor]
            },
        ]
        if let flash { values["flash"] = flash }
        if let upload = problems.upload { values["uploadError"] = upload }
        if let secret = problems.secret { values["secretError"] = secret }
        if let settings = problems.settings { values["settingsError"] = settings }
        if let uriSet {
            values["uriSet"] = ["origins": uriSet.javascriptOrigins, "redirects": uriSet.redirectURIs, "version": uriSet.version] as [String: Any]
        }
        if let newest {
            let state = newest.state.rawValue
            values["polling"] = newest.state == .pending || newest.state == .verifying
            values["credential"] = [
                "id": newest.id.uuidString.lowercased(),
                "state": state,
                "stateText": ConsoleTexts.credentialStates[state]?.text(in: language) ?? "",
                "uploadedAt": Self.displayTime(newest.uploadedAt),
                "clientID": newest.clientID as Any,
                "secretHint": newest.clientSecretHint as Any,
                "hasFindings": !newest.findings.isEmpty,
                "canVerify": newest.state != .pending && newest.state != .verifying,
                "findings": newest.findings.map { finding -> [String: Any] in
                    [
                        "code": finding.code.rawValue,
                        "severity": finding.severity == .error ? "error" : "warning",
                        "severityText": ConsoleTexts.text(finding.severity == .error ? "error" : "warning", language),
                        "message": finding.message(in: language),
                        "field": finding.field as Any,
                        "value": finding.value as Any,
                        "expected": finding.expected as Any,
                        "showCompare": finding.value != nil || finding.expected != nil,
                        "hintText": finding.hint.flatMap { ConsoleTexts.nearMisses[$0]?.text(in: language) } as Any,
                    ]
                },
            ] as [String: Any]
        }
        if tenant.activeCredentialID != nil, let active = try await api.credentials.active(tenantID: tenant.id, scope: caller.scope) {
            values["health"] = Self.healthValues(active.health, language: language)
        }
        if session.token.role != .tenantAdmin {
            values["desk"] = try await deskValues(tenant: tenant, caller: caller, session: session, language: language, problems: problems)
        }
        return renderer.page(
            "tenant", values,
            frame: .init(language: language, title: tenant.displayName, path: "/console/tenants/\(tenant.slug)", csrf: session.csrf),
            status: status
        )
    }

    /// The active credential's health as the page shows it: the state's title and what to do
    /// in the page's language, and each redirect URI's state when not all is well.
    static func healthValues(_ health: CredentialHealth, language: Language) -> [String: Any] {
        var values: [String: Any] = [
            "state": health.state.rawValue,
            "title": health.title.text(in: language),
            "action": health.action.text(in: language),
            "showURIs": health.state != .ok && health.state != .unchecked && !health.uris.isEmpty,
            "uris": health.uris.map { uri -> [String: Any] in
                ["uri": uri.uri, "state": uri.state.rawValue, "stateTitle": HealthMessages.title(uri.state).text(in: language)]
            },
        ]
        if let checkedAt = health.checkedAt { values["checkedAt"] = displayTime(checkedAt) }
        return values
    }

    static func displayTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Tokyo")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'JST'"
        return formatter.string(from: date)
    }

    /// The newest upload's state, for the page's script (`console.js`) to poll until the verdict.
    func credentialState(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let slug = context.parameters.get("slug") ?? ""
        guard let session = try await currentSession(request) else { return Self.json(.unauthorized, ["state": NSNull()]) }
        guard let caller = caller(session, operationID: Operations.ListCredentials.id), RequestValidation.looksLikeSlug(slug),
              session.token.role != .tenantAdmin || session.token.tenantSlug == slug,
              let tenant = try await api.tenants.get(slug: slug, scope: caller.scope)
        else { return Self.json(.notFound, ["state": NSNull()]) }
        let newest = try await api.credentials.list(tenantID: tenant.id, scope: caller.scope, limit: 1, after: nil).first
        return Self.json(.ok, ["state": newest?.state.rawValue ?? NSNull(), "id": newest?.id.uuidString.lowercased() ?? NSNull()])
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    // MARK: - Forms

    /// What every form of the tenant's page does first: a live session (else the signed-out
    /// page), the body within `limit`, then the checks against other sites and the CSRF token,
    /// then the role's right to the operation and the tenant. `body` runs with the caller as the
    /// API's handlers see it; a problem it throws is audited as a refused attempt (as the API's
    /// middleware does) and shown next to the form's field on the page again.
    func tenantForm(
        _ request: Request, _ context: AppRequestContext, operationID: String, limit: Int,
        body: @Sendable (Caller, String, ConsoleForm) async throws -> FormOutcome
    ) async throws -> Response {
        let language = language(request)
        guard let session = try await currentSession(request) else { return signedOutPage(language) }
        let slug = context.parameters.get("slug") ?? ""
        guard let rule = AccessPolicy.rules[operationID] else { throw Problem.internalError() }
        let bytes: [UInt8]
        do {
            bytes = try await Self.body(request, limit: limit)
        } catch {
            var problems = FormProblems()
            let tooLarge = language == .ja ? "ファイルが大きすぎます(64 KiB まで)。" : "The file is too large (64 KiB at most)."
            if operationID == Operations.UploadCredential.id { problems.upload = tooLarge } else { Self.place(tooLarge, operationID: operationID, in: &problems) }
            return try await renderTenant(slug: slug, session: session, language: language, flash: nil, problems: problems, status: .contentTooLarge)
        }
        let form = try? ConsoleForm(contentType: request.headers[.contentType], body: bytes)
        if let refused = await refusal(request, form: form, session: session, action: rule.action, tenantSlug: slug, language: language) {
            return refused
        }
        guard let form else {
            return try await renderTenant(slug: slug, session: session, language: language, flash: nil, problems: FormProblems(), status: .badRequest)
        }
        guard let caller = caller(session, operationID: operationID) else {
            // The support desk's forms are not there for a tenant admin's link session.
            if session.token.role == .tenantAdmin {
                try? await audit.recordDenial(Caller.audit(
                    token: session.token, action: rule.action, tenantID: session.token.tenantID, tenantSlug: slug, result: "forbidden"
                ))
                return pageNotFound(language, csrf: session.csrf)
            }
            return await refusedPage(language, session: session, action: rule.action, tenantSlug: slug, result: "forbidden")
        }
        if session.token.role == .tenantAdmin, session.token.tenantSlug != slug {
            try? await audit.recordDenial(caller.audit(tenantSlug: slug, result: "tenant_not_found"))
            return notFoundPage(language, csrf: session.csrf)
        }
        do {
            switch try await Caller.$current.withValue(caller, operation: { try await body(caller, slug, form) }) {
            case .redirect(let done):
                return Self.redirect("/console/tenants/\(slug)?done=\(done)#\(Self.doneAnchors[done] ?? "main")")
            case .newLink(let url, let expiresAt):
                var problems = FormProblems()
                problems.newLink = (url, expiresAt)
                return try await renderTenant(slug: slug, session: session, language: language, flash: nil, problems: problems, status: .ok)
            }
        } catch {
            let problem = Problem.from(error)
            guard problem.status.kind == .clientError else { throw error }
            // A rate limit's 429 is counted in a metric, not audited (as in the bearer API).
            if rule.mutates || problem.status == .notFound, problem.code != .rateLimited {
                try? await audit.recordDenial(caller.audit(tenantSlug: slug, result: problem.code.rawValue))
            }
            if problem.code == .tenantNotFound { return notFoundPage(language, csrf: session.csrf) }
            var problems = FormProblems()
            let message = Self.formMessage(problem, language: language)
            switch operationID {
            case Operations.UploadCredential.id:
                if problem.errors.contains(where: { $0.field == "client_secret" }) { problems.secret = message } else { problems.upload = message }
            default:
                Self.place(message, operationID: operationID, in: &problems)
            }
            if operationID == Operations.ReverifyCredential.id { problems = FormProblems(upload: message) }
            return try await renderTenant(slug: slug, session: session, language: language, flash: nil, problems: problems, status: problem.status)
        }
    }

    /// A form's problem goes next to its form's field.
    static func place(_ message: String, operationID: String, in problems: inout FormProblems) {
        switch operationID {
        case Operations.IssueURISet.id: problems.customDomain = message
        case Operations.CreateOnboardingLink.id, Operations.RevokeOnboardingLink.id: problems.link = message
        case Operations.UpdateTenant.id: problems.suspension = message
        default: problems.settings = message
        }
    }

    /// What a person reads for a problem of the API (whose `detail` is English).
    static func formMessage(_ problem: Problem, language: Language) -> String {
        guard language == .ja else { return problem.detail }
        switch problem.code {
        case .invalidJSON: return "JSON ファイルとして読み取れません。Google Cloud コンソールからダウンロードしたファイルをそのまま選んでください。(\(problem.detail))"
        case .payloadTooLarge: return "ファイルが大きすぎます(64 KiB まで)。"
        case .tenantSuspended: return "このテナントは一時停止中のため、変更できません。"
        case .noActiveCredential: return "検証済みの client_secrets.json がないため、連携をオンにできません。"
        case .clientSecretConflict: return "ファイルに含まれるシークレットと、入力したシークレットが異なります。"
        case .clientSecretInvalid: return "クライアント シークレットには、空白を含まない半角英数字・記号のみ入力できます。"
        case .credentialNotFound: return "このアップロードは見つかりません。"
        case .invalidRequest: return "入力内容をご確認ください。(\(problem.detail))"
        case .uriRuleViolation: return "このドメインは発行の規則に反しています。(\(problem.errors.first?.message ?? problem.detail))"
        case .customDomainInUse: return "このドメインは別のテナントの URI セットで使われています。"
        case .tenantExists: return "このスラッグのテナントはすでにあります。"
        case .slugReserved: return "このスラッグは予約されているため使えません。(\(problem.detail))"
        case .onboardingLinkNotFound: return "このリンクは見つかりません。"
        case .rateLimited: return "短い時間に続けて送られたため、受け付けませんでした(何も保存していません)。\(problem.headers[.retryAfter] ?? "60") 秒後にもう一度お試しください。"
        default: return problem.detail
        }
    }

    func upload(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await tenantForm(
            request, context, operationID: Operations.UploadCredential.id,
            limit: RequestBodyLimit.fileBytes + RequestBodyLimit.multipartEnvelope
        ) { _, slug, form in
            guard let file = form.bytes("file"), !file.isEmpty else {
                throw Problem.invalid("file", "Choose the client_secrets.json downloaded from Google Cloud Console.")
            }
            var parts: [Operations.UploadCredential.Input.Body.MultipartFormPayload] = [
                .file(.init(payload: .init(body: HTTPBody(file)), filename: "client_secrets.json")),
            ]
            if let secret = form.bytes("client_secret") {
                parts.append(.clientSecret(.init(payload: .init(body: HTTPBody(secret)))))
            }
            _ = try await api.uploadCredential(.init(
                path: .init(slug: slug), headers: .init(), body: .multipartForm(MultipartBody(parts))
            ))
            return .redirect("uploaded")
        }
    }

    func verifyAgain(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        return try await tenantForm(request, context, operationID: Operations.ReverifyCredential.id, limit: 8 * 1024) { _, slug, _ in
            _ = try await api.reverifyCredential(.init(path: .init(slug: slug, credentialId: id), headers: .init()))
            return .redirect("verifying")
        }
    }

    func saveSettings(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await tenantForm(request, context, operationID: Operations.PutCalendarSettings.id, limit: 8 * 1024) { _, slug, form in
            let sync = ["true", "on", "1"].contains(form["sync_enabled"] ?? "")
            guard let color = Components.Schemas.EventColor(rawValue: form["default_event_color"] ?? "") else {
                throw Problem.invalid("default_event_color", "Pick one of the 11 colours.")
            }
            _ = try await api.putCalendarSettings(.init(path: .init(slug: slug), body: .json(.init(syncEnabled: sync, defaultEventColor: color))))
            return .redirect("saved")
        }
    }
}
