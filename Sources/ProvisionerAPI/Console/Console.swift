import Crypto
import Foundation
import Hummingbird
import HTTPTypes
import OpenAPIRuntime
import ProvisionerDomain
import ProvisionerStore

/// The web pages for people: onboarding links (`/connect/{code}`), the
/// support desk's sign-in, and the tenant's page with its forms. Pages are rendered on the
/// server; every form does what the matching API operation does by calling the same
/// `ServiceAPI` method with a `Caller` made from the session, so the same validation, store
/// code, suspension rules and audit rows apply. The bearer API never reads the cookie.
struct Console: Sendable {
    let api: ServiceAPI
    let sessions: any SessionStore
    let links: any OnboardingLinkStore
    let audit: any AuditStore
    let failedSignIns: FailedSignInCounter
    /// Failed sign-ins and unknown links count against their address as failed bearer tokens do.
    let rateLimits: RateLimits
    let renderer: ConsoleRenderer
    let publicURL: String

    static let sessionCookie = "provisioner_session"
    static let languageCookie = "provisioner_lang"
    static let idleTimeout: Duration = .seconds(8 * 3600)
    static let lifetime: Duration = .seconds(24 * 3600)

    var secureCookies: Bool { publicURL.lowercased().hasPrefix("https://") }

    /// `scheme://host[:port]` of `PROVISIONER_PUBLIC_URL`, as a browser writes `Origin`.
    var publicOrigin: String {
        guard let components = URLComponents(string: publicURL), let scheme = components.scheme, let host = components.host else { return publicURL }
        return "\(scheme.lowercased())://\(host.lowercased())" + (components.port.map { ":\($0)" } ?? "")
    }

    func register(on router: Router<AppRequestContext>) {
        let connect = router.group("connect").add(middleware: ConsoleHeadersMiddleware())
        connect.get(":code") { request, context in try await self.connect(request, context) }
        let console = router.group("console").add(middleware: ConsoleHeadersMiddleware())
        console.get { request, _ in try await self.home(request) }
        console.get("open") { request, _ in
            let slug = request.uri.queryParameters["slug"].map(String.init) ?? ""
            return Self.redirect(RequestValidation.looksLikeSlug(slug) ? "/console/tenants/\(slug)" : "/console")
        }
        console.get("login") { request, _ in self.loginPage(language: self.language(request), error: nil) }
        console.post("login") { request, context in try await self.login(request, context) }
        console.post("logout") { request, context in try await self.logout(request, context) }
        console.get("language") { request, _ in self.switchLanguage(request) }
        console.get("assets/console.css") { request, _ in Self.serve(ConsoleAssets.css, request) }
        console.get("assets/console.js") { request, _ in Self.serve(ConsoleAssets.js, request) }
        console.get("tenants/:slug") { request, context in try await self.tenantPage(request, context) }
        console.get("tenants/:slug/credential-state") { request, context in try await self.credentialState(request, context) }
        console.post("tenants/:slug/credentials") { request, context in try await self.upload(request, context) }
        console.post("tenants/:slug/credentials/:id/verify") { request, context in try await self.verifyAgain(request, context) }
        console.post("tenants/:slug/calendar-settings") { request, context in try await self.saveSettings(request, context) }
        // The support desk's pages (Console+Support.swift).
        console.get("audit") { request, _ in try await self.auditPage(request) }
        console.post("tenants") { request, context in try await self.createTenant(request, context) }
        console.get("tenants/:slug/setup-sheet") { request, context in try await self.setupSheetPage(request, context) }
        console.post("tenants/:slug/uri-sets") { request, context in try await self.issueURISet(request, context) }
        console.post("tenants/:slug/onboarding-links") { request, context in try await self.createLink(request, context) }
        console.post("tenants/:slug/onboarding-links/:id/revoke") { request, context in try await self.revokeLink(request, context) }
        console.post("tenants/:slug/suspension") { request, context in try await self.suspension(request, context) }
    }

    // MARK: - Sessions, language, cookies

    struct Session: Sendable {
        let session: ConsoleSession
        let secret: String
        /// The per-session token every state-changing form carries (derived from the cookie's
        /// secret, which is stored nowhere: a copy of the database gives neither).
        var csrf: String { Console.csrfToken(secret) }
        var token: TokenRecord { session.token }
    }

    static func csrfToken(_ secret: String) -> String {
        ConsoleSecret.base64URL(SHA256.hash(data: Array("provisioner-csrf|\(secret)".utf8)))
    }

    func currentSession(_ request: Request) async throws -> Session? {
        guard let secret = request.cookies[Self.sessionCookie]?.value, ConsoleSecret.looksValid(secret),
              let session = try await sessions.session(hash: ConsoleSecret.hash(secret), idleTimeout: Self.idleTimeout)
        else { return nil }
        return Session(session: session, secret: secret)
    }

    func language(_ request: Request) -> Language {
        if let chosen = request.cookies[Self.languageCookie]?.value, let language = Language(rawValue: chosen) { return language }
        return Language.preferred(byAcceptLanguage: request.headers[.acceptLanguage])
    }

    func sessionCookie(_ secret: String) -> String {
        "\(Self.sessionCookie)=\(secret); Path=/; Max-Age=\(Self.lifetime.components.seconds); HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")
    }

    func clearedSessionCookie() -> String {
        "\(Self.sessionCookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")
    }

    static func redirect(_ location: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.location] = location
        return Response(status: .seeOther, headers: fields)
    }

    func switchLanguage(_ request: Request) -> Response {
        let chosen = request.uri.queryParameters["lang"].flatMap { Language(rawValue: String($0)) } ?? .ja
        var next = request.uri.queryParameters["next"].map(String.init) ?? "/console"
        // Only a path of this console: never an open redirect.
        if !(next == "/console" || next.hasPrefix("/console/")) || next.contains("//") || next.contains("\\") { next = "/console" }
        var headers = HTTPFields()
        headers[.setCookie] = "\(Self.languageCookie)=\(chosen.rawValue); Path=/; Max-Age=31536000; SameSite=Lax" + (secureCookies ? "; Secure" : "")
        return Self.redirect(next, headers: headers)
    }

    static func serve(_ asset: ConsoleAssets.Asset, _ request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: asset.contentType, .eTag: asset.etag, .lastModified: ConsoleAssets.lastModified,
            .cacheControl: "no-cache",
        ]
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingSpaces() == asset.etag || $0.trimmingSpaces() == "*" }) {
            return Response(status: .notModified, headers: headers)
        }
        if request.headers[.ifNoneMatch] == nil, request.headers[.ifModifiedSince] == ConsoleAssets.lastModified {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(asset.bytes.count)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    // MARK: - Onboarding links

    func connect(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let language = language(request)
        let code = context.parameters.get("code") ?? ""
        let notFound = renderer.message(
            status: .notFound, language: language,
            heading: .init(ja: "このリンクは見つかりません", en: "This link is not known"),
            paragraphs: [.init(
                ja: "リンクが正しくコピーされているかご確認ください。解決しない場合は、サポートデスクに新しいリンクを依頼してください。",
                en: "Check that the whole link was copied. If it still does not work, ask the support desk for a new link."
            )]
        )
        if let refusal = rateLimits.authFailureRefusal(address: RequestScope.now.remoteAddress) {
            return tooManyFailedSignIns(language, refusal)
        }
        guard ConsoleSecret.looksValid(code) else {
            rateLimits.recordAuthFailure(address: RequestScope.now.remoteAddress)
            try await failedSignIns.record(sourceAddress: RequestScope.now.remoteAddress, requestID: RequestScope.now.requestID)
            return notFound
        }
        let scope = RequestScope.now
        let entry = AuditEntry(
            actor: .anonymous, action: "onboarding_link.use", requestID: scope.requestID, sourceAddress: scope.remoteAddress
        )
        switch try await links.use(codeHash: ConsoleSecret.hash(code), sessionLifetime: Self.lifetime, audit: entry) {
        case .unknown:
            rateLimits.recordAuthFailure(address: scope.remoteAddress)
            try await failedSignIns.record(sourceAddress: scope.remoteAddress, requestID: scope.requestID)
            return notFound
        case .expired:
            rateLimits.recordAuthFailure(address: scope.remoteAddress)
            return renderer.message(
                status: .gone, language: language,
                heading: .init(ja: "このリンクは有効期限が切れています", en: "This link has expired"),
                paragraphs: [.init(ja: "サポートデスクに新しいリンクを依頼してください。", en: "Please ask the support desk for a new link.")]
            )
        case .revoked:
            rateLimits.recordAuthFailure(address: scope.remoteAddress)
            return renderer.message(
                status: .gone, language: language,
                heading: .init(ja: "このリンクは無効になっています", en: "This link has been revoked"),
                paragraphs: [.init(ja: "サポートデスクに新しいリンクを依頼してください。", en: "Please ask the support desk for a new link.")]
            )
        case .suspended(_, let displayName):
            return renderer.message(
                status: .forbidden, language: language,
                heading: .init(ja: "\(displayName) は一時停止中です", en: "\(displayName) is suspended"),
                paragraphs: [.init(
                    ja: "このテナントは現在一時停止されているため、設定画面は開けません。サポートデスクにお問い合わせください。",
                    en: "This tenant is suspended, so its settings page cannot be opened. Please contact the support desk."
                )]
            )
        case .started(let link, let secret):
            var headers = HTTPFields()
            headers[.setCookie] = sessionCookie(secret)
            return Self.redirect("/console/tenants/\(link.tenantSlug)", headers: headers)
        }
    }

    // MARK: - Sign-in

    func loginPage(language: Language, error: String?, status: HTTPResponse.Status = .ok) -> Response {
        var values: [String: Any] = [:]
        if let error { values["error"] = error }
        return renderer.page(
            "login", values,
            frame: .init(language: language, title: ConsoleTexts.text("loginTitle", language), path: "/console/login", csrf: nil),
            status: status
        )
    }

    func login(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let language = language(request)
        guard !crossSite(request) else { return refusedCrossSite(language, session: nil, action: "console.login", tenantSlug: nil) }
        if let refusal = rateLimits.authFailureRefusal(address: RequestScope.now.remoteAddress) {
            return tooManyFailedSignIns(language, refusal)
        }
        let form = try? ConsoleForm(contentType: request.headers[.contentType], body: try await Self.body(request, limit: 8 * 1024))
        let presented = (form?["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let scope = RequestScope.now
        guard BearerToken.looksValid(presented), let token = try await api.tokens.authenticate(hash: BearerToken.hash(presented)) else {
            rateLimits.recordAuthFailure(address: scope.remoteAddress)
            try await failedSignIns.record(sourceAddress: scope.remoteAddress, requestID: scope.requestID)
            return loginPage(
                language: language, error: language == .ja ? "このトークンではログインできません。" : "This token cannot sign in.", status: .unauthorized
            )
        }
        guard token.isUsable(at: Date()), token.role == .support || token.role == .dashboard else {
            if !token.isUsable(at: Date()) { rateLimits.recordAuthFailure(address: scope.remoteAddress) }
            let reason = token.revokedAt != nil ? "token_revoked" : !token.isUsable(at: Date()) ? "token_expired" : "forbidden"
            try await audit.recordDenial(Caller.audit(token: token, action: "console.login", result: reason))
            return loginPage(
                language: language,
                error: language == .ja
                    ? "support または dashboard の有効なトークンのみログインできます。"
                    : "Only a usable support or dashboard token can sign in here.",
                status: token.isUsable(at: Date()) ? .forbidden : .unauthorized
            )
        }
        let secret = try await sessions.start(
            token: token, lifetime: Self.lifetime, audit: Caller.audit(token: token, action: "console.login", result: "success")
        )
        var headers = HTTPFields()
        headers[.setCookie] = sessionCookie(secret)
        return Self.redirect("/console", headers: headers)
    }

    func logout(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let language = language(request)
        guard let session = try await currentSession(request) else {
            var headers = HTTPFields()
            headers[.setCookie] = clearedSessionCookie()
            return Self.redirect("/console/login", headers: headers)
        }
        let form = try? ConsoleForm(contentType: request.headers[.contentType], body: try await Self.body(request, limit: 8 * 1024))
        if let refusal = await refusal(request, form: form, session: session, action: "console.logout", tenantSlug: session.token.tenantSlug, language: language) {
            return refusal
        }
        _ = try await sessions.end(
            hash: ConsoleSecret.hash(session.secret),
            audit: Caller.audit(token: session.token, action: "console.logout", tenantID: session.token.tenantID, tenantSlug: session.token.tenantSlug, result: "success")
        )
        var headers = HTTPFields()
        headers[.setCookie] = clearedSessionCookie()
        return renderer.message(
            status: .ok, language: language,
            heading: .init(ja: "ログアウトしました", en: "You are signed out"),
            paragraphs: [.init(
                ja: "もう一度開くには、サポートデスクから届いたリンクを使うか、トークンでログインしてください。",
                en: "To come back, open the link from the support desk again, or sign in with a token."
            )],
            link: ("/console/login", .init(ja: "ログイン", en: "Sign in")), headers: headers
        )
    }

    /// A page that goes on to `path` at once: its navigation is same-site, so the session
    /// cookie goes with it (see `tenantPage`). Without the refresh, its link does the same.
    func continuePage(_ language: Language, path: String) -> Response {
        renderer.message(
            status: .ok, language: language,
            heading: .init(ja: "ページを開いています…", en: "Opening the page…"),
            paragraphs: [.init(ja: "自動的に移動しない場合は、下のリンクを押してください。", en: "If nothing happens, follow the link below.")],
            link: (path, .init(ja: "続ける", en: "Continue")), path: path, refresh: path
        )
    }

    func signedOutPage(_ language: Language) -> Response {
        renderer.message(
            status: .unauthorized, language: language,
            heading: .init(ja: "ログインしていないか、セッションが終了しています", en: "You are not signed in, or your session has ended"),
            paragraphs: [.init(
                ja: "お客様の管理者は、サポートデスクから届いたリンクをもう一度開いてください(期限切れの場合は新しいリンクを依頼してください)。",
                en: "Customer admins: open the link from the support desk again (ask for a new one if it has expired)."
            )],
            link: ("/console/login", .init(ja: "サポートデスクのログイン", en: "Support desk sign-in"))
        )
    }

    // MARK: - Checks of every state-changing form

    /// `Sec-Fetch-Site` (or, without it, `Origin`) naming another site.
    func crossSite(_ request: Request) -> Bool {
        if let site = request.headers[.secFetchSite]?.lowercased() {
            return !(site == "same-origin" || site == "none")
        }
        if let origin = request.headers[.origin]?.lowercased() {
            if origin == publicOrigin { return false }
            if let host = request.head.authority?.lowercased(), origin == "http://\(host)" || origin == "https://\(host)" { return false }
            return true
        }
        return false
    }

    /// A 403 page for a form refused before anything happened (another site, or no or a wrong
    /// CSRF token), with its audit row; nil when the form may go on.
    func refusal(_ request: Request, form: ConsoleForm?, session: Session, action: String, tenantSlug: String?, language: Language) async -> Response? {
        let result: String
        if crossSite(request) {
            result = "cross_site_request"
        } else if let presented = form?["csrf_token"], Self.constantTimeEqual(presented, session.csrf) {
            return nil
        } else {
            result = "csrf_token_invalid"
        }
        return await refusedPage(language, session: session, action: action, tenantSlug: tenantSlug, result: result)
    }

    func refusedCrossSite(_ language: Language, session: Session?, action: String, tenantSlug: String?) -> Response {
        forbiddenPage(language)
    }

    func refusedPage(_ language: Language, session: Session, action: String, tenantSlug: String?, result: String) async -> Response {
        do {
            try await audit.recordDenial(Caller.audit(
                token: session.token, action: action, tenantID: session.token.tenantID, tenantSlug: tenantSlug, result: result
            ))
        } catch {
            RequestScope.now.logger.error("could not audit a refused form", metadata: ["action": "\(action)", "error": "\(Problem.safeDescription(of: error))"])
        }
        return forbiddenPage(language)
    }

    func forbiddenPage(_ language: Language) -> Response {
        renderer.message(
            status: .forbidden, language: language,
            heading: .init(ja: "この操作は受け付けられませんでした", en: "This request was refused"),
            paragraphs: [.init(
                ja: "別のサイトから送られたか、フォームの有効期限が切れています。何も変更されていません。ページを開き直してからもう一度お試しください。",
                en: "It came from another site, or the form is out of date. Nothing was changed. Reload the page and try again."
            )]
        )
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    /// The request body, or nil when it passes `limit`.
    static func body(_ request: Request, limit: Int) async throws -> [UInt8] {
        var buffer = try await request.body.collect(upTo: limit)
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}

extension HTTPField.Name {
    static let secFetchSite = Self("Sec-Fetch-Site")!
    static let origin = Self("Origin")!
}

/// The headers of every console page: a Content-Security-Policy that
/// loads only our own style sheet and script (no inline script or style), no framing, no
/// referrer, and no caching of pages (assets keep their validators).
struct ConsoleHeadersMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}
